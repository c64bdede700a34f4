#pragma once

// What every harness shares: invariant checks beyond "does not crash", quiet logs, and the files a
// harness reads once at start.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

// A violated invariant aborts, which libFuzzer reports as a crash with the input that caused it.
#define FK_FUZZ_CHECK(condition, what)                                                          \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

namespace fleetkeeper::fuzz {

// The code under test logs what it refuses (and protobuf logs invalid UTF-8 in a string field):
// at millions of inputs that is noise that slows the run and buries libFuzzer's own report.
inline void QuietLogs() {
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler(nullptr);
}

// A refused input gets an error that names what was wrong (STYLE.md, "Errors"): never an empty one.
template <typename R>
void ExpectNamedError(const R& result) {
  if (!result.ok()) FK_FUZZ_CHECK(!result.error().message.empty(), "an error without a message");
}

// Relative to the repo root, where scripts/fuzz.sh runs the harnesses; FK_FUZZ_ROOT overrides.
inline std::string ReadRepoFile(const std::string& relative) {
  const char* root = std::getenv("FK_FUZZ_ROOT");
  const std::string path = (root != nullptr ? std::string(root) + "/" : std::string()) + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr,
                 "fuzz harness: cannot read %s (run from the repo root or set "
                 "FK_FUZZ_ROOT)\n",
                 path.c_str());
    std::exit(2);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace fleetkeeper::fuzz

// Every harness quiets the logs before its first input.
#define FK_FUZZ_QUIET_INIT                             \
  extern "C" int LLVMFuzzerInitialize(int*, char***) { \
    fleetkeeper::fuzz::QuietLogs();                    \
    return 0;                                          \
  }
