// Bad input never crashes the normalizer: every malformed record is kUnreadable with a reason that
// names what was wrong (DESIGN.md "Inputs the normalizer accepts", Outcomes).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "consumers/normalizer.h"

namespace fleetkeeper::consumers {
namespace {

using Json = nlohmann::json;

std::string Fixture(const std::string& relative) {
  std::ifstream in(std::string(FK_TEST_FIXTURES) + "/events/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

Normalized NormalizePayload(const std::string& payload, const NormalizeOptions& options = {}) {
  InputRecord record;
  record.payload = payload;
  record.topic = "fleet.events";
  record.partition = 1;
  record.offset = 7;
  return Normalize(record, options);
}

// A valid Parameter Store Change envelope to break one field at a time.
Json ValidEnvelope() {
  return Json::parse(R"({
    "version": "0", "id": "6a7e4feb-b491-4cf7-a9f1-bf3703497718",
    "detail-type": "Parameter Store Change", "source": "aws.ssm", "account": "111122223333",
    "time": "2024-05-14T10:00:00Z", "region": "eu-west-1",
    "resources": ["arn:aws:ssm:eu-west-1:111122223333:parameter/ami/linux/test"],
    "detail": {"operation": "Update", "name": "/ami/linux/test", "type": "String"}})");
}

#define EXPECT_UNREADABLE_BECAUSE(result, expected_reason)            \
  do {                                                                \
    const Normalized& r_ = (result);                                  \
    EXPECT_EQ(r_.disposition, Disposition::kUnreadable) << r_.reason; \
    EXPECT_EQ(r_.reason, expected_reason);                            \
    EXPECT_EQ(r_.event.source().offset(), 7);                         \
    EXPECT_EQ(r_.event.body_case(), v1::Event::BODY_NOT_SET);         \
  } while (0)

TEST(BadInput, ValidEnvelopeIsAnEvent) {
  // The baseline every other case here breaks.
  const Normalized n = NormalizePayload(ValidEnvelope().dump());
  EXPECT_EQ(n.disposition, Disposition::kEvent) << n.reason;
}

TEST(BadInput, EmptyAndBlankPayloads) {
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(""), "payload: empty");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(" \n\t "), "payload: empty, expected a JSON document");
}

TEST(BadInput, BinaryGarbageAndInvalidUtf8) {
  const std::string garbage("\x00\x9f\x92\x96\xff\x01", 6);
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(garbage), "payload: not valid UTF-8 at byte 1");
  // Overlong encoding of '/', and a lone surrogate, inside otherwise valid JSON strings.
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("{\"id\": \"a\xc0\xaf\"}"),
                            "payload: not valid UTF-8 at byte 9");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("{\"id\": \"\xed\xa0\x80\"}"),
                            "payload: not valid UTF-8 at byte 8");
  // ASCII that is not JSON.
  const Normalized n = NormalizePayload("hello world");
  EXPECT_EQ(n.disposition, Disposition::kUnreadable);
  EXPECT_EQ(n.reason.rfind("payload: invalid JSON at byte 1", 0), 0u) << n.reason;
}

TEST(BadInput, ValidUtf8IsAccepted) {
  Json envelope = ValidEnvelope();
  envelope["detail"]["description"] = "AMI für Zürich — 日本 🚀";
  const Normalized n = NormalizePayload(envelope.dump());
  EXPECT_EQ(n.disposition, Disposition::kEvent) << n.reason;
  EXPECT_EQ(n.event.parameter_change().description(), "AMI für Zürich — 日本 🚀");
}

TEST(BadInput, EveryTruncationIsUnreadable) {
  const std::string whole = Fixture("eventbridge/cloudwatch-alarm-metric-math.json");
  const size_t last_brace = whole.rfind('}');
  for (size_t cut = 0; cut < last_brace; cut += 13) {
    const Normalized n = NormalizePayload(whole.substr(0, cut));
    EXPECT_EQ(n.disposition, Disposition::kUnreadable) << "cut at " << cut;
    EXPECT_FALSE(n.reason.empty()) << "cut at " << cut;
  }
}

TEST(BadInput, TopLevelMustBeAnObject) {
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("[1, 2]"),
                            "payload: expected a JSON object at the top level, got array");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("42"),
                            "payload: expected a JSON object at the top level, got number");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("\"text\""),
                            "payload: expected a JSON object at the top level, got string");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload("null"),
                            "payload: expected a JSON object at the top level, got null");
  const Normalized n = NormalizePayload("{\"hello\": 1}");
  EXPECT_EQ(n.disposition, Disposition::kUnreadable);
  EXPECT_EQ(n.reason.rfind("payload: not a recognised document", 0), 0u) << n.reason;
}

TEST(BadInput, MissingEnvelopeFieldsAreNamed) {
  for (const std::string field :
       {"id", "detail-type", "source", "account", "region", "time", "detail"}) {
    Json envelope = ValidEnvelope();
    envelope.erase(field);
    EXPECT_UNREADABLE_BECAUSE(NormalizePayload(envelope.dump()), field + ": missing");
  }
  Json envelope = ValidEnvelope();
  envelope["account"] = "";
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(envelope.dump()), "account: empty");
}

TEST(BadInput, WrongTypesAreNamed) {
  struct Case {
    Json::json_pointer pointer;
    Json value;
    std::string reason;
  };
  const Case cases[] = {
      {Json::json_pointer("/detail/name"), 5, "detail.name: expected string, got number"},
      {Json::json_pointer("/detail/operation"), Json::array(),
       "detail.operation: expected string, got array"},
      {Json::json_pointer("/id"), 12345, "id: expected string, got number"},
      {Json::json_pointer("/source"), true, "source: expected string, got boolean"},
      {Json::json_pointer("/detail"), Json::array({1}), "detail: expected object, got array"},
      {Json::json_pointer("/resources"), "arn:aws:ssm:x", "resources: expected array, got string"},
      {Json::json_pointer("/resources/0"), 1, "resources[0]: expected string, got number"},
      {Json::json_pointer("/version"), 0, "version: expected string, got number"},
      {Json::json_pointer("/detail/type"), 1, "detail.type: expected string, got number"},
  };
  for (const Case& c : cases) {
    Json envelope = ValidEnvelope();
    envelope[c.pointer] = c.value;
    EXPECT_UNREADABLE_BECAUSE(NormalizePayload(envelope.dump()), c.reason);
  }
}

TEST(BadInput, TimeMustBeRfc3339) {
  Json envelope = ValidEnvelope();
  envelope["time"] = "last Tuesday";
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(envelope.dump()),
                            "time: expected an RFC 3339 timestamp, got \"last Tuesday\"");
}

TEST(BadInput, WrongTypesInAlarmsAreNamed) {
  Json alarm = Json::parse(Fixture("eventbridge/cloudwatch-alarm-metric-math.json"));
  alarm["detail"]["state"]["value"] = 1;
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(alarm.dump()),
                            "detail.state.value: expected string, got number");

  alarm = Json::parse(Fixture("eventbridge/cloudwatch-alarm-metric-math.json"));
  alarm["detail"]["configuration"]["metrics"][1]["metricStat"] = "m1";
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(alarm.dump()),
                            "detail.configuration.metrics[1].metricStat: expected object, got "
                            "string");

  Json sns = Json::parse(Fixture("sns/http-alarm-single-metric.json"));
  Json message = Json::parse(sns["Message"].get<std::string>());
  message["Trigger"]["Dimensions"][0]["Value"] = 42;
  sns["Message"] = message.dump();
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(sns.dump()),
                            "Message.Trigger.Dimensions[0].Value: expected string, got number");

  message = Json::parse(
      Json::parse(Fixture("sns/http-alarm-single-metric.json"))["Message"].get<std::string>());
  message["AlarmArn"] = "not-an-arn";
  sns["Message"] = message.dump();
  EXPECT_UNREADABLE_BECAUSE(
      NormalizePayload(sns.dump()),
      "Message.AlarmArn: expected arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>, "
      "got \"not-an-arn\"");
}

TEST(BadInput, SnsProblemsAreNamed) {
  Json sns = Json::parse(Fixture("sns/http-alarm-single-metric.json"));
  sns["Message"] = "Hello from SNS!";
  Normalized n = NormalizePayload(sns.dump());
  EXPECT_EQ(n.disposition, Disposition::kUnreadable);
  EXPECT_EQ(n.reason.rfind("Message: invalid JSON at byte 1: syntax error", 0), 0u) << n.reason;
  EXPECT_EQ(n.event.id(), "5f1c2b3a-4d5e-5f6a-8b9c-0d1e2f3a4b01");

  sns["Type"] = "Telegram";
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(sns.dump()),
                            "Type: unknown SNS message type \"Telegram\"");

  sns = Json::parse(Fixture("sns/http-alarm-single-metric.json"));
  sns.erase("TopicArn");
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(sns.dump()), "TopicArn: missing");

  Json lambda = Json::parse(Fixture("sns/lambda-alarm-metric-math.json"));
  lambda["Records"] = Json::array();
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(lambda.dump()),
                            "Records: expected exactly 1 SNS record, got 0");
  lambda["Records"] = "none";
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(lambda.dump()), "Records: expected array, got string");

  // A well-formed message that is neither an alarm nor an EventBridge event is noise.
  sns = Json::parse(Fixture("sns/http-alarm-single-metric.json"));
  sns["Message"] = R"({"Event": "autoscaling:TEST_NOTIFICATION"})";
  n = NormalizePayload(sns.dump());
  EXPECT_EQ(n.disposition, Disposition::kSkipped) << n.reason;
  EXPECT_EQ(n.reason.rfind("unsupported SNS message on topic arn:aws:sns:us-east-1:", 0), 0u);

  // An EventBridge envelope inside SNS is checked like a bare one, with its path.
  sns = Json::parse(Fixture("sns/http-eventbridge-parameter-change.json"));
  Json inner = Json::parse(sns["Message"].get<std::string>());
  inner["detail"]["name"] = 5;
  sns["Message"] = inner.dump();
  n = NormalizePayload(sns.dump());
  EXPECT_UNREADABLE_BECAUSE(n, "Message.detail.name: expected string, got number");
  EXPECT_EQ(n.event.id(), "0b9c5f1e-8a7d-5e6f-9a0b-1c2d3e4f5a01");
}

TEST(BadInput, NestingBeyondTheLimitIsRefusedWithoutRecursion) {
  // A million levels would overflow the stack of a recursive parser.
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(std::string(1'000'000, '[')),
                            "payload: JSON nested deeper than 64 levels at byte 64");

  Json envelope = ValidEnvelope();
  std::string deep = envelope.dump();
  const std::string nested = std::string(70, '[') + std::string(70, ']');
  deep.insert(deep.rfind('}'), ",\"extra\":" + nested);
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(deep),
                            "payload: JSON nested deeper than 64 levels at byte " +
                                std::to_string(deep.find('[', deep.find("extra")) + 63));

  // The limit is the option's, exactly: the envelope's object plus 70 arrays is 71 levels.
  NormalizeOptions options;
  options.max_json_depth = 71;
  EXPECT_EQ(NormalizePayload(deep, options).disposition, Disposition::kEvent);
  options.max_json_depth = 70;
  EXPECT_EQ(NormalizePayload(deep, options).disposition, Disposition::kUnreadable);

  // Brackets inside strings are text, not nesting.
  envelope["detail"]["description"] = std::string(10'000, '[');
  EXPECT_EQ(NormalizePayload(envelope.dump()).disposition, Disposition::kEvent);
}

TEST(BadInput, DeepNestingInsideAnSnsMessageIsRefused) {
  Json sns = Json::parse(Fixture("sns/http-eventbridge-parameter-change.json"));
  sns["Message"] = std::string(100'000, '{');
  EXPECT_UNREADABLE_BECAUSE(NormalizePayload(sns.dump()),
                            "Message: JSON nested deeper than 64 levels at byte 64");
}

TEST(BadInput, MegabytePayloadsAreHandledQuickly) {
  const auto started = std::chrono::steady_clock::now();

  Json envelope = ValidEnvelope();
  envelope["detail"]["description"] = std::string(1'500'000, 'x');
  Normalized n = NormalizePayload(envelope.dump());
  EXPECT_EQ(n.disposition, Disposition::kEvent) << n.reason;
  EXPECT_EQ(n.event.parameter_change().description().size(), 1'500'000u);

  envelope["detail"]["name"] = std::string(1'200'000, 'n');
  envelope["time"] = std::string(1'200'000, '9');
  n = NormalizePayload(envelope.dump());
  EXPECT_EQ(n.disposition, Disposition::kUnreadable);
  EXPECT_LT(n.reason.size(), 200u) << "a reason quotes a bounded excerpt of a huge field";

  std::string garbage(2'000'000, '\0');
  std::mt19937 random(7);
  for (char& c : garbage) c = static_cast<char>(random());
  EXPECT_EQ(NormalizePayload(garbage).disposition, Disposition::kUnreadable);

  Json array = Json::array();
  for (int i = 0; i < 200'000; ++i) array.push_back("arn:aws:ssm:eu-west-1:1:parameter/x");
  envelope = ValidEnvelope();
  envelope["resources"] = array;
  EXPECT_EQ(NormalizePayload(envelope.dump()).disposition, Disposition::kEvent);

  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds(10));  // generous for a loaded CI machine
}

TEST(BadInput, RandomMutationsOfEveryFormNeverEscape) {
  const std::string fixtures[] = {
      "eventbridge/cloudwatch-alarm-composite.json",  "sns/lambda-alarm-metric-math.json",
      "sns/http-eventbridge-parameter-change.json",   "native/patch-request-wrapped.json",
      "eventbridge/ssm-cloudtrail-putparameter.json",
  };
  std::mt19937 random(20240514);
  for (const std::string& file : fixtures) {
    const std::string original = Fixture(file);
    for (int round = 0; round < 300; ++round) {
      std::string mutated = original;
      const int flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < flips; ++i) {
        mutated[random() % mutated.size()] = static_cast<char>(random() % 128);
      }
      const Normalized n = NormalizePayload(mutated);
      if (n.disposition == Disposition::kEvent) {
        EXPECT_TRUE(n.reason.empty());
        EXPECT_FALSE(n.event.id().empty()) << file;
        EXPECT_NE(n.event.body_case(), v1::Event::BODY_NOT_SET) << file;
      } else {
        EXPECT_FALSE(n.reason.empty()) << file << ": " << mutated;
      }
    }
  }
}

}  // namespace
}  // namespace fleetkeeper::consumers
