#include "app/yaml_to_proto.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::app {
namespace {

using google::protobuf::util::MessageDifferencer;

struct Converted {
  v1::WorkerConfig config;
  std::vector<ConfigError> errors;
};

Converted Convert(const std::string& yaml) {
  Converted out;
  YamlToMessage(YAML::Load(yaml), out.config, "", out.errors);
  return out;
}

// The single error of a conversion; fails the test when there is not exactly one.
ConfigError OnlyError(const std::string& yaml) {
  Converted c = Convert(yaml);
  EXPECT_EQ(c.errors.size(), 1u) << yaml;
  if (c.errors.empty()) return {};
  return c.errors.front();
}

TEST(YamlToProtoTest, ScalarsListsAndNestedMessages) {
  Converted c = Convert(R"(
topics: {inputs: [a.in, b.in], work: w, create: false, partitions: 3, max_message_bytes: 8388608}
dry_run: true
)");
  ASSERT_TRUE(c.errors.empty()) << c.errors.front().ToString();
  EXPECT_EQ(c.config.topics().inputs_size(), 2);
  EXPECT_EQ(c.config.topics().inputs(1), "b.in");
  EXPECT_EQ(c.config.topics().work(), "w");
  EXPECT_TRUE(c.config.topics().has_create());
  EXPECT_FALSE(c.config.topics().create());
  EXPECT_EQ(c.config.topics().partitions(), 3);
  EXPECT_EQ(c.config.topics().max_message_bytes(), 8388608);
  EXPECT_TRUE(c.config.dry_run());
}

TEST(YamlToProtoTest, JsonNameAndProtoNameBothMatch) {
  Converted c = Convert(R"(
handlers:
  ami_rollout:
    refresh_defaults:
      {MinHealthyPercentage: 0, instance_warmup: 300, CheckpointPercentages: [50, 100]}
)");
  ASSERT_TRUE(c.errors.empty()) << c.errors.front().ToString();
  const auto& r = c.config.handlers().ami_rollout().refresh_defaults();
  EXPECT_TRUE(r.has_min_healthy_percentage());  // zero, but set: proto3 optional keeps presence
  EXPECT_EQ(r.min_healthy_percentage(), 0);
  EXPECT_EQ(r.instance_warmup(), 300);
  ASSERT_EQ(r.checkpoint_percentages_size(), 2);
  EXPECT_EQ(r.checkpoint_percentages(0), 50);
}

TEST(YamlToProtoTest, BothSpellingsOfOneFieldAreADuplicate) {
  ConfigError e = OnlyError(
      "handlers: {ami_rollout: {refresh_defaults: {MinHealthyPercentage: 1, "
      "min_healthy_percentage: 2}}}");
  EXPECT_EQ(e.path, "handlers.ami_rollout.refresh_defaults.min_healthy_percentage");
  EXPECT_NE(e.message.find("duplicate"), std::string::npos) << e.message;
}

TEST(YamlToProtoTest, UnknownKeySuggestsTheNearestKey) {
  ConfigError e = OnlyError("topics:\n  partitons: 3\n");
  EXPECT_EQ(e.path, "topics.partitons");
  EXPECT_EQ(e.message, "unknown key; did you mean \"partitions\"?");
  EXPECT_EQ(e.line, 2);
}

TEST(YamlToProtoTest, UnknownKeySuggestsJsonNameAcrossCaseAndSeparators) {
  ConfigError e =
      OnlyError("handlers: {ami_rollout: {refresh_defaults: {min-healthy-percent: 90}}}");
  EXPECT_EQ(e.path, "handlers.ami_rollout.refresh_defaults.min-healthy-percent");
  EXPECT_NE(e.message.find("did you mean \"min_healthy_percentage\""), std::string::npos)
      << e.message;
}

TEST(YamlToProtoTest, FarUnknownKeyListsValidKeys) {
  ConfigError e = OnlyError("log: {colour: red}");
  EXPECT_EQ(e.path, "log.colour");
  EXPECT_EQ(e.message, "unknown key; valid keys here: format, level");
}

TEST(YamlToProtoTest, TypeErrorsNameThePathAndExpectedType) {
  EXPECT_EQ(OnlyError("topics: {partitions: many}").ToString(),
            "topics.partitions: expected integer (int32), got \"many\" (line 1)");
  EXPECT_EQ(OnlyError("topics: {partitions: 3000000000}").message,
            "expected integer (int32), 3000000000 is out of range (-2147483648..2147483647)");
  EXPECT_EQ(OnlyError("topics: {partitions: \"12\"}").message,
            "expected integer (int32), got the quoted string \"12\"");
  EXPECT_EQ(OnlyError("dry_run: yes").message, "expected true or false, got \"yes\"");
  EXPECT_EQ(OnlyError("dry_run: \"true\"").message,
            "expected true or false, got the quoted string \"true\"");
  EXPECT_EQ(OnlyError("topics: fleet").message, "expected a mapping, got a scalar");
  EXPECT_EQ(OnlyError("log: {format: [a]}").message, "expected string, got a list");
}

TEST(YamlToProtoTest, RepeatedRequiresASequence) {
  ConfigError e = OnlyError("topics: {inputs: fleet.events}");
  EXPECT_EQ(e.path, "topics.inputs");
  EXPECT_NE(e.message.find("expected a list of string, got a scalar"), std::string::npos);

  e = OnlyError("handlers: {ami_rollout: {refresh_defaults: {CheckpointPercentages: [50, x]}}}");
  EXPECT_EQ(e.path, "handlers.ami_rollout.refresh_defaults.CheckpointPercentages[1]");
}

TEST(YamlToProtoTest, NullMeansUnset) {
  Converted c = Convert("topics:\n  partitions:\n  work: ~\n");
  EXPECT_TRUE(c.errors.empty());
  EXPECT_FALSE(c.config.topics().has_partitions());
  EXPECT_TRUE(c.config.topics().work().empty());
}

TEST(YamlToProtoTest, StringMapStringifiesScalarsAndKeepsDottedKeys) {
  Converted c = Convert(R"(
kafka:
  bootstrap.servers: "broker:9092"
  enable.idempotence: true
  session.timeout.ms: 6000
)");
  ASSERT_TRUE(c.errors.empty());
  EXPECT_EQ(c.config.kafka().at("bootstrap.servers"), "broker:9092");
  EXPECT_EQ(c.config.kafka().at("enable.idempotence"), "true");
  EXPECT_EQ(c.config.kafka().at("session.timeout.ms"), "6000");
}

TEST(YamlToProtoTest, StringMapRejectsNestedValuesAndDuplicates) {
  ConfigError e = OnlyError("kafka: {security: {protocol: SSL}}");
  EXPECT_EQ(e.path, "kafka[\"security\"]");
  EXPECT_EQ(e.message, "expected string, got a mapping");

  e = OnlyError("kafka:\n  group.id: a\n  group.id: b\n");
  EXPECT_EQ(e.path, "kafka[\"group.id\"]");
  EXPECT_EQ(e.message, "duplicate key");
}

TEST(YamlToProtoTest, MessageMapRecursesWithQuotedKeyPath) {
  Converted c = Convert(R"(
aws:
  accounts:
    "111122223333": {role_arn: "arn:aws:iam::111122223333:role/fk", externalid: x}
)");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].path, "aws.accounts[\"111122223333\"].externalid");
  EXPECT_NE(c.errors[0].message.find("did you mean \"external_id\""), std::string::npos);
  EXPECT_EQ(c.config.aws().accounts().at("111122223333").role_arn(),
            "arn:aws:iam::111122223333:role/fk");
}

TEST(YamlToProtoTest, DurationsNeedAUnit) {
  Converted c = Convert(R"(
runtime: {batch_max_time: 250ms, dedup_retention: 1h30m}
handlers: {self_healing: {circuit_breaker: {within: 5m}}}
)");
  ASSERT_TRUE(c.errors.empty());
  EXPECT_EQ(c.config.runtime().batch_max_time().seconds(), 0);
  EXPECT_EQ(c.config.runtime().batch_max_time().nanos(), 250'000'000);
  EXPECT_EQ(c.config.runtime().dedup_retention().seconds(), 5400);
  EXPECT_EQ(c.config.handlers().self_healing().circuit_breaker().within().seconds(), 300);

  ConfigError e = OnlyError("handlers: {self_healing: {rules: [{name: a, cooldown: 300}]}}");
  EXPECT_EQ(e.path, "handlers.self_healing.rules[0].cooldown");
  EXPECT_NE(e.message.find("expected a duration with a unit"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("got \"300\""), std::string::npos) << e.message;
}

TEST(YamlToProtoTest, ParseDurationForms) {
  EXPECT_EQ(ParseDuration("90s")->seconds(), 90);
  EXPECT_EQ(ParseDuration("5m")->seconds(), 300);
  EXPECT_EQ(ParseDuration("2h")->seconds(), 7200);
  EXPECT_EQ(ParseDuration("7d")->seconds(), 604800);
  EXPECT_EQ(ParseDuration("1m30s")->seconds(), 90);
  EXPECT_EQ(ParseDuration("1500ms")->seconds(), 1);
  EXPECT_EQ(ParseDuration("1500ms")->nanos(), 500'000'000);
  EXPECT_EQ(ParseDuration("0s")->seconds(), 0);
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("90"));
  EXPECT_FALSE(ParseDuration("-5s"));
  EXPECT_FALSE(ParseDuration("5 m"));
  EXPECT_FALSE(ParseDuration("1.5s"));
  EXPECT_FALSE(ParseDuration("5w"));
  EXPECT_FALSE(ParseDuration("s"));
}

TEST(YamlToProtoTest, FormatDurationIsReadBack) {
  for (const char* text : {"0s", "250ms", "90s", "1h30m", "7d", "1d2h3m4s5ms"}) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d) << text;
    EXPECT_EQ(FormatDuration(*d), text == std::string("90s") ? "1m30s" : text);
  }
}

TEST(YamlToProtoTest, CollectsEveryErrorNotJustTheFirst) {
  Converted c = Convert(R"(
topics: {partitions: x, bogus: 1}
dry_run: maybe
runtime: {io_threads: -}
)");
  ASSERT_EQ(c.errors.size(), 4u);
  EXPECT_EQ(c.errors[0].path, "topics.partitions");
  EXPECT_EQ(c.errors[1].path, "topics.bogus");
  EXPECT_EQ(c.errors[2].path, "dry_run");
  EXPECT_EQ(c.errors[3].path, "runtime.io_threads");
}

TEST(YamlToProtoTest, RepeatedMessagesIndexThePath) {
  ConfigError e = OnlyError(R"(
handlers:
  self_healing:
    rules:
      - {name: a, action: {type: notify}}
      - {name: b, action: {type: scale_out, by: one}}
)");
  EXPECT_EQ(e.path, "handlers.self_healing.rules[1].action.by");
  EXPECT_EQ(e.line, 6);
}

TEST(YamlToProtoTest, MessageToYamlRoundTrips) {
  Converted c = Convert(R"(
kafka: {bootstrap.servers: "b:9092", linger.ms: 5}
topics: {inputs: [x, y], create: false, partitions: 0}
aws: {accounts: {"111122223333": {role_arn: "arn:aws:iam::111122223333:role/r"}}}
handlers:
  ami_rollout:
    refresh_defaults:
      {MinHealthyPercentage: 0, AutoRollback: false, AlarmSpecification: {Alarms: [a]}}
    replacement: {keep_old_for: 0s, step_timeout: 1h30m}
  self_healing: {rules: [{name: r, match: {dimensions: {AutoScalingGroupName: "*"}}}]}
)");
  ASSERT_TRUE(c.errors.empty()) << c.errors.front().ToString();
  YAML::Emitter out;
  out << MessageToYaml(c.config);
  Converted back = Convert(out.c_str());
  ASSERT_TRUE(back.errors.empty()) << back.errors.front().ToString() << "\n" << out.c_str();
  EXPECT_TRUE(MessageDifferencer::Equals(c.config, back.config)) << out.c_str();
  EXPECT_TRUE(back.config.handlers().ami_rollout().replacement().has_keep_old_for());
}

TEST(YamlToProtoTest, NearestKeyIgnoresFarCandidates) {
  EXPECT_EQ(NearestKey("paritions", {"partitions", "work"}), "partitions");
  EXPECT_FALSE(NearestKey("zzz", {"partitions", "work"}));
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace fleetkeeper::app
