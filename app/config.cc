#include "app/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/observability.h"
#include "common/file.h"
#include "common/secrets.h"
#include "handlers/ami_rollout/config.h"
#include "handlers/ami_rollout/config_check.h"
#include "handlers/engine/blackout.h"
#include "handlers/engine/guards.h"
#include "handlers/engine/ledger.h"
#include "handlers/registry.h"

namespace fleetkeeper::app {
namespace {

namespace ami_rollout = handlers::ami_rollout;

using handlers::DurationOfMs;

constexpr std::string_view kRedacted = "<redacted>";

// ---- Small helpers ----

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view text) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && space(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && space(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

template <typename Container>
bool Contains(const Container& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-].
bool IsTopicName(const std::string& text) {
  static const std::regex pattern("^[a-zA-Z0-9._-]{1,249}$");
  return std::regex_match(text, pattern);
}

// ---- Validation ----

class Validator : public ConfigChecker {
 public:
  using ConfigChecker::ConfigChecker;

  void Config(const v1::WorkerConfig& c) {
    Kafka(c);
    Topics(c.topics());
    Runtime(c.runtime());
    Aws(c.aws());
    Commands(c.commands());
    Observability(c.observability());
    for (const auto& [key, why] : handlers::LedgerConfigErrors(c.safety())) Fail(key, why);
    OneOfValues("kafka_transactions", c.kafka_transactions(), {"auto", "on", "off"});
    OneOfValues("log.format", c.log().format(), {"text", "json"});
    OneOfValues("log.level", c.log().level(), {"trace", "debug", "info", "warn", "error"});
    for (const handlers::HandlerFactory* factory : handlers::HandlerCatalog()) {
      factory->Validate(c, *this);
    }
    handlers::ValidateAlarmGuards(c.safety(), *this);
    handlers::ValidateBlackout(c.safety(), *this);
  }

  void Kafka(const v1::WorkerConfig& c) {
    for (const auto& [key, value] : c.kafka()) {
      if (Trim(key).empty()) Fail("kafka", "a property name must not be empty");
    }
    auto it = c.kafka().find("bootstrap.servers");
    if (it != c.kafka().end() && Trim(it->second).empty()) {
      Fail(KeyPath("kafka", "bootstrap.servers"),
           "must not be empty; leave it out to use the embedded broker");
    }
  }

  void Topics(const v1::TopicsConfig& t) {
    const std::string p = "topics";
    std::map<std::string, std::string> owner;  // topic name -> the key that uses it
    auto topic = [&](const std::string& path, const std::string& name) {
      if (!IsTopicName(name)) {
        Fail(path, "not a valid Kafka topic name (1-249 of a-z A-Z 0-9 . _ -): " + Quoted(name));
        return;
      }
      auto [it, inserted] = owner.emplace(name, path);
      if (!inserted) Fail(path, Quoted(name) + " is already used by " + it->second);
    };
    for (int i = 0; i < t.inputs_size(); ++i) {
      topic(IndexPath(ChildPath(p, "inputs"), static_cast<size_t>(i)), t.inputs(i));
    }
    topic(ChildPath(p, "work"), t.work());
    topic(ChildPath(p, "results"), t.results());
    topic(ChildPath(p, "dlq"), t.dlq());
    topic(ChildPath(p, "state"), t.state());
    topic(ChildPath(p, "control"), t.control());
    InRange(ChildPath(p, "partitions"), t.partitions(), 1, 100000);
    InRange(ChildPath(p, "max_message_bytes"), t.max_message_bytes(), 1024, 2147483647);
    if (t.replication_factor() != -1) {
      InRange(ChildPath(p, "replication_factor"), t.replication_factor(), 1, 32767);
    }
  }

  void Runtime(const v1::RuntimeConfig& r) {
    const std::string p = "runtime";
    InRange(ChildPath(p, "io_threads"), r.io_threads(), 1, 256);
    AtLeast(ChildPath(p, "batch_max_records"), r.batch_max_records(), 1);
    Positive(ChildPath(p, "batch_max_time"), r.batch_max_time());
    AtLeast(ChildPath(p, "max_pending_per_partition"), r.max_pending_per_partition(), 1);
    Positive(ChildPath(p, "dedup_retention"), r.dedup_retention());
    OneOfValues(ChildPath(p, "results_format"), r.results_format(), {"json", "protobuf"});
  }

  void Aws(const v1::AwsConfig& a) {
    if (!a.region().empty() && !IsRegion(a.region())) {
      Fail("aws.region", "not an AWS region name such as us-east-1: " + Quoted(a.region()));
    }
    if (!a.default_account().empty() && !IsAccountId(a.default_account())) {
      Fail("aws.default_account",
           "expected a 12-digit account id, got " + Quoted(a.default_account()));
    }
    // Sorted, so that errors come out in a stable order.
    const std::map<std::string, v1::AwsAccountConfig> accounts(a.accounts().begin(),
                                                               a.accounts().end());
    for (const auto& [id, account] : accounts) {
      const std::string p = KeyPath("aws.accounts", id);
      if (!IsAccountId(id)) {
        Fail(p, "the key must be a 12-digit account id (quote it: \"111122223333\")");
      }
      const std::string role = ChildPath(p, "role_arn");
      if (account.role_arn().empty()) {
        Fail(role, "required: the role to assume in this account");
      } else if (!IsRoleArn(account.role_arn())) {
        Fail(role,
             "expected an IAM role ARN such as arn:aws:iam::111122223333:role/fleetkeeper, "
             "got " +
                 Quoted(account.role_arn()));
      } else if (IsAccountId(id) && account.role_arn().find(":" + id + ":") == std::string::npos) {
        Warn(role, "the role belongs to another account than " + id);
      }
      if (!account.external_id().empty() && !IsExternalId(account.external_id())) {
        Fail(ChildPath(p, "external_id"),
             "must be 2 to 1224 characters of letters, digits and +=,.@:/-_");
      }
    }
  }

  void Commands(const v1::CommandsConfig& c) {
    for (int i = 0; i < c.allowed_accounts_size(); ++i) {
      if (!IsAccountId(c.allowed_accounts(i))) {
        Fail(IndexPath("commands.allowed_accounts", static_cast<size_t>(i)),
             "expected a 12-digit account id, got " + Quoted(c.allowed_accounts(i)));
      }
    }
    for (int i = 0; i < c.allowed_roles_size(); ++i) {
      if (Trim(c.allowed_roles(i)).empty()) {
        Fail(IndexPath("commands.allowed_roles", static_cast<size_t>(i)), "must not be empty");
      }
    }
    AtLeast("commands.max_targets", c.max_targets(), 1);
  }

  void Observability(const v1::ObservabilityConfig& o) {
    if (o.listen() == "off") return;
    auto address = ParseListenAddress(o.listen());
    if (!address.ok()) Fail("observability.listen", address.error().message);
  }
};

// ---- Environment overrides ----

// A default-constructed Environment (no lookup function) has no variables.
std::optional<std::string> Lookup(const Environment& env, const std::string& name) {
  if (!env.get) return std::nullopt;
  return env.get(name);
}

// A JSON value as YAML, keeping strings distinguishable (quoted) from numbers and booleans, so
// that the YAML converter's type checks apply to JSON too.
YAML::Node JsonToYaml(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, value] : json.items()) map[key] = JsonToYaml(value);
      return map;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& value : json) list.push_back(JsonToYaml(value));
      return list;
    }
    case nlohmann::json::value_t::string: {
      YAML::Node scalar(json.get<std::string>());
      scalar.SetTag("!");
      return scalar;
    }
    case nlohmann::json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default: {
      YAML::Node scalar(json.dump());
      scalar.SetTag("?");
      return scalar;
    }
  }
}

std::optional<nlohmann::json> ParseJson(const std::string& variable, const std::string& text,
                                        std::vector<ConfigError>& errors) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    errors.push_back(ConfigError{variable, "malformed JSON: " + std::string(e.what()), 0});
    return std::nullopt;
  }
}

// EXCLUDED_ASGS / EXCLUDED_INSTANCES: "a, b" or ["a", "b"]; appended without duplicates.
void AppendExcluded(const Environment& env, const std::string& variable, bool instance_ids,
                    google::protobuf::RepeatedPtrField<std::string>& target,
                    std::vector<ConfigError>& errors) {
  const auto raw = Lookup(env, variable);
  if (!raw) return;
  const std::string text = Trim(*raw);
  std::vector<std::string> names;
  if (!text.empty() && text.front() == '[') {
    auto json = ParseJson(variable, text, errors);
    if (!json) return;
    for (size_t i = 0; i < json->size(); ++i) {
      const auto& item = (*json)[i];
      if (!item.is_string()) {
        errors.push_back(ConfigError{IndexPath(variable, i), "expected a string", 0});
        continue;
      }
      names.push_back(Trim(item.get<std::string>()));
    }
  } else {
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
      if (!Trim(item).empty()) names.push_back(Trim(item));
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      errors.push_back(ConfigError{IndexPath(variable, i), "must not be empty", 0});
    } else if (instance_ids && !IsInstanceId(names[i])) {
      errors.push_back(
          ConfigError{IndexPath(variable, i), "not an EC2 instance id: " + Quoted(names[i]), 0});
    } else if (!Contains(target, names[i])) {
      *target.Add() = names[i];
    }
  }
}

void ApplyAsgConfigurations(const Environment& env, v1::AmiRolloutConfig& ami,
                            std::vector<ConfigError>& errors, std::vector<std::string>& warnings) {
  const std::string variable = "ASG_CONFIGURATIONS";
  const auto raw = Lookup(env, variable);
  if (!raw || Trim(*raw).empty()) return;
  auto json = ParseJson(variable, *raw, errors);
  if (!json) return;
  if (!json->is_object()) {
    errors.push_back(ConfigError{variable, "expected a JSON object keyed by ASG name", 0});
    return;
  }
  for (const auto& [asg, value] : json->items()) {
    const std::string path = KeyPath(variable, asg);
    v1::RefreshPreferences prefs;
    const size_t before = errors.size();
    YamlToMessage(JsonToYaml(value), prefs, path, errors);
    ami_rollout::FoldAlarms(prefs);
    ConfigChecker check(errors, warnings);
    ami_rollout::ValidateRefreshPreferences(prefs, path, check);
    if (errors.size() != before) continue;
    ami_rollout::OverlayPreferences(prefs, (*ami.mutable_asg_configurations())[asg]);
    // Min and max may now come from different sources; their distance must still hold.
    const auto& merged = ami.asg_configurations().at(asg);
    if (merged.has_min_healthy_percentage() && merged.has_max_healthy_percentage() &&
        merged.max_healthy_percentage() - merged.min_healthy_percentage() > 100) {
      errors.push_back(
          ConfigError{path,
                      "merged with the config file, MaxHealthyPercentage - MinHealthyPercentage " +
                          std::string("exceeds 100"),
                      0});
    }
  }
}

void ApplyEnvironment(const Environment& env, v1::WorkerConfig& config,
                      std::vector<ConfigError>& errors, std::vector<std::string>& warnings) {
  auto value = [&](const std::string& name) -> std::optional<std::string> {
    auto v = Lookup(env, name);
    if (!v || Trim(*v).empty()) return std::nullopt;  // empty = unset (Terraform writes "")
    return Trim(*v);
  };
  if (auto v = value("FLEETKEEPER_DRY_RUN")) {
    const std::string lower = Lower(*v);
    if (lower == "true" || lower == "1") {
      config.set_dry_run(true);
    } else if (lower == "false" || lower == "0") {
      config.set_dry_run(false);
    } else {
      errors.push_back(
          ConfigError{"FLEETKEEPER_DRY_RUN", "expected true, false, 1 or 0, got " + Quoted(*v), 0});
    }
  }
  if (auto v = value("FLEETKEEPER_LOG_FORMAT")) {
    if (*v == "text" || *v == "json") {
      config.mutable_log()->set_format(*v);
    } else {
      errors.push_back(
          ConfigError{"FLEETKEEPER_LOG_FORMAT", "expected text or json, got " + Quoted(*v), 0});
    }
  }
  if (auto v = value("FLEETKEEPER_KAFKA_BOOTSTRAP_SERVERS")) {
    (*config.mutable_kafka())["bootstrap.servers"] = *v;
  }
  auto* ami = config.mutable_handlers()->mutable_ami_rollout();
  AppendExcluded(env, "EXCLUDED_ASGS", false, *ami->mutable_excluded_asgs(), errors);
  AppendExcluded(env, "EXCLUDED_INSTANCES", true, *ami->mutable_excluded_instances(), errors);
  ApplyAsgConfigurations(env, *ami, errors, warnings);
}

void StartupWarnings(const v1::WorkerConfig& config, std::vector<std::string>& warnings) {
  if (BootstrapServers(config).empty()) {
    warnings.push_back(
        "kafka: no bootstrap.servers: the embedded in-memory broker will be used; nothing is kept "
        "across restarts");
    if (config.kafka_transactions() == "on") {
      warnings.push_back(
          "kafka_transactions: on with the embedded broker, which drops offsets committed inside "
          "a transaction; use auto");
    }
  }
  if (config.dry_run()) warnings.push_back("dry_run: true: no AWS resource will be changed");
}

// True when `inner` is `outer` or lies under it ("a.b" under "a", "a[1]" under "a").
bool PathWithin(const std::string& inner, const std::string& outer) {
  if (outer.empty() || inner.compare(0, outer.size(), outer) != 0) return false;
  return inner.size() == outer.size() || inner[outer.size()] == '.' || inner[outer.size()] == '[';
}

struct Outcome {
  v1::WorkerConfig config;
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
};

Outcome LoadAndCheck(std::string_view text, const Environment& env) {
  Outcome out;
  std::vector<ConfigError> conversion;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    YamlToMessage(root, out.config, "", conversion, &env.get);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    conversion.push_back(ConfigError{"", "YAML syntax error: " + e.msg, line});
  }
  ApplyDefaults(out.config);
  std::vector<ConfigError> validation;
  Validator(validation, out.warnings).Config(out.config);
  // A value that failed conversion was left unset; rules about it or its parent only repeat it.
  std::erase_if(validation, [&](const ConfigError& v) {
    return std::any_of(conversion.begin(), conversion.end(), [&](const ConfigError& c) {
      return PathWithin(c.path, v.path) || PathWithin(v.path, c.path);
    });
  });
  out.errors = std::move(conversion);
  out.errors.insert(out.errors.end(), validation.begin(), validation.end());
  ApplyEnvironment(env, out.config, out.errors, out.warnings);
  StartupWarnings(out.config, out.warnings);
  return out;
}

Error ToError(const std::vector<ConfigError>& errors) {
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e.ToString();
  return InvalidInput(std::move(message));
}

template <typename T>
T Or(T value, T fallback, bool set) {
  return set ? value : fallback;
}

}  // namespace

Environment Environment::Process() {
  return Environment{[](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  }};
}

Environment Environment::FromMap(std::map<std::string, std::string> variables) {
  return Environment{
      [vars = std::move(variables)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      }};
}

Result<LoadedConfig> LoadConfigText(std::string_view yaml, const Environment& env) {
  Outcome out = LoadAndCheck(yaml, env);
  if (!out.errors.empty()) return ToError(out.errors);
  return LoadedConfig{std::move(out.config), std::move(out.warnings)};
}

Result<LoadedConfig> LoadConfigFile(const std::string& path, const Environment& env) {
  auto text = ReadFileContents(path);
  if (!text.ok()) return text.error();
  return LoadConfigText(*text, env);
}

std::vector<ConfigError> ValidateConfigText(std::string_view yaml, const Environment& env) {
  return LoadAndCheck(yaml, env).errors;
}

std::vector<ConfigError> ValidateConfigFile(const std::string& path, const Environment& env) {
  auto text = ReadFileContents(path);
  if (!text.ok()) return {ConfigError{"", text.error().message, 0}};
  return ValidateConfigText(*text, env);
}

void ApplyDefaults(v1::WorkerConfig& c) {
  for (const handlers::HandlerFactory* factory : handlers::HandlerCatalog()) {
    factory->ApplyDefaults(c);
  }
  handlers::ApplyAlarmGuardDefaults(*c.mutable_safety());
  handlers::ApplyBlackoutDefaults(*c.mutable_safety());
  auto& kafka = *c.mutable_kafka();
  if (kafka.find("group.id") == kafka.end()) kafka["group.id"] = std::string(kDefaultGroupId);

  auto* t = c.mutable_topics();
  if (t->inputs_size() == 0) {
    for (const auto& topic : InputTopics(c)) t->add_inputs(topic);
  }
  if (t->work().empty()) t->set_work(std::string(kDefaultWorkTopic));
  if (t->results().empty()) t->set_results(std::string(kDefaultResultsTopic));
  if (t->dlq().empty()) t->set_dlq(std::string(kDefaultDlqTopic));
  if (t->state().empty()) t->set_state(std::string(kDefaultStateTopic));
  if (t->control().empty()) t->set_control(std::string(kDefaultControlTopic));
  if (!t->has_create()) t->set_create(true);
  if (!t->has_partitions()) t->set_partitions(kDefaultPartitions);
  if (!t->has_max_message_bytes()) t->set_max_message_bytes(kDefaultMaxMessageBytes);
  if (!t->has_replication_factor()) t->set_replication_factor(kDefaultReplicationFactor);

  auto* r = c.mutable_runtime();
  if (!r->has_io_threads()) r->set_io_threads(kDefaultIoThreads);
  if (!r->has_batch_max_records()) r->set_batch_max_records(kDefaultBatchMaxRecords);
  if (!r->has_batch_max_time()) *r->mutable_batch_max_time() = DurationOfMs(kDefaultBatchMaxTimeMs);
  if (!r->has_max_pending_per_partition()) {
    r->set_max_pending_per_partition(kDefaultMaxPendingPerPartition);
  }
  if (!r->has_dedup_retention()) {
    *r->mutable_dedup_retention() = DurationOfMs(kDefaultDedupRetentionMs);
  }
  if (r->results_format().empty()) r->set_results_format("json");

  auto* commands = c.mutable_commands();
  if (!commands->has_max_targets()) commands->set_max_targets(kDefaultMaxTargets);
  if (c.kafka_transactions().empty()) c.set_kafka_transactions("auto");
  if (!c.has_dry_run()) c.set_dry_run(false);
  if (c.log().format().empty()) c.mutable_log()->set_format("text");
  if (c.log().level().empty()) c.mutable_log()->set_level("info");
  if (c.observability().listen().empty()) {
    c.mutable_observability()->set_listen(std::string(kDefaultObservabilityListen));
  }
}

std::string RedactedYaml(const v1::WorkerConfig& config) {
  v1::WorkerConfig copy = config;
  for (auto& [key, value] : *copy.mutable_kafka()) {
    const std::string lower = Lower(key);
    if (lower.find("password") != std::string::npos || lower.find("secret") != std::string::npos ||
        lower.find("sasl.oauthbearer.config") != std::string::npos) {
      value = std::string(kRedacted);
    }
  }
  YAML::Emitter out;
  out << MessageToYaml(copy);
  return ScrubSecrets(out.c_str()) + "\n";
}

// ---- Accessors ----

std::vector<std::string> InputTopics(const v1::WorkerConfig& c) {
  if (c.topics().inputs_size() == 0) return {"fleet.events", "fleet.commands"};
  return {c.topics().inputs().begin(), c.topics().inputs().end()};
}

namespace {
std::string TopicOr(const std::string& value, std::string_view fallback) {
  return value.empty() ? std::string(fallback) : value;
}
}  // namespace

std::string WorkTopic(const v1::WorkerConfig& c) {
  return TopicOr(c.topics().work(), kDefaultWorkTopic);
}
std::string ResultsTopic(const v1::WorkerConfig& c) {
  return TopicOr(c.topics().results(), kDefaultResultsTopic);
}
std::string DlqTopic(const v1::WorkerConfig& c) {
  return TopicOr(c.topics().dlq(), kDefaultDlqTopic);
}
std::string StateTopic(const v1::WorkerConfig& c) {
  return TopicOr(c.topics().state(), kDefaultStateTopic);
}
std::string ControlTopic(const v1::WorkerConfig& c) {
  return TopicOr(c.topics().control(), kDefaultControlTopic);
}
bool CreateTopics(const v1::WorkerConfig& c) {
  return c.topics().has_create() ? c.topics().create() : true;
}
int32_t TopicPartitions(const v1::WorkerConfig& c) {
  return Or(c.topics().partitions(), kDefaultPartitions, c.topics().has_partitions());
}
int64_t MaxMessageBytes(const v1::WorkerConfig& c) {
  return Or(c.topics().max_message_bytes(), kDefaultMaxMessageBytes,
            c.topics().has_max_message_bytes());
}
int32_t ReplicationFactor(const v1::WorkerConfig& c) {
  return Or(c.topics().replication_factor(), kDefaultReplicationFactor,
            c.topics().has_replication_factor());
}
int32_t IoThreads(const v1::WorkerConfig& c) {
  return Or(c.runtime().io_threads(), kDefaultIoThreads, c.runtime().has_io_threads());
}
int32_t BatchMaxRecords(const v1::WorkerConfig& c) {
  return Or(c.runtime().batch_max_records(), kDefaultBatchMaxRecords,
            c.runtime().has_batch_max_records());
}
int64_t BatchMaxTimeMs(const v1::WorkerConfig& c) {
  return c.runtime().has_batch_max_time() ? DurationMs(c.runtime().batch_max_time())
                                          : kDefaultBatchMaxTimeMs;
}
int32_t MaxPendingPerPartition(const v1::WorkerConfig& c) {
  return Or(c.runtime().max_pending_per_partition(), kDefaultMaxPendingPerPartition,
            c.runtime().has_max_pending_per_partition());
}
int64_t DedupRetentionMs(const v1::WorkerConfig& c) {
  return c.runtime().has_dedup_retention() ? DurationMs(c.runtime().dedup_retention())
                                           : kDefaultDedupRetentionMs;
}
bool ResultsAsProtobuf(const v1::WorkerConfig& c) {
  return c.runtime().results_format() == "protobuf";
}
std::string KafkaGroupId(const v1::WorkerConfig& c) {
  auto it = c.kafka().find("group.id");
  return it == c.kafka().end() ? std::string(kDefaultGroupId) : it->second;
}
std::string BootstrapServers(const v1::WorkerConfig& c) {
  auto it = c.kafka().find("bootstrap.servers");
  return it == c.kafka().end() ? std::string() : Trim(it->second);
}
KafkaTransactions KafkaTransactionsMode(const v1::WorkerConfig& c) {
  if (c.kafka_transactions() == "on") return KafkaTransactions::kOn;
  if (c.kafka_transactions() == "off") return KafkaTransactions::kOff;
  return KafkaTransactions::kAuto;
}
bool DryRun(const v1::WorkerConfig& c) { return c.dry_run(); }
bool JsonLogs(const v1::WorkerConfig& c) { return c.log().format() == "json"; }
std::string LogLevel(const v1::WorkerConfig& c) {
  return c.log().level().empty() ? "info" : c.log().level();
}
int32_t MaxTargets(const v1::WorkerConfig& c) {
  return Or(c.commands().max_targets(), kDefaultMaxTargets, c.commands().has_max_targets());
}

}  // namespace fleetkeeper::app
