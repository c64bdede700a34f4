// ParseJsonText reads texts with simdjson (ParseJsonFast) and falls back to nlohmann for what
// simdjson refuses. The fast path itself must read every JSON file of the third-party testdata and
// the fixtures into the document nlohmann's own parser builds, node types included; what it
// refuses must still parse, and bad input must keep its reasons.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "consumers/normalize_json.h"

namespace fleetkeeper::consumers {
namespace {

constexpr size_t kDepth = 64;

// Same value and, node by node, the same type (nlohmann's == treats 1 and 1u as equal).
void ExpectSameDocument(const Json& got, const Json& want, const std::string& where) {
  ASSERT_EQ(got.type(), want.type()) << where << ": " << got.dump() << " vs " << want.dump();
  if (got.is_object()) {
    ASSERT_EQ(got.size(), want.size()) << where;
    for (auto it = want.begin(); it != want.end(); ++it) {
      ASSERT_TRUE(got.contains(it.key())) << where << "." << it.key();
      ExpectSameDocument(got.at(it.key()), it.value(), where + "." + it.key());
    }
  } else if (got.is_array()) {
    ASSERT_EQ(got.size(), want.size()) << where;
    for (size_t i = 0; i < want.size(); ++i) {
      ExpectSameDocument(got[i], want[i], where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(got, want) << where;
  }
}

// The fast path's document, failing the test when it refused the text.
Json ExpectFast(std::string_view text, const std::string& where) {
  std::optional<Json> parsed = ParseJsonFast(text, kDepth);
  EXPECT_TRUE(parsed.has_value()) << where << ": the fast path refused it";
  return parsed.value_or(Json());
}

Json Expect(std::string_view text, const std::string& where) {
  Result<Json> parsed = ParseJsonText(text, kDepth, "payload");
  EXPECT_TRUE(parsed.ok()) << where << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : Json();
}

std::vector<std::filesystem::path> JsonFiles(const std::string& root) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  return files;
}

TEST(ParseJsonText, BuildsNlohmannsDocumentForEveryTestdataAndFixtureFile) {
  size_t files = 0;
  for (const std::string& root : {std::string(FK_SHARED_TESTDATA), std::string(FK_TEST_FIXTURES)}) {
    for (const auto& path : JsonFiles(root)) {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      const Json want = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (want.is_discarded()) continue;  // not JSON (a deliberately broken fixture)
      ExpectSameDocument(ExpectFast(text.str(), path.string()), want, path.string());
      // An SNS message carries its event as a JSON string: that text is parsed the same way.
      if (want.is_object() && want.contains("Message") && want["Message"].is_string()) {
        const std::string& inner = want["Message"].get_ref<const std::string&>();
        const Json inner_want = Json::parse(inner, nullptr, false);
        if (!inner_want.is_discarded()) {
          ExpectSameDocument(ExpectFast(inner, path.string() + " Message"), inner_want,
                             path.string() + " Message");
        }
      }
      ++files;
    }
  }
  EXPECT_GE(files, 50u) << "the testdata and fixtures were not found";
}

TEST(ParseJsonText, NumbersStringsAndDuplicateKeysAsNlohmannReadsThem) {
  const std::string text =
      R"({"u": 7, "i": -7, "big": 18446744073709551615, "f": 1.5, "e": 1E2, "t": true,)"
      R"( "n": null, "s": "caf\u00e9 \"q\" \ud83d\ude00", "z": "\u0000", "a": [1, -2, [], {}],)"
      R"( "dup": 1, "dup": "last"})";
  ExpectSameDocument(ExpectFast(text, "literal"), Json::parse(text), "literal");
  EXPECT_EQ(ExpectFast(text, "literal")["dup"], "last");
}

TEST(ParseJsonText, WhatOnlyNlohmannReadsStillParses) {
  // Integers beyond 64 bits (as doubles) and a leading byte-order mark: simdjson refuses both.
  for (const std::string& text : {std::string(R"({"n": 18446744073709551616})"),
                                 std::string(R"({"n": -9223372036854775809})"),
                                 std::string("\xEF\xBB\xBF{\"a\": 1}")}) {
    EXPECT_FALSE(ParseJsonFast(text, kDepth).has_value()) << text;
    ExpectSameDocument(Expect(text, text), Json::parse(text), text);
  }
}

TEST(ParseJsonText, RefusalsKeepTheirReasons) {
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"{\"a\": \"\xC3\x28\"}", "payload: not valid UTF-8 at byte 7"},
      {std::string(kDepth + 1, '[') + std::string(kDepth + 1, ']'),
       "payload: JSON nested deeper than 64 levels at byte 64"},
      {"{\"a\": 1,}", "payload: invalid JSON at byte 9"},
      {"{\"a\": \"\\ud800\"}", "payload: invalid JSON at byte"},
      {"{\"a\": \"x\x01\"}", "payload: invalid JSON at byte"},
      {"{} {}", "payload: invalid JSON at byte"},
      {"  \n", "payload: empty, expected a JSON document"},
      // Deeper than allowed after the parser has grown past its first buffers.
      {std::string(kDepth + 1, '[') + "\"" + std::string(20000, 'x') + "\"" +
           std::string(kDepth + 1, ']'),
       "payload: JSON nested deeper than 64 levels at byte 64"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(ParseJsonFast(c.text, kDepth).has_value()) << c.text;
    Result<Json> parsed = ParseJsonText(c.text, kDepth, "payload");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().message.rfind(c.reason, 0), 0u)
        << c.text << " -> " << parsed.error().message;
  }
  // Exactly max_depth levels is still fine.
  const std::string deepest = std::string(kDepth, '[') + std::string(kDepth, ']');
  ExpectSameDocument(ExpectFast(deepest, "deepest"), Json::parse(deepest), "deepest");
}

TEST(ParseJsonText, LargeTextsParseAsSmallOnes) {
  // Past the fast path's size bound the other path reads it: the same document either way.
  std::string text = "{\"items\": [";
  for (int i = 0; i < 40000; ++i) text += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  text += "]}";
  ASSERT_GT(text.size(), 256u * 1024);
  EXPECT_FALSE(ParseJsonFast(text, kDepth).has_value());
  ExpectSameDocument(Expect(text, "large"), Json::parse(text), "large");
}

}  // namespace
}  // namespace fleetkeeper::consumers
