// What the normalizer's tests share: reading the third-party AWS samples (../shared/testdata) and
// the hand-made fixtures in tests/fixtures/events (see README.md there), and decoding one record.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "consumers/normalizer.h"

namespace fleetkeeper::consumers::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

inline std::string Shared(const std::string& relative) {
  return ReadFile(std::string(FK_SHARED_TESTDATA) + "/" + relative);
}

inline std::string Fixture(const std::string& relative) {
  return ReadFile(std::string(FK_TEST_FIXTURES) + "/events/" + relative);
}

inline NormalizeOptions Options() {
  NormalizeOptions options;
  options.default_account = "999988887777";
  options.default_region = "ap-southeast-2";
  return options;
}

inline Normalized Decode(const std::string& payload, std::vector<RecordHeader> headers = {},
                         const NormalizeOptions& options = Options()) {
  InputRecord record;
  record.payload = payload;
  record.headers = std::move(headers);
  record.topic = "fleet.events";
  record.partition = 3;
  record.offset = 42;
  return Normalize(record, options);
}

}  // namespace fleetkeeper::consumers::testing

// An event with its reason in the failure message, so a wrong disposition says why.
#define EXPECT_EVENT(result) \
  EXPECT_EQ((result).disposition, Disposition::kEvent) << "reason: " << (result).reason
#define EXPECT_SKIPPED(result) \
  EXPECT_EQ((result).disposition, Disposition::kSkipped) << "reason: " << (result).reason
#define EXPECT_UNREADABLE(result) \
  EXPECT_EQ((result).disposition, Disposition::kUnreadable) << "reason: " << (result).reason
