// The result JSON written directly (SerializeResult) against protobuf's JSON mapping (ToJson),
// which it replaces on the record path: same fields, same values, same schema for readers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "consumers/results.h"

namespace fleetkeeper::consumers {
namespace {

v1::Event SampleEvent() {
  v1::Event e;
  e.set_id("evt-1");
  e.set_dedup_key("alarm:HighCPU:2026-11-22T08:00:00Z");
  e.mutable_source()->set_topic("fleet.events");
  e.mutable_source()->set_partition(3);
  e.mutable_source()->set_offset(9007199254740993);  // > 2^53: must stay exact as a string
  return e;
}

void ExpectSameAsProtobufMapping(const v1::Result& r) {
  const std::string direct = SerializeResult(r, ResultFormat::kJson);
  const std::string mapped = ToJson(r);
  ASSERT_TRUE(nlohmann::json::accept(direct)) << direct;
  EXPECT_EQ(nlohmann::json::parse(direct), nlohmann::json::parse(mapped))
      << "direct: " << direct << "\nprotobuf: " << mapped;
}

TEST(ResultJson, MatchesTheProtobufMappingForAPlainResult) {
  v1::Result r = MakeResult(SampleEvent(), v1::Result::SKIPPED, "no rule matches alarm HighCPU", "",
                            1795335222452);
  ExpectSameAsProtobufMapping(r);
  auto j = nlohmann::json::parse(SerializeResult(r, ResultFormat::kJson));
  EXPECT_EQ(j["status"], "SKIPPED");
  EXPECT_EQ(j["source"]["offset"], "9007199254740993");
  EXPECT_EQ(j["source"]["partition"], 3);
  EXPECT_EQ(j["actions"], nlohmann::json::array());
  EXPECT_EQ(j["workflow_id"], "");
}

TEST(ResultJson, MatchesTheProtobufMappingWithActionsAndEscapes) {
  v1::Result r = MakeResult(SampleEvent(), v1::Result::PARTIAL,
                            "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f <b>&",
                            "ami_rollout", 1795335222452, "wf-7");
  for (int i = 0; i < 3; ++i) {
    v1::Action* a = r.add_actions();
    a->set_resource("i-0123456789abcdef" + std::to_string(i));
    a->set_action("relaunch");
    a->set_status(i == 1 ? "FAILED" : "SUCCEEDED");
    a->set_detail("unicode: d\xC3\xA9j\xC3\xA0 vu \xE2\x82\xAC \xF0\x9F\x9A\x80");
    a->set_aws_request_id(i == 1 ? "req-\r\f\b" : "");
  }
  ExpectSameAsProtobufMapping(r);
}

TEST(ResultJson, EveryStatusAndNoSource) {
  for (int s = v1::Result::Status_MIN; s <= v1::Result::Status_MAX; ++s) {
    v1::Result r;
    r.set_id("r-x");
    r.set_status(static_cast<v1::Result::Status>(s));
    ExpectSameAsProtobufMapping(r);
    EXPECT_FALSE(nlohmann::json::parse(SerializeResult(r, ResultFormat::kJson)).contains("source"));
  }
}

// The writer scans plain text a word (8 bytes) at a time: every byte value at every position of
// a string longer than two words, so that each lands in every lane of a word and in the tail.
TEST(ResultJson, EveryByteAtEveryPositionRoundTrips) {
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t pos = 0; pos < 19; ++pos) {
      std::string reason(19, 'x');
      reason[pos] = static_cast<char>(byte);
      v1::Result r;
      r.set_reason(reason);
      const std::string out = SerializeResult(r, ResultFormat::kJson);
      ASSERT_TRUE(nlohmann::json::accept(out)) << "byte " << byte << " at " << pos << ": " << out;
      // A lone byte above 0x7f is not UTF-8: it becomes U+FFFD; every other byte comes back.
      std::string want = reason;
      if (byte >= 0x80) want.replace(pos, 1, "\xEF\xBF\xBD");
      ASSERT_EQ(nlohmann::json::parse(out)["reason"], want) << "byte " << byte << " at " << pos;
    }
  }
}

TEST(ResultJson, InvalidUtf8BecomesReplacementCharacters) {
  v1::Result r;
  // A lone continuation byte, a truncated 3-byte sequence, an overlong '/', a surrogate, and a
  // code point above U+10FFFF: each is replaced, the text around it kept.
  r.set_reason(
      std::string("a\x80"
                  "b\xE2\x82"
                  "c\xC0\xAF"
                  "d\xED\xA0\x80"
                  "e\xF4\x90\x80\x80"
                  "f"));
  const std::string out = SerializeResult(r, ResultFormat::kJson);
  ASSERT_TRUE(nlohmann::json::accept(out)) << out;
  const std::string reason = nlohmann::json::parse(out)["reason"];
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(reason.substr(0, 1), "a");
  EXPECT_EQ(reason.substr(1, 3), fffd);
  EXPECT_EQ(reason.substr(4, 1), "b");
  EXPECT_NE(reason.find('f'), std::string::npos);
  EXPECT_EQ(reason.find('\x80'), std::string::npos) << "raw byte left in the output";
}

TEST(ResultJson, ResultIdIsStableHex) {
  v1::Result a = MakeResult(SampleEvent(), v1::Result::SKIPPED, "x", "", 1);
  v1::Result b = MakeResult(SampleEvent(), v1::Result::SKIPPED, "y", "", 2);
  EXPECT_EQ(a.id(), b.id());  // the reason and the time do not change a final result's id
  ASSERT_EQ(a.id().size(), 34u);
  EXPECT_EQ(a.id().substr(0, 2), "r-");
  EXPECT_EQ(a.id().find_first_not_of("0123456789abcdef", 2), std::string::npos);
  v1::Result c = MakeResult(SampleEvent(), v1::Result::REJECTED, "x", "", 1);
  EXPECT_NE(a.id(), c.id());
  // Ids outlive a version: consumers deduplicate on them. SHA-256("evt-1||SKIPPED"), first 16
  // bytes, computed independently (Python's hashlib).
  ASSERT_EQ(a.correlation_id(), "evt-1");
  ASSERT_EQ(a.workflow_id(), "");
  EXPECT_EQ(a.id(), "r-7fc279c2efb9d85bd5ea92223e01c519");
}

}  // namespace
}  // namespace fleetkeeper::consumers
