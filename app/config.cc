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
#include "handlers/registry.h"

namespace fleetkeeper::app {
namespace {

using google::protobuf::Duration;

constexpr std::string_view kRedacted = "<redacted>";
constexpr char kHandlers[] = "handlers";

// ---- Small helpers ----

Duration DurationOfMs(int64_t ms) {
  Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return d;
}

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
    OneOfValues("kafka_transactions", c.kafka_transactions(), {"auto", "on", "off"});
    OneOfValues("log.format", c.log().format(), {"text", "json"});
    OneOfValues("log.level", c.log().level(), {"trace", "debug", "info", "warn", "error"});
    AmiRollout(c.handlers().ami_rollout(), ChildPath(kHandlers, "ami_rollout"));
    SelfHealing(c.handlers().self_healing(), ChildPath(kHandlers, "self_healing"));
    for (const handlers::HandlerFactory* factory : handlers::HandlerCatalog()) {
      factory->Validate(c, *this);
    }
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
      Fail("aws.default_account", "expected a 12-digit account id, got " +
                                      Quoted(a.default_account()));
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
        Fail(role, "expected an IAM role ARN such as arn:aws:iam::111122223333:role/fleetkeeper, "
                   "got " + Quoted(account.role_arn()));
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

  // Paths use the AWS spelling (the json_name), as the documentation and ASG_CONFIGURATIONS do.
  void RefreshPreferences(const v1::RefreshPreferences& r, const std::string& p) {
    if (r.has_min_healthy_percentage()) {
      InRange(ChildPath(p, "MinHealthyPercentage"), r.min_healthy_percentage(), 0, 100);
    }
    if (r.has_max_healthy_percentage()) {
      InRange(ChildPath(p, "MaxHealthyPercentage"), r.max_healthy_percentage(), 100, 200);
    }
    if (r.has_min_healthy_percentage() && r.has_max_healthy_percentage() &&
        r.max_healthy_percentage() - r.min_healthy_percentage() > 100) {
      Fail(ChildPath(p, "MaxHealthyPercentage"),
           "Auto Scaling allows at most 100 between MinHealthyPercentage and "
           "MaxHealthyPercentage");
    }
    if (r.has_instance_warmup()) AtLeast(ChildPath(p, "InstanceWarmup"), r.instance_warmup(), 0);
    const std::string checkpoints = ChildPath(p, "CheckpointPercentages");
    for (int i = 0; i < r.checkpoint_percentages_size(); ++i) {
      const std::string path = IndexPath(checkpoints, static_cast<size_t>(i));
      InRange(path, r.checkpoint_percentages(i), 1, 100);
      if (i > 0 && r.checkpoint_percentages(i) <= r.checkpoint_percentages(i - 1)) {
        Fail(path, "checkpoints must be in ascending order");
      }
    }
    if (r.has_checkpoint_delay()) {
      InRange(ChildPath(p, "CheckpointDelay"), r.checkpoint_delay(), 0, 172800);
    }
    if (!r.scale_in_protected_instances().empty()) {
      OneOfValues(ChildPath(p, "ScaleInProtectedInstances"), r.scale_in_protected_instances(),
                  {"Refresh", "Ignore", "Wait"});
    }
    if (!r.standby_instances().empty()) {
      OneOfValues(ChildPath(p, "StandbyInstances"), r.standby_instances(),
                  {"Terminate", "Ignore", "Wait"});
    }
    NonEmptyNames(ChildPath(ChildPath(p, "AlarmSpecification"), "Alarms"),
                  r.alarm_specification().alarms());
  }

  void AmiRollout(const v1::AmiRolloutConfig& a, const std::string& p) {
    for (int i = 0; i < a.bindings_size(); ++i) {
      const auto& b = a.bindings(i);
      const std::string bp = IndexPath(ChildPath(p, "bindings"), static_cast<size_t>(i));
      if (Trim(b.parameter()).empty()) {
        Fail(ChildPath(bp, "parameter"), "required: the SSM parameter that holds the AMI id");
      }
      if (b.asgs_size() == 0 && b.instances_size() == 0) {
        Fail(bp, "names no asgs and no instances");
      }
      NonEmptyNames(ChildPath(bp, "asgs"), b.asgs());
      InstanceIds(ChildPath(bp, "instances"), b.instances());
    }
    NonEmptyNames(ChildPath(p, "excluded_asgs"), a.excluded_asgs());
    InstanceIds(ChildPath(p, "excluded_instances"), a.excluded_instances());
    RefreshPreferences(a.refresh_defaults(), ChildPath(p, "refresh_defaults"));
    const std::map<std::string, v1::RefreshPreferences> per_asg(a.asg_configurations().begin(),
                                                                a.asg_configurations().end());
    for (const auto& [asg, prefs] : per_asg) {
      const std::string ap = KeyPath(ChildPath(p, "asg_configurations"), asg);
      if (Trim(asg).empty()) Fail(ap, "the ASG name must not be empty");
      RefreshPreferences(prefs, ap);
      if (Contains(a.excluded_asgs(), asg)) {
        Warn(ap, "configured, but the ASG is also in excluded_asgs, which wins");
      }
    }
    OneOfValues(ChildPath(p, "refresh_in_progress"), a.refresh_in_progress(),
                {"wait", "cancel-and-restart", "reject"});
    const auto& r = a.replacement();
    const std::string rp = ChildPath(p, "replacement");
    OneOfValues(ChildPath(rp, "strategy"), r.strategy(), {"relaunch", "replace-root-volume"});
    AtLeast(ChildPath(rp, "max_concurrency"), r.max_concurrency(), 1);
    AtLeast(ChildPath(rp, "max_unavailable"), r.max_unavailable(), 1);
    Positive(ChildPath(rp, "step_timeout"), r.step_timeout());
    MetricsNamespace(ChildPath(p, "metrics_namespace"), a.metrics_namespace());
    // Unset means the handler's default; set, it must be usable as a poll period.
    if (a.has_poll_interval()) Positive(ChildPath(p, "poll_interval"), a.poll_interval());
  }

  void SelfHealing(const v1::SelfHealingConfig& s, const std::string& p) {
    std::map<std::string, size_t> names;
    for (int i = 0; i < s.rules_size(); ++i) {
      const auto index = static_cast<size_t>(i);
      const std::string rp = IndexPath(ChildPath(p, "rules"), index);
      const auto& rule = s.rules(i);
      if (Trim(rule.name()).empty()) {
        Fail(ChildPath(rp, "name"), "required: results and throttles are keyed by rule name");
      } else if (auto [it, inserted] = names.emplace(rule.name(), index); !inserted) {
        Fail(ChildPath(rp, "name"), Quoted(rule.name()) + " is already the name of " +
                                        IndexPath(ChildPath(p, "rules"), it->second));
      }
      Rule(rule, rp, s);
    }
    const std::string bp = ChildPath(p, "circuit_breaker");
    AtLeast(ChildPath(bp, "max_actions"), s.circuit_breaker().max_actions(), 1);
    Positive(ChildPath(bp, "within"), s.circuit_breaker().within());
    MetricsNamespace(ChildPath(ChildPath(p, "metrics"), "namespace"), s.metrics().namespace_());
    if (!s.notify_topic_arn().empty() && !IsSnsTopicArn(s.notify_topic_arn())) {
      Fail(ChildPath(p, "notify_topic_arn"),
           "expected an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:alerts, got " +
               Quoted(s.notify_topic_arn()));
    }
    NonEmptyNames(ChildPath(p, "excluded_resources"), s.excluded_resources());
  }

  void Rule(const v1::HealingRule& rule, const std::string& rp, const v1::SelfHealingConfig& s) {
    const auto& m = rule.match();
    OneOfValues(ChildPath(ChildPath(rp, "match"), "state"), m.state(),
                {"OK", "ALARM", "INSUFFICIENT_DATA"});
    if (m.alarm_name().empty() && m.namespace_().empty() && m.metric_name().empty() &&
        m.dimensions().empty()) {
      Warn(ChildPath(rp, "match"), "matches every alarm in state " + m.state());
    }
    const auto& a = rule.action();
    const std::string ap = ChildPath(rp, "action");
    const std::string type_path = ChildPath(ap, "type");
    if (a.type().empty()) {
      Fail(type_path, "required: one of scale_out | replace_instance | reboot_instance | "
                      "ecs_force_deploy | stop_deployment | notify");
    } else {
      OneOfValues(type_path, a.type(),
                  {"scale_out", "replace_instance", "reboot_instance", "ecs_force_deploy",
                   "stop_deployment", "notify"});
    }
    if (a.type() == "scale_out") {
      if (a.has_by() == a.has_to()) {
        Fail(ap, "scale_out needs exactly one of by (add N) or to (at least N)");
      }
      if (a.has_by()) AtLeast(ChildPath(ap, "by"), a.by(), 1);
      if (a.has_to()) AtLeast(ChildPath(ap, "to"), a.to(), 1);
    } else {
      if (a.has_by()) Fail(ChildPath(ap, "by"), "only for type scale_out");
      if (a.has_to()) Fail(ChildPath(ap, "to"), "only for type scale_out");
    }
    if (a.type() != "ecs_force_deploy") {
      if (!a.cluster().empty()) Fail(ChildPath(ap, "cluster"), "only for type ecs_force_deploy");
      if (!a.service().empty()) Fail(ChildPath(ap, "service"), "only for type ecs_force_deploy");
    }
    if (a.type() != "stop_deployment") {
      if (!a.application().empty()) {
        Fail(ChildPath(ap, "application"), "only for type stop_deployment");
      }
      if (!a.deployment_group().empty()) {
        Fail(ChildPath(ap, "deployment_group"), "only for type stop_deployment");
      }
    } else if (!a.deployment_group().empty() && a.application().empty()) {
      Fail(ChildPath(ap, "application"), "required with deployment_group");
    }
    if (a.type() == "notify" && s.notify_topic_arn().empty()) {
      Fail(type_path, "notify needs handlers.self_healing.notify_topic_arn");
    }
    if (rule.has_threshold()) {
      const std::string tp = ChildPath(rp, "threshold");
      if (!rule.threshold().has_count()) {
        Fail(ChildPath(tp, "count"), "required: how many events within the window");
      } else {
        AtLeast(ChildPath(tp, "count"), rule.threshold().count(), 1);
      }
      if (!rule.threshold().has_within()) {
        Fail(ChildPath(tp, "within"), "required: the window the events must fall in");
      } else {
        Positive(ChildPath(tp, "within"), rule.threshold().within());
      }
    }
    Positive(ChildPath(rp, "verify_timeout"), rule.verify_timeout());
  }
};

// Moves the Lambda's `alarms` shorthand into AlarmSpecification.Alarms.
void NormalizeAlarms(v1::RefreshPreferences& prefs) {
  for (const auto& alarm : prefs.alarms()) {
    auto* alarms = prefs.mutable_alarm_specification()->mutable_alarms();
    if (!Contains(*alarms, alarm)) *alarms->Add() = alarm;
  }
  prefs.clear_alarms();
}

void NormalizeAlarms(v1::WorkerConfig& config) {
  auto* ami = config.mutable_handlers()->mutable_ami_rollout();
  NormalizeAlarms(*ami->mutable_refresh_defaults());
  for (auto& [asg, prefs] : *ami->mutable_asg_configurations()) NormalizeAlarms(prefs);
}

// Replaces in `target` every field that is set in `overlay` (lists and sub-messages whole).
void OverlayFields(const google::protobuf::Message& overlay, google::protobuf::Message& target) {
  const auto* reflection = overlay.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(overlay, &fields);
  for (const auto* field : fields) {
    target.GetReflection()->ClearField(&target, field);
  }
  target.MergeFrom(overlay);
}

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
      errors.push_back(ConfigError{IndexPath(variable, i),
                                   "not an EC2 instance id: " + Quoted(names[i]), 0});
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
    NormalizeAlarms(prefs);
    Validator validator(errors, warnings);
    validator.RefreshPreferences(prefs, path);
    if (errors.size() != before) continue;
    OverlayFields(prefs, (*ami.mutable_asg_configurations())[asg]);
    // Min and max may now come from different sources; their distance must still hold.
    const auto& merged = ami.asg_configurations().at(asg);
    if (merged.has_min_healthy_percentage() && merged.has_max_healthy_percentage() &&
        merged.max_healthy_percentage() - merged.min_healthy_percentage() > 100) {
      errors.push_back(ConfigError{
          path, "merged with the config file, MaxHealthyPercentage - MinHealthyPercentage " +
                    std::string("exceeds 100"), 0});
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
      errors.push_back(ConfigError{"FLEETKEEPER_DRY_RUN",
                                   "expected true, false, 1 or 0, got " + Quoted(*v), 0});
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
  NormalizeAlarms(out.config);
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
  return Environment{[vars = std::move(variables)](
                         const std::string& name) -> std::optional<std::string> {
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

  auto* ami = c.mutable_handlers()->mutable_ami_rollout();
  if (!ami->has_enabled()) ami->set_enabled(true);
  if (!ami->has_pin_before_refresh()) ami->set_pin_before_refresh(false);
  if (ami->refresh_in_progress().empty()) ami->set_refresh_in_progress("wait");
  auto* rep = ami->mutable_replacement();
  if (rep->strategy().empty()) rep->set_strategy("relaunch");
  if (!rep->has_max_concurrency()) rep->set_max_concurrency(kDefaultMaxConcurrency);
  if (!rep->has_max_unavailable()) rep->set_max_unavailable(kDefaultMaxUnavailable);
  if (!rep->has_keep_old_for()) *rep->mutable_keep_old_for() = DurationOfMs(0);
  if (!rep->has_attach_live()) rep->set_attach_live(false);
  if (!rep->has_step_timeout()) *rep->mutable_step_timeout() = DurationOfMs(kDefaultStepTimeoutMs);

  auto* heal = c.mutable_handlers()->mutable_self_healing();
  if (!heal->has_enabled()) heal->set_enabled(true);
  if (!heal->has_exempt_from_freeze()) heal->set_exempt_from_freeze(false);
  auto* breaker = heal->mutable_circuit_breaker();
  if (!breaker->has_max_actions()) breaker->set_max_actions(kDefaultBreakerMaxActions);
  if (!breaker->has_within()) *breaker->mutable_within() = DurationOfMs(kDefaultBreakerWindowMs);
  if (heal->metrics().namespace_().empty()) {
    heal->mutable_metrics()->set_namespace_(std::string(kDefaultHealingMetricsNamespace));
  }
  for (auto& rule : *heal->mutable_rules()) {
    if (rule.match().state().empty()) rule.mutable_match()->set_state("ALARM");
    if (!rule.has_repeat_while_alarm()) rule.set_repeat_while_alarm(false);
    if (!rule.has_continue_()) rule.set_continue_(false);
    if (!rule.has_verify_timeout()) {
      *rule.mutable_verify_timeout() = DurationOfMs(kDefaultVerifyTimeoutMs);
    }
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

v1::RefreshPreferences EffectiveRefreshPreferences(const v1::AmiRolloutConfig& ami_rollout,
                                                   const std::string& asg_name) {
  v1::RefreshPreferences prefs = ami_rollout.refresh_defaults();
  auto it = ami_rollout.asg_configurations().find(asg_name);
  if (it != ami_rollout.asg_configurations().end()) OverlayFields(it->second, prefs);
  NormalizeAlarms(prefs);
  return prefs;
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
bool AmiRolloutEnabled(const v1::WorkerConfig& c) {
  const auto& a = c.handlers().ami_rollout();
  return a.has_enabled() ? a.enabled() : true;
}
bool SelfHealingEnabled(const v1::WorkerConfig& c) {
  const auto& s = c.handlers().self_healing();
  return s.has_enabled() ? s.enabled() : true;
}

}  // namespace fleetkeeper::app
