// ParseJsonDocument reads texts with simdjson and asks nlohmann why when simdjson refuses one;
// the decoders read the document in place through JsonValue, which must read every JSON file of
// the third-party testdata and the fixtures as nlohmann's own parser does (ParseJsonText converts
// the same document into nlohmann's, node types included). What only nlohmann reads must still
// parse, and bad input must keep its reasons.
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
      ExpectSameDocument(Expect(text.str(), path.string()), want, path.string());
      // An SNS message carries its event as a JSON string: that text is parsed the same way.
      if (want.is_object() && want.contains("Message") && want["Message"].is_string()) {
        const std::string& inner = want["Message"].get_ref<const std::string&>();
        const Json inner_want = Json::parse(inner, nullptr, false);
        if (!inner_want.is_discarded()) {
          ExpectSameDocument(Expect(inner, path.string() + " Message"), inner_want,
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
  ExpectSameDocument(Expect(text, "literal"), Json::parse(text), "literal");
  EXPECT_EQ(Expect(text, "literal")["dup"], "last");
}

TEST(ParseJsonText, WhatOnlyNlohmannReadsStillParses) {
  // Integers beyond 64 bits (as doubles) and a leading byte-order mark: simdjson refuses both.
  for (const std::string& text :
       {std::string(R"({"n": 18446744073709551616})"),
        std::string(R"({"n": -9223372036854775809})"), std::string("\xEF\xBB\xBF{\"a\": 1}")}) {
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
    Result<Json> parsed = ParseJsonText(c.text, kDepth, "payload");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().message.rfind(c.reason, 0), 0u)
        << c.text << " -> " << parsed.error().message;
    Result<JsonDocument> document = ParseJsonDocument(c.text, kDepth, "payload");
    ASSERT_FALSE(document.ok()) << c.text;
    EXPECT_EQ(document.error().message, parsed.error().message);
  }
  // Exactly max_depth levels is still fine.
  const std::string deepest = std::string(kDepth, '[') + std::string(kDepth, ']');
  ExpectSameDocument(Expect(deepest, "deepest"), Json::parse(deepest), "deepest");
}

TEST(ParseJsonText, LargeTextsParseAsSmallOnes) {
  // Past the fast path's size bound the other path reads it: the same document either way.
  std::string text = "{\"items\": [";
  for (int i = 0; i < 40000; ++i) text += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  text += "]}";
  ASSERT_GT(text.size(), 256u * 1024);
  ExpectSameDocument(Expect(text, "large"), Json::parse(text), "large");
}

// JsonValue answers as nlohmann answers for the same text: the decoders' reasons ("expected
// string, got number") and their integer checks depend on it.
TEST(JsonValue, ReadsAsNlohmannReadsTheSameText) {
  const std::string text =
      R"({"u": 7, "i": -7, "big": 18446744073709551615, "f": 1.5, "t": true, "n": null,)"
      R"( "s": "caf\u00e9", "a": [1, "x", {}], "o": {"k": "v"}, "dup": 1, "dup": "last"})";
  Result<JsonDocument> document = ParseJsonDocument(text, kDepth, "payload");
  ASSERT_TRUE(document.ok()) << document.error().message;
  const JsonValue root = document->root();
  const Json want = Json::parse(text);
  for (const auto& [key, value] : want.items()) {
    const std::optional<JsonValue> got = root.find(key);
    ASSERT_TRUE(got.has_value()) << key;
    EXPECT_STREQ(got->type_name(), value.type_name()) << key;
    EXPECT_EQ(got->is_number_unsigned(), value.is_number_unsigned()) << key;
    EXPECT_EQ(got->is_number_integer(), value.is_number_integer()) << key;
    EXPECT_EQ(got->is_number(), value.is_number()) << key;
    EXPECT_EQ(got->is_null(), value.is_null()) << key;
    EXPECT_EQ(Json::parse(got->dump()), value) << key;
  }
  EXPECT_EQ(root.find("dup")->get<std::string>(), "last");
  EXPECT_EQ(root.find("u")->get<uint64_t>(), 7u);
  EXPECT_EQ(root.find("i")->get<int64_t>(), -7);
  EXPECT_EQ(root.find("big")->get<uint64_t>(), 18446744073709551615u);
  EXPECT_DOUBLE_EQ(root.find("f")->get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(root.find("u")->get<double>(), 7.0);
  EXPECT_TRUE(root.find("t")->get<bool>());
  EXPECT_EQ(root.find("s")->string_view(), "caf\xC3\xA9");
  EXPECT_EQ(root.find("u")->string_view(), "");
  EXPECT_EQ(root.find("missing"), std::nullopt);
  EXPECT_EQ(root.find("o")->find("k")->get<std::string>(), "v");
  EXPECT_EQ(root.find("s")->find("k"), std::nullopt);  // not an object
  EXPECT_EQ(root.find("a")->size(), 3u);
  EXPECT_EQ(root.size(), 11u);  // as written: both "dup" members count
  std::vector<std::string> items;
  root.find("a")->for_each_item(
      [&](size_t i, JsonValue item) { items.push_back(std::to_string(i) + item.type_name()); });
  EXPECT_EQ(items, (std::vector<std::string>{"0number", "1string", "2object"}));
  std::vector<std::string> keys;
  root.for_each_member([&](std::string_view key, JsonValue) { keys.emplace_back(key); });
  EXPECT_EQ(keys.front(), "u");
  EXPECT_EQ(keys.back(), "dup");
  EXPECT_EQ(keys.size(), 11u);
}

// Documents on one thread share a small pool of parsers: two alive at once (an SNS payload and
// its Message) must not see each other's values, and a parser reused after a larger text must
// read a smaller one correctly.
TEST(JsonDocument, DocumentsAliveTogetherKeepTheirOwnValues) {
  std::string large = R"({"items": [)";
  for (int i = 0; i < 5000; ++i) large += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  large += "]}";
  {
    Result<JsonDocument> first = ParseJsonDocument(large, kDepth, "payload");
    ASSERT_TRUE(first.ok());
  }
  Result<JsonDocument> outer = ParseJsonDocument(R"({"Message": "{\"a\": 1}"})", kDepth, "payload");
  ASSERT_TRUE(outer.ok());
  const std::string inner_text = outer->root().find("Message")->get<std::string>();
  Result<JsonDocument> inner = ParseJsonDocument(inner_text, kDepth, "Message");
  ASSERT_TRUE(inner.ok());
  Result<JsonDocument> third = ParseJsonDocument(R"({"b": [true]})", kDepth, "payload");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(outer->root().find("Message")->get<std::string>(), R"({"a": 1})");
  EXPECT_EQ(inner->root().find("a")->get<uint64_t>(), 1u);
  EXPECT_EQ(third->root().find("b")->size(), 1u);
  // Moved documents keep their values.
  JsonDocument moved = std::move(*inner);
  EXPECT_EQ(moved.root().find("a")->get<uint64_t>(), 1u);
}

// Past the reused parsers' size bound a text gets a parser of its own: same values either way.
TEST(JsonDocument, LargeTextsReadAsSmallOnes) {
  std::string text = "{\"items\": [";
  for (int i = 0; i < 40000; ++i) text += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  text += "], \"last\": true}";
  ASSERT_GT(text.size(), 256u * 1024);
  Result<JsonDocument> document = ParseJsonDocument(text, kDepth, "payload");
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->root().find("items")->size(), 40000u);
  EXPECT_TRUE(document->root().find("last")->get<bool>());
}

}  // namespace
}  // namespace fleetkeeper::consumers
