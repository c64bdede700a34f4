#include "app/config.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

#include "handlers/ami_rollout/config.h"
#include "handlers/ami_rollout/handler.h"
#include "handlers/self_healing/handler.h"

namespace fleetkeeper::app {
namespace {

using google::protobuf::util::MessageDifferencer;
using handlers::ami_rollout::EffectiveRefreshPreferences;

bool AmiRolloutEnabled(const v1::WorkerConfig& c) {
  return handlers::ami_rollout::Factory().Enabled(c);
}
bool SelfHealingEnabled(const v1::WorkerConfig& c) {
  return handlers::self_healing::Factory().Enabled(c);
}

const std::string kFixtures = std::string(FK_TEST_FIXTURES) + "/config/";
const std::string kExample =
    std::string(FK_TEST_FIXTURES) + "/../../docker/fleetkeeper.example.yaml";

Environment NoEnv() { return Environment::FromMap({}); }

v1::WorkerConfig MustLoad(const std::string& yaml, const Environment& env = NoEnv()) {
  auto loaded = LoadConfigText(yaml, env);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  return loaded.ok() ? loaded->config : v1::WorkerConfig();
}

// "path: message" of every error, for readable failures.
std::string Describe(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

// The message of the error at exactly `path`; fails the test when no error has that path.
std::string ErrorAt(const std::vector<ConfigError>& errors, const std::string& path) {
  for (const auto& e : errors) {
    if (e.path == path) return e.message;
  }
  ADD_FAILURE() << "no error at " << path << "; errors:\n" << Describe(errors);
  return "";
}

// The message of the only error of `yaml` (with `env`), which must be at `path`.
std::string OnlyErrorAt(const std::string& yaml, const std::string& path,
                        const Environment& env = NoEnv()) {
  auto errors = ValidateConfigText(yaml, env);
  EXPECT_EQ(errors.size(), 1u) << Describe(errors);
  return ErrorAt(errors, path);
}

bool HasSubstring(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ConfigTest, EmptyFileGetsEveryDesignDefault) {
  auto loaded = LoadConfigFile(kFixtures + "empty.yaml", NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const v1::WorkerConfig& c = loaded->config;
  EXPECT_EQ(InputTopics(c), (std::vector<std::string>{"fleet.events", "fleet.commands"}));
  EXPECT_EQ(c.topics().inputs_size(), 2);
  EXPECT_EQ(c.topics().work(), "fleet.work");
  EXPECT_EQ(c.topics().results(), "fleet.results");
  EXPECT_EQ(c.topics().dlq(), "fleet.dlq");
  EXPECT_EQ(c.topics().state(), "fleet.state");
  EXPECT_EQ(c.topics().control(), "fleet.control");
  EXPECT_TRUE(c.topics().create());
  EXPECT_EQ(c.topics().partitions(), 12);
  EXPECT_EQ(c.topics().max_message_bytes(), 4194304);
  EXPECT_EQ(c.topics().replication_factor(), -1);
  EXPECT_EQ(c.runtime().io_threads(), 32);
  EXPECT_EQ(c.runtime().batch_max_records(), 30000);
  EXPECT_EQ(DurationMs(c.runtime().batch_max_time()), 300);
  EXPECT_EQ(c.runtime().max_pending_per_partition(), 1000);
  EXPECT_EQ(DurationMs(c.runtime().dedup_retention()), 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(c.runtime().results_format(), "json");
  EXPECT_EQ(c.kafka().at("group.id"), "fleetkeeper");
  EXPECT_EQ(c.kafka().count("bootstrap.servers"), 0u);
  EXPECT_EQ(c.kafka_transactions(), "auto");
  EXPECT_FALSE(c.dry_run());
  EXPECT_EQ(c.log().format(), "text");
  EXPECT_EQ(c.log().level(), "info");
  EXPECT_EQ(c.commands().max_targets(), 500);
  const auto& ami = c.handlers().ami_rollout();
  EXPECT_TRUE(ami.enabled());
  EXPECT_FALSE(ami.pin_before_refresh());
  EXPECT_EQ(ami.refresh_in_progress(), "wait");
  EXPECT_EQ(ami.replacement().strategy(), "relaunch");
  EXPECT_EQ(ami.replacement().max_concurrency(), 2);
  EXPECT_EQ(ami.replacement().max_unavailable(), 1);
  EXPECT_EQ(DurationMs(ami.replacement().keep_old_for()), 0);
  EXPECT_TRUE(ami.replacement().has_attach_live());
  EXPECT_FALSE(ami.replacement().attach_live());
  EXPECT_EQ(DurationMs(ami.replacement().step_timeout()), 15 * 60 * 1000);
  EXPECT_FALSE(ami.refresh_defaults().has_min_healthy_percentage());  // AWS's default applies
  const auto& heal = c.handlers().self_healing();
  EXPECT_TRUE(heal.enabled());
  EXPECT_FALSE(heal.exempt_from_freeze());
  EXPECT_EQ(heal.circuit_breaker().max_actions(), 20);
  EXPECT_EQ(DurationMs(heal.circuit_breaker().within()), 600 * 1000);
  EXPECT_EQ(heal.metrics().namespace_(), "FleetKeeper/SelfHealing");
  EXPECT_EQ(heal.rules_size(), 0);
  // The embedded broker is worth a word at start.
  ASSERT_FALSE(loaded->warnings.empty());
  EXPECT_TRUE(HasSubstring(loaded->warnings[0], "embedded"));
}

TEST(ConfigTest, AccessorsGiveDefaultsForAHandBuiltMessage) {
  v1::WorkerConfig c;
  EXPECT_EQ(WorkTopic(c), "fleet.work");
  EXPECT_EQ(ResultsTopic(c), "fleet.results");
  EXPECT_EQ(DlqTopic(c), "fleet.dlq");
  EXPECT_EQ(StateTopic(c), "fleet.state");
  EXPECT_EQ(ControlTopic(c), "fleet.control");
  EXPECT_TRUE(CreateTopics(c));
  EXPECT_EQ(TopicPartitions(c), 12);
  EXPECT_EQ(MaxMessageBytes(c), 4194304);
  EXPECT_EQ(IoThreads(c), 32);
  EXPECT_EQ(BatchMaxTimeMs(c), 300);
  EXPECT_EQ(KafkaGroupId(c), "fleetkeeper");
  EXPECT_EQ(BootstrapServers(c), "");
  EXPECT_EQ(KafkaTransactionsMode(c), KafkaTransactions::kAuto);
  EXPECT_EQ(MaxTargets(c), 500);
  EXPECT_TRUE(AmiRolloutEnabled(c));
  EXPECT_TRUE(SelfHealingEnabled(c));
  EXPECT_FALSE(ResultsAsProtobuf(c));

  c.mutable_topics()->set_partitions(3);
  c.mutable_topics()->set_create(false);
  c.mutable_handlers()->mutable_self_healing()->set_enabled(false);
  EXPECT_EQ(TopicPartitions(c), 3);
  EXPECT_FALSE(CreateTopics(c));
  EXPECT_FALSE(SelfHealingEnabled(c));
}

TEST(ConfigTest, ApplyDefaultsKeepsWhatTheUserSet) {
  v1::WorkerConfig c = MustLoad("topics: {create: false, partitions: 1}\ndry_run: true\n");
  EXPECT_FALSE(c.topics().create());
  EXPECT_EQ(c.topics().partitions(), 1);
  EXPECT_TRUE(c.dry_run());
  v1::WorkerConfig again = c;
  ApplyDefaults(again);
  EXPECT_TRUE(MessageDifferencer::Equals(c, again));
}

TEST(ConfigTest, CustomFixtureLoadsEveryValue) {
  auto loaded = LoadConfigFile(kFixtures + "custom.yaml", NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const v1::WorkerConfig& c = loaded->config;
  EXPECT_EQ(c.kafka().at("bootstrap.servers"), "broker-a:9092");
  EXPECT_EQ(c.kafka().at("group.id"), "fleet-prod");
  EXPECT_EQ(c.kafka().at("transactional.id"), "fleet-prod-1");
  EXPECT_EQ(InputTopics(c), std::vector<std::string>{"prod.events"});
  EXPECT_EQ(c.topics().control(), "prod.control");
  EXPECT_FALSE(c.topics().create());
  EXPECT_EQ(c.topics().partitions(), 24);
  EXPECT_EQ(c.topics().replication_factor(), 3);
  EXPECT_EQ(c.runtime().io_threads(), 16);
  EXPECT_EQ(DurationMs(c.runtime().batch_max_time()), 250);
  EXPECT_EQ(DurationMs(c.runtime().dedup_retention()), 2LL * 86400 * 1000);
  EXPECT_TRUE(ResultsAsProtobuf(c));
  EXPECT_EQ(c.aws().region(), "eu-west-1");
  EXPECT_EQ(c.aws().accounts().at("111122223333").external_id(), "ext-1");
  EXPECT_EQ(c.commands().max_targets(), 20);
  EXPECT_EQ(KafkaTransactionsMode(c), KafkaTransactions::kOn);
  EXPECT_TRUE(c.dry_run());
  EXPECT_TRUE(JsonLogs(c));
  EXPECT_EQ(c.log().level(), "debug");

  const auto& ami = c.handlers().ami_rollout();
  EXPECT_FALSE(ami.enabled());
  ASSERT_EQ(ami.bindings_size(), 2);
  EXPECT_EQ(ami.bindings(0).asgs(1), "api-asg");
  EXPECT_EQ(ami.bindings(1).instances(1), "i-01234567");
  const auto& d = ami.refresh_defaults();
  EXPECT_TRUE(d.has_min_healthy_percentage());
  EXPECT_EQ(d.min_healthy_percentage(), 0);
  EXPECT_EQ(d.max_healthy_percentage(), 100);
  EXPECT_EQ(d.checkpoint_percentages_size(), 3);
  EXPECT_TRUE(d.has_auto_rollback());
  EXPECT_FALSE(d.auto_rollback());
  EXPECT_EQ(d.scale_in_protected_instances(), "Wait");
  EXPECT_EQ(d.alarm_specification().alarms(0), "a1");
  // The Lambda's `alarms` shorthand lands in AlarmSpecification.
  const auto& web = ami.asg_configurations().at("web-asg");
  EXPECT_EQ(web.min_healthy_percentage(), 75);
  EXPECT_EQ(web.alarms_size(), 0);
  ASSERT_EQ(web.alarm_specification().alarms_size(), 1);
  EXPECT_EQ(web.alarm_specification().alarms(0), "web-5xx");
  EXPECT_EQ(ami.refresh_in_progress(), "cancel-and-restart");
  EXPECT_EQ(ami.replacement().strategy(), "replace-root-volume");
  EXPECT_EQ(ami.replacement().max_concurrency(), 5);
  EXPECT_EQ(DurationMs(ami.replacement().keep_old_for()), 3600 * 1000);
  EXPECT_TRUE(ami.replacement().attach_live());
  EXPECT_EQ(ami.metrics_namespace(), "Fleet/AmiRollout");

  const auto& heal = c.handlers().self_healing();
  EXPECT_FALSE(heal.enabled());
  ASSERT_EQ(heal.rules_size(), 1);
  const auto& rule = heal.rules(0);
  EXPECT_EQ(rule.match().state(), "INSUFFICIENT_DATA");
  EXPECT_FALSE(rule.action().has_by());
  EXPECT_EQ(rule.action().to(), 6);
  EXPECT_EQ(DurationMs(rule.cooldown()), 300 * 1000);
  EXPECT_EQ(rule.threshold().count(), 3);
  EXPECT_TRUE(rule.repeat_while_alarm());
  EXPECT_TRUE(rule.continue_());
  EXPECT_EQ(DurationMs(rule.verify_timeout()), 120 * 1000);
  EXPECT_EQ(heal.circuit_breaker().max_actions(), 5);
  EXPECT_TRUE(heal.exempt_from_freeze());
  EXPECT_EQ(heal.metrics().dimensions().at("Team"), "sre");
}

TEST(ConfigTest, ExampleFileValidates) {
  EXPECT_EQ(Describe(ValidateConfigFile(kExample, NoEnv())), "");
  auto loaded = LoadConfigFile(kExample, NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const auto& c = loaded->config;
  EXPECT_EQ(c.handlers().self_healing().rules(0).name(), "high-cpu-scale-out");
  EXPECT_EQ(c.handlers().self_healing().rules(1).match().state(), "ALARM");  // default
  EXPECT_EQ(c.aws().accounts().size(), 2);
}

TEST(ConfigTest, EveryValidationErrorOfAFileIsReportedTogether) {
  auto errors = ValidateConfigFile(kFixtures + "invalid.yaml", NoEnv());
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "topics.partitions"), "between 1 and 100000, got 0"));
  EXPECT_EQ(ErrorAt(errors, "topics.work"), "\"fleet.events\" is already used by topics.inputs[0]");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "runtime.io_threads"), "between 1 and 256, got 300"));
  EXPECT_EQ(ErrorAt(errors, "kafka_transactions"), "expected auto | on | off, got \"sometimes\"");
  EXPECT_EQ(ErrorAt(errors, "log.format"), "expected text | json, got \"xml\"");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "log.level"), "got \"loud\""));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "aws.accounts[\"1234\"]"), "12-digit account id"));
  EXPECT_TRUE(
      HasSubstring(ErrorAt(errors, "aws.accounts[\"1234\"].role_arn"), "expected an IAM role ARN"));
  const std::string ami = "handlers.ami_rollout.";
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, ami + "refresh_defaults.MinHealthyPercentage"),
                           "between 0 and 100, got 120"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, ami + "refresh_defaults.MaxHealthyPercentage"),
                           "between 100 and 200, got 90"));
  EXPECT_EQ(ErrorAt(errors, ami + "refresh_in_progress"),
            "expected wait | cancel-and-restart | reject, got \"skip\"");
  EXPECT_EQ(ErrorAt(errors, ami + "replacement.strategy"),
            "expected relaunch | replace-root-volume, got \"rebuild\"");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, ami + "replacement.max_concurrency"), "at least 1"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, ami + "replacement.max_unavailable"), "at least 1"));
  const std::string rules = "handlers.self_healing.rules";
  EXPECT_EQ(ErrorAt(errors, rules + "[0].match.state"),
            "expected OK | ALARM | INSUFFICIENT_DATA, got \"FIRING\"");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, rules + "[0].action"), "exactly one of by"));
  EXPECT_EQ(ErrorAt(errors, rules + "[1].name"), "\"dup\" is already the name of " + rules + "[0]");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, rules + "[1].action.type"), "got \"explode\""));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, rules + "[1].threshold.count"), "at least 1"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, rules + "[1].threshold.within"), "required"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, rules + "[2].name"), "required"));
  EXPECT_EQ(ErrorAt(errors, rules + "[2].action.type"),
            "notify needs handlers.self_healing.notify_topic_arn");
  EXPECT_EQ(errors.size(), 22u) << Describe(errors);

  // LoadConfig reports the same errors, one per line "path: message".
  auto loaded = LoadConfigFile(kFixtures + "invalid.yaml", NoEnv());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(std::count(loaded.error().message.begin(), loaded.error().message.end(), '\n'), 21);
  EXPECT_TRUE(HasSubstring(loaded.error().message,
                           "\nhandlers.ami_rollout.refresh_in_progress: expected wait"));
}

TEST(ConfigTest, TypeAndValidationErrorsTogetherWithoutRepeats) {
  auto errors = ValidateConfigText(
      "topics: {partitions: lots}\nruntime: {io_threads: 0}\nhandlers: {self_healing: {rules: "
      "[{name: a, action: {type: scale_out, by: one}}]}}\n",
      NoEnv());
  EXPECT_EQ(ErrorAt(errors, "topics.partitions"), "expected integer (int32), got \"lots\"");
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "runtime.io_threads"), "between 1 and 256"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "handlers.self_healing.rules[0].action.by"),
                           "expected integer"));
  // The unset `by` does not also produce "needs exactly one of by or to" on the action.
  EXPECT_EQ(errors.size(), 3u) << Describe(errors);
}

TEST(ConfigTest, SelfHealingRuleChecks) {
  const std::string head = "handlers:\n  self_healing:\n    rules:\n";
  const std::string r0 = "handlers.self_healing.rules[0]";
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt(head + "      - {name: a, action: {type: scale_out}}", r0 + ".action"),
      "exactly one of by"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt(head + "      - {name: a, action: {type: scale_out, by: 0}}", r0 + ".action.by"),
      "at least 1"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt(head + "      - {name: a, action: {type: scale_out, to: -2}}", r0 + ".action.to"),
      "at least 1"));
  EXPECT_EQ(OnlyErrorAt(head + "      - {name: a, action: {type: reboot_instance, by: 1}}",
                        r0 + ".action.by"),
            "only for type scale_out");
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt(head + "      - {name: a}", r0 + ".action.type"), "required"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt(head + "      - {name: a, action: {type: reboot_instance}, "
                                              "threshold: {within: 60s}}",
                                       r0 + ".threshold.count"),
                           "required"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt(head + "      - {name: a, action: {type: notify}, threshold: {count: 2}}\n"
                         "    notify_topic_arn: \"arn:aws:sns:us-east-1:111122223333:t\"",
                  r0 + ".threshold.within"),
      "required"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt(head + "      - {name: a, action: {type: reboot_instance}, verify_timeout: 0s}",
                  r0 + ".verify_timeout"),
      "above zero"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt("handlers: {self_healing: {notify_topic_arn: \"arn:aws:sqs:us-east-1:1:q\"}}",
                  "handlers.self_healing.notify_topic_arn"),
      "SNS topic ARN"));
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt("handlers: {self_healing: {circuit_breaker: {max_actions: 0}}}",
                               "handlers.self_healing.circuit_breaker.max_actions"),
                   "at least 1"));
  // Valid: threshold complete, a scale_out with `to`, the state defaults to ALARM.
  auto c = MustLoad(head +
                    "      - {name: a, action: {type: scale_out, to: 4}, "
                    "threshold: {count: 2, within: 1m}}");
  EXPECT_EQ(c.handlers().self_healing().rules(0).match().state(), "ALARM");
}

TEST(ConfigTest, RefreshPreferenceChecks) {
  const std::string p = "handlers.ami_rollout.refresh_defaults.";
  auto only = [&](const std::string& prefs, const std::string& key) {
    return OnlyErrorAt("handlers: {ami_rollout: {refresh_defaults: {" + prefs + "}}}", p + key);
  };
  EXPECT_TRUE(HasSubstring(only("MinHealthyPercentage: -1", "MinHealthyPercentage"), "0 and 100"));
  EXPECT_TRUE(
      HasSubstring(only("MaxHealthyPercentage: 201", "MaxHealthyPercentage"), "100 and 200"));
  EXPECT_TRUE(HasSubstring(
      only("MinHealthyPercentage: 50, MaxHealthyPercentage: 200", "MaxHealthyPercentage"),
      "at most 100 between"));
  EXPECT_TRUE(HasSubstring(only("CheckpointPercentages: [50, 20]", "CheckpointPercentages[1]"),
                           "ascending"));
  EXPECT_TRUE(
      HasSubstring(only("CheckpointPercentages: [0]", "CheckpointPercentages[0]"), "1 and 100"));
  EXPECT_TRUE(HasSubstring(only("CheckpointDelay: 172801", "CheckpointDelay"), "0 and 172800"));
  EXPECT_TRUE(HasSubstring(only("ScaleInProtectedInstances: refresh", "ScaleInProtectedInstances"),
                           "Refresh | Ignore | Wait"));
  EXPECT_TRUE(HasSubstring(only("StandbyInstances: Stop", "StandbyInstances"),
                           "Terminate | Ignore | Wait"));
  EXPECT_TRUE(HasSubstring(only("InstanceWarmup: -5", "InstanceWarmup"), "at least 0"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt("handlers: {ami_rollout: {asg_configurations: {web: {MinHealthyPercentage: "
                  "101}}}}",
                  "handlers.ami_rollout.asg_configurations[\"web\"].MinHealthyPercentage"),
      "0 and 100"));
}

TEST(ConfigTest, AmiRolloutTargetChecks) {
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("handlers: {ami_rollout: {bindings: [{parameter: /ami/x}]}}",
                                       "handlers.ami_rollout.bindings[0]"),
                           "no asgs and no instances"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("handlers: {ami_rollout: {bindings: [{asgs: [a]}]}}",
                                       "handlers.ami_rollout.bindings[0].parameter"),
                           "required"));
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt("handlers: {ami_rollout: {excluded_instances: [i-0123456789abcdef0, web-1]}}",
                  "handlers.ami_rollout.excluded_instances[1]"),
      "not an EC2 instance id"));
}

TEST(ConfigTest, AmiRolloutPollIntervalMustBePositive) {
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("handlers: {ami_rollout: {poll_interval: 0s}}",
                                       "handlers.ami_rollout.poll_interval"),
                           "must be a duration above zero"));
  // A negative duration does not parse: the type error names the same key.
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("handlers: {ami_rollout: {poll_interval: -5s}}",
                                       "handlers.ami_rollout.poll_interval"),
                           "a duration with a unit"));
  auto errors = ValidateConfigText("handlers: {ami_rollout: {poll_interval: 2s}}", NoEnv());
  EXPECT_TRUE(errors.empty()) << Describe(errors);
  EXPECT_EQ(DurationMs(MustLoad("handlers: {ami_rollout: {poll_interval: 2s}}")
                           .handlers()
                           .ami_rollout()
                           .poll_interval()),
            2000);
}

TEST(ConfigTest, TopLevelAndAwsChecks) {
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("aws: {region: US-East}", "aws.region"), "region"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("aws: {default_account: \"12345\"}", "aws.default_account"),
                           "12-digit"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("aws: {accounts: {\"111122223333\": {external_id: e1}}}",
                                       "aws.accounts[\"111122223333\"].role_arn"),
                           "required"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("commands: {allowed_accounts: [\"111122223333\", abc]}",
                                       "commands.allowed_accounts[1]"),
                           "12-digit"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("commands: {max_targets: 0}", "commands.max_targets"),
                           "at least 1"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("topics: {dlq: \"bad topic\"}", "topics.dlq"),
                           "not a valid Kafka topic name"));
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt("topics: {replication_factor: 0}", "topics.replication_factor"),
                   "between 1 and 32767"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("runtime: {results_format: avro}", "runtime.results_format"),
                           "json | protobuf"));
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt("kafka: {bootstrap.servers: \"\"}", "kafka[\"bootstrap.servers\"]"),
                   "must not be empty"));
  // Unquoted `on` is the string "on" here (YAML 1.2), as DESIGN.md writes it.
  EXPECT_EQ(MustLoad("kafka_transactions: on\n").kafka_transactions(), "on");
}

TEST(ConfigTest, RoleInAnotherAccountIsAWarning) {
  auto loaded = LoadConfigText(
      "aws: {accounts: {\"111122223333\": {role_arn: \"arn:aws:iam::444455556666:role/fk\"}}}",
      NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(std::any_of(loaded->warnings.begin(), loaded->warnings.end(), [](const auto& w) {
    return HasSubstring(w, "aws.accounts[\"111122223333\"].role_arn: the role belongs to another");
  }));
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto errors = ValidateConfigText("topics:\n  work: [unclosed\n", NoEnv());
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_TRUE(HasSubstring(errors[0].message, "YAML syntax error"));
  EXPECT_GT(errors[0].line, 0);
}

TEST(ConfigTest, TopLevelMustBeAMapping) {
  EXPECT_EQ(OnlyErrorAt("- a\n- b\n", ""), "expected a mapping, got a list");
}

TEST(ConfigTest, MissingFileIsAnError) {
  auto loaded = LoadConfigFile(kFixtures + "does-not-exist.yaml", NoEnv());
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(HasSubstring(loaded.error().message, "does-not-exist.yaml"));
  EXPECT_EQ(ValidateConfigFile(kFixtures + "does-not-exist.yaml", NoEnv()).size(), 1u);
}

// A directory opens as a stream that reads nothing: it must not pass as an empty, valid config.
TEST(ConfigTest, DirectoryIsAnErrorNamingIt) {
  auto loaded = LoadConfigFile(kFixtures, NoEnv());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, kFixtures + ": is a directory, not a file");
  auto errors = ValidateConfigFile(kFixtures, NoEnv());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(HasSubstring(errors[0].message, "is a directory")) << Describe(errors);
}

// AssumeRole's ExternalId constraints: 2 to 1224 characters of [\w+=,.@:/-]
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
TEST(ConfigTest, ExternalIdFollowsAssumeRolesConstraints) {
  const auto account = [](const std::string& external_id) {
    const std::string head =
        "aws: {accounts: {\"111122223333\": {role_arn: \"arn:aws:iam::111122223333:role/fk\"";
    return head + ", external_id: \"" + external_id + "\"}}}";
  };
  const std::string path = "aws.accounts[\"111122223333\"].external_id";
  EXPECT_EQ(Describe(ValidateConfigText(account(std::string(1224, 'a')), NoEnv())), "");
  EXPECT_EQ(Describe(ValidateConfigText(account("Ab9_+=,.@:/-"), NoEnv())), "");
  EXPECT_TRUE(HasSubstring(OnlyErrorAt(account(std::string(1225, 'a')), path), "1224"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt(account("has space"), path), "1224"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt(account("x"), path), "1224"));
}

// ---- Environment overrides ----

TEST(ConfigEnvTest, DryRunLogFormatAndBootstrapServers) {
  auto c = MustLoad("dry_run: false\nkafka: {bootstrap.servers: \"a:9092\"}\n",
                    Environment::FromMap({{"FLEETKEEPER_DRY_RUN", "1"},
                                          {"FLEETKEEPER_LOG_FORMAT", "json"},
                                          {"FLEETKEEPER_KAFKA_BOOTSTRAP_SERVERS", "b:9092,c:9"}}));
  EXPECT_TRUE(c.dry_run());
  EXPECT_EQ(c.log().format(), "json");
  EXPECT_EQ(c.kafka().at("bootstrap.servers"), "b:9092,c:9");

  EXPECT_FALSE(MustLoad("dry_run: true", Environment::FromMap({{"FLEETKEEPER_DRY_RUN", "FALSE"}}))
                   .dry_run());
  EXPECT_TRUE(MustLoad("", Environment::FromMap({{"FLEETKEEPER_DRY_RUN", "true"}})).dry_run());
  // Empty means unset: Terraform and compose files often write "".
  EXPECT_TRUE(
      MustLoad("dry_run: true", Environment::FromMap({{"FLEETKEEPER_DRY_RUN", ""}})).dry_run());
}

TEST(ConfigEnvTest, AnEnvironmentWithoutLookupHasNoVariables) {
  auto loaded = LoadConfigText("dry_run: true", Environment{});
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->config.dry_run());
}

TEST(ConfigEnvTest, BadVariablesAreErrorsNamingTheVariable) {
  auto errors = ValidateConfigText("", Environment::FromMap({{"FLEETKEEPER_DRY_RUN", "yes"},
                                                             {"FLEETKEEPER_LOG_FORMAT", "xml"}}));
  EXPECT_EQ(ErrorAt(errors, "FLEETKEEPER_DRY_RUN"), "expected true, false, 1 or 0, got \"yes\"");
  EXPECT_EQ(ErrorAt(errors, "FLEETKEEPER_LOG_FORMAT"), "expected text or json, got \"xml\"");
  EXPECT_EQ(errors.size(), 2u);
}

TEST(ConfigEnvTest, ExcludedListsCommaSeparatedOrJsonAreAppended) {
  auto c = MustLoad(
      "handlers: {ami_rollout: {excluded_asgs: [a], excluded_instances: [i-0123456789abcdef0]}}",
      Environment::FromMap({{"EXCLUDED_ASGS", " b ,c,, a "},
                            {"EXCLUDED_INSTANCES", R"(["i-0fedcba9876543210", "i-01234567"])"}}));
  const auto& ami = c.handlers().ami_rollout();
  EXPECT_EQ(std::vector<std::string>(ami.excluded_asgs().begin(), ami.excluded_asgs().end()),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(
      std::vector<std::string>(ami.excluded_instances().begin(), ami.excluded_instances().end()),
      (std::vector<std::string>{"i-0123456789abcdef0", "i-0fedcba9876543210", "i-01234567"}));

  auto json_asgs = MustLoad("", Environment::FromMap({{"EXCLUDED_ASGS", R"(["x", "y"])"}}));
  EXPECT_EQ(json_asgs.handlers().ami_rollout().excluded_asgs_size(), 2);
  auto csv_instances = MustLoad(
      "", Environment::FromMap({{"EXCLUDED_INSTANCES", "i-01234567, i-0123456789abcdef0"}}));
  EXPECT_EQ(csv_instances.handlers().ami_rollout().excluded_instances(1), "i-0123456789abcdef0");
}

TEST(ConfigEnvTest, ExcludedListErrors) {
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt("", "EXCLUDED_ASGS", Environment::FromMap({{"EXCLUDED_ASGS", "[\"a\","}})),
      "malformed JSON"));
  EXPECT_EQ(
      OnlyErrorAt("", "EXCLUDED_ASGS[1]", Environment::FromMap({{"EXCLUDED_ASGS", R"(["a", 3])"}})),
      "expected a string");
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt("", "EXCLUDED_INSTANCES[1]",
                               Environment::FromMap({{"EXCLUDED_INSTANCES", "i-01234567,web-1"}})),
                   "not an EC2 instance id: \"web-1\""));
}

TEST(ConfigEnvTest, AsgConfigurationsMergeOverTheFileKeyByKey) {
  const std::string yaml = R"(
handlers:
  ami_rollout:
    refresh_defaults: {MinHealthyPercentage: 90, InstanceWarmup: 300, AutoRollback: true}
    asg_configurations:
      web-asg: {MinHealthyPercentage: 80, CheckpointPercentages: [10, 100], SkipMatching: true}
)";
  const std::string env_json = R"({
    "web-asg": {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200,
                "CheckpointPercentages": [50, 100], "CheckpointDelay": 600,
                "ScaleInProtectedInstances": "Ignore", "StandbyInstances": "Ignore",
                "alarms": ["web-5xx"]},
    "api-asg": {"InstanceWarmup": 60, "AutoRollback": false,
                "AlarmSpecification": {"Alarms": ["api-latency"]}}
  })";
  auto c = MustLoad(yaml, Environment::FromMap({{"ASG_CONFIGURATIONS", env_json}}));
  const auto& ami = c.handlers().ami_rollout();
  const auto& web = ami.asg_configurations().at("web-asg");
  EXPECT_EQ(web.min_healthy_percentage(), 100);
  EXPECT_EQ(web.max_healthy_percentage(), 200);
  EXPECT_EQ(
      std::vector<int>(web.checkpoint_percentages().begin(), web.checkpoint_percentages().end()),
      (std::vector<int>{50, 100}));  // replaced, not appended
  EXPECT_TRUE(web.skip_matching());  // kept from the file
  EXPECT_EQ(web.alarm_specification().alarms(0), "web-5xx");
  EXPECT_EQ(web.scale_in_protected_instances(), "Ignore");

  v1::RefreshPreferences api = EffectiveRefreshPreferences(ami, "api-asg");
  EXPECT_EQ(api.min_healthy_percentage(), 90);  // from refresh_defaults
  EXPECT_EQ(api.instance_warmup(), 60);
  EXPECT_TRUE(api.has_auto_rollback());
  EXPECT_FALSE(api.auto_rollback());
  EXPECT_EQ(api.alarm_specification().alarms(0), "api-latency");
  v1::RefreshPreferences other = EffectiveRefreshPreferences(ami, "other-asg");
  EXPECT_EQ(other.instance_warmup(), 300);
  EXPECT_TRUE(other.auto_rollback());
}

TEST(ConfigEnvTest, AsgConfigurationsErrorsNameVariableAsgAndKey) {
  auto env = [](const std::string& json) {
    return Environment::FromMap({{"ASG_CONFIGURATIONS", json}});
  };
  EXPECT_EQ(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].MinHealthyPercentage",
                        env(R"({"web-asg": {"MinHealthyPercentage": "90"}})")),
            "expected integer (int32), got the quoted string \"90\"");
  EXPECT_EQ(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].MinHealthyPercentage",
                        env(R"({"web-asg": {"MinHealthyPercentage": 90.5}})")),
            "expected integer (int32), got \"90.5\"");
  EXPECT_EQ(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].SkipMatching",
                        env(R"({"web-asg": {"SkipMatching": "yes"}})")),
            "expected true or false, got the quoted string \"yes\"");
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].MinHealthyPercent",
                                       env(R"({"web-asg": {"MinHealthyPercent": 90}})")),
                           "did you mean \"MinHealthyPercentage\""));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].MaxHealthyPercentage",
                                       env(R"({"web-asg": {"MaxHealthyPercentage": 300}})")),
                           "between 100 and 200"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"].CheckpointPercentages",
                                       env(R"({"web-asg": {"CheckpointPercentages": 50}})")),
                           "expected a list"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS", env(R"({"web-asg": )")),
                           "malformed JSON"));
  EXPECT_TRUE(HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS", env(R"(["web-asg"])")),
                           "JSON object keyed by ASG name"));
  EXPECT_TRUE(
      HasSubstring(OnlyErrorAt("", "ASG_CONFIGURATIONS[\"web-asg\"]", env(R"({"web-asg": 5})")),
                   "expected a mapping"));
  // Min from the file and max from the variable must still be at most 100 apart.
  EXPECT_TRUE(HasSubstring(
      OnlyErrorAt("handlers: {ami_rollout: {asg_configurations: {w: {MinHealthyPercentage: 50}}}}",
                  "ASG_CONFIGURATIONS[\"w\"]", env(R"({"w": {"MaxHealthyPercentage": 200}})")),
      "exceeds 100"));
}

TEST(ConfigEnvTest, FileAndEnvironmentErrorsAreReportedTogether) {
  auto errors = ValidateConfigText(
      "topics: {partitions: 0}\nlog: {fromat: json}\n",
      Environment::FromMap({{"FLEETKEEPER_DRY_RUN", "maybe"},
                            {"ASG_CONFIGURATIONS", R"({"a": {"InstanceWarmup": "x"}})"}}));
  EXPECT_EQ(errors.size(), 4u) << Describe(errors);
  ErrorAt(errors, "topics.partitions");
  ErrorAt(errors, "log.fromat");
  ErrorAt(errors, "FLEETKEEPER_DRY_RUN");
  ErrorAt(errors, "ASG_CONFIGURATIONS[\"a\"].InstanceWarmup");
}

// ---- safety (docs/safety.md) ----

TEST(ConfigTest, SafetyGuardsAndBlackoutWindowsLoadWithDefaults) {
  v1::WorkerConfig c = MustLoad(
      "safety:\n"
      "  guards:\n"
      "    - {alarm_name: \"*5xx*\", scope: target_group}\n"
      "    - {alarm_name: site-health, resources: [\"asg:web-*\"]}\n"
      "  blackout:\n"
      "    - {cron: \"0 9 * * MON\", duration: 2h, time_zone: Europe/Berlin}\n");
  ASSERT_EQ(c.safety().guards_size(), 2);
  EXPECT_EQ(c.safety().guards(1).scope(), "any");
  EXPECT_EQ(c.safety().on_guard_alarm(), "pause");
  EXPECT_EQ(DurationMs(c.safety().guard_poll_interval()), 60000);
  ASSERT_EQ(c.safety().blackout_size(), 1);
  EXPECT_EQ(DurationMs(c.safety().blackout(0).duration()), 2 * 3600 * 1000);
  EXPECT_FALSE(c.safety().exempt_self_healing());
}

TEST(ConfigTest, SafetyErrorsNameTheirKeys) {
  auto errors = ValidateConfigText(
      "safety:\n"
      "  guards: [{tag: fleetkeeper:guard-alarms, alarm_name: web-5xx}]\n"
      "  on_guard_alarm_per_handler: {ecs: rollback}\n"
      "  blackout: [{cron: \"0 9 * *\", duration: 1h, time_zone: Europe/Nowhere}]\n",
      NoEnv());
  EXPECT_EQ(errors.size(), 4u) << Describe(errors);
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "safety.guards[0].tag"), "not both"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "safety.on_guard_alarm_per_handler[\"ecs\"]"),
                           "ecs has no rollback on a guard alarm"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "safety.blackout[0].cron"), "4 fields"));
  EXPECT_TRUE(HasSubstring(ErrorAt(errors, "safety.blackout[0].time_zone"), "Europe/Nowhere"));
}

// ---- Redaction ----

TEST(ConfigTest, RedactedYamlHidesSecretsAndReloads) {
  auto loaded = LoadConfigFile(kFixtures + "custom.yaml", NoEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  v1::WorkerConfig config = loaded->config;
  (*config.mutable_kafka())["sasl.oauthbearer.config"] = "principal=x secret=y";
  (*config.mutable_kafka())["ssl.key.password"] = "pw";
  const std::string yaml = RedactedYaml(config);
  EXPECT_FALSE(HasSubstring(yaml, "hunter2")) << yaml;
  EXPECT_FALSE(HasSubstring(yaml, "principal=x")) << yaml;
  EXPECT_FALSE(HasSubstring(yaml, ": pw")) << yaml;
  EXPECT_TRUE(HasSubstring(yaml, "broker-a:9092")) << yaml;

  auto reloaded = LoadConfigText(yaml, NoEnv());
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message << "\n" << yaml;
  EXPECT_EQ(reloaded->config.kafka().at("sasl.password"), "<redacted>");
  v1::WorkerConfig expected = config;
  for (const char* key : {"sasl.password", "sasl.oauthbearer.config", "ssl.key.password"}) {
    (*expected.mutable_kafka())[key] = "<redacted>";
  }
  EXPECT_TRUE(MessageDifferencer::Equals(expected, reloaded->config)) << yaml;
}

}  // namespace
}  // namespace fleetkeeper::app
