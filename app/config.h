// Loading, defaulting and validating the worker configuration (DESIGN.md "Configuration";
// every key is described in docs/configuration.md).
//
// Pipeline: YAML text -> v1::WorkerConfig (app/yaml_to_proto.h) -> documented defaults filled in
// -> validation -> environment overrides (each variable checked where it is read). Every error of
// every stage is collected, not just the first, and names its key path (or environment variable).
//
// Defaults are filled into the message at load time: a LoadedConfig's config has every defaulted
// key set, so consumers read fields directly. The accessors below return the same defaults for a
// message that did not come from the loader (hand-built in a test), so nobody re-implements them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/duration.pb.h>

#include "app/yaml_to_proto.h"
#include "common/error.h"
#include "handlers/handler.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::app {

// Where environment variables come from; a seam so tests never touch the process environment.
struct Environment {
  std::function<std::optional<std::string>(const std::string&)> get;

  static Environment Process();
  static Environment FromMap(std::map<std::string, std::string> variables);
};

struct LoadedConfig {
  v1::WorkerConfig config;
  // Valid but probably unintended, or worth saying at start (the embedded broker, dry run).
  std::vector<std::string> warnings;
};

// Parses YAML text (or a file), fills defaults, validates, applies environment overrides. On any
// error, Error{kInvalidInput} whose message lists every error, one per line "path: message".
// An empty document is a valid configuration: every key has a default.
Result<LoadedConfig> LoadConfigFile(const std::string& path, const Environment& env);
Result<LoadedConfig> LoadConfigText(std::string_view yaml, const Environment& env);

// Every error of LoadConfigText, structured, for `validate-config`; empty when the config is valid.
std::vector<ConfigError> ValidateConfigText(std::string_view yaml, const Environment& env);
// As above for a file; an unreadable file is one error with an empty path.
std::vector<ConfigError> ValidateConfigFile(const std::string& path, const Environment& env);

// Fills every unset key that has a documented default. Idempotent. Keys set by the user are kept.
void ApplyDefaults(v1::WorkerConfig& config);

// The configuration as YAML with secrets (kafka properties whose name contains "password",
// "secret" or "sasl.oauthbearer.config") replaced by "<redacted>", for `doctor`. Loading the output
// gives the same configuration, apart from the redacted values.
std::string RedactedYaml(const v1::WorkerConfig& config);

using handlers::DurationMs;

// ---- Defaults of the worker's own keys (DESIGN.md), shared by ApplyDefaults and the accessors;
// each handler's are in its folder ----
inline constexpr std::string_view kDefaultGroupId = "fleetkeeper";
inline constexpr std::string_view kDefaultWorkTopic = "fleet.work";
inline constexpr std::string_view kDefaultResultsTopic = "fleet.results";
inline constexpr std::string_view kDefaultDlqTopic = "fleet.dlq";
inline constexpr std::string_view kDefaultStateTopic = "fleet.state";
inline constexpr std::string_view kDefaultControlTopic = "fleet.control";
inline constexpr int32_t kDefaultPartitions = 12;
inline constexpr int64_t kDefaultMaxMessageBytes = 4 * 1024 * 1024;
inline constexpr int32_t kDefaultReplicationFactor = -1;  // the broker's default.replication.factor
// Steps block on AWS round trips (tens of ms against a real endpoint), so the executor is sized for
// calls in flight, not for cores: 32 idle threads cost nothing, 8 capped an alarm storm's recovery.
inline constexpr int32_t kDefaultIoThreads = 32;
inline constexpr int32_t kDefaultBatchMaxRecords = 30000;
inline constexpr int64_t kDefaultBatchMaxTimeMs = 300;
inline constexpr int32_t kDefaultMaxPendingPerPartition = 1000;
inline constexpr int64_t kDefaultDedupRetentionMs = 7LL * 24 * 3600 * 1000;
inline constexpr int32_t kDefaultMaxTargets = 500;

// ---- Accessors: the field when set, else its default ----
// fleet.events, fleet.commands
std::vector<std::string> InputTopics(const v1::WorkerConfig& config);
std::string WorkTopic(const v1::WorkerConfig& config);
std::string ResultsTopic(const v1::WorkerConfig& config);
std::string DlqTopic(const v1::WorkerConfig& config);
std::string StateTopic(const v1::WorkerConfig& config);
std::string ControlTopic(const v1::WorkerConfig& config);
bool CreateTopics(const v1::WorkerConfig& config);               // true
int32_t TopicPartitions(const v1::WorkerConfig& config);         // 12
int64_t MaxMessageBytes(const v1::WorkerConfig& config);         // 4 MiB
int32_t ReplicationFactor(const v1::WorkerConfig& config);       // -1 = broker default
int32_t IoThreads(const v1::WorkerConfig& config);               // 32
int32_t BatchMaxRecords(const v1::WorkerConfig& config);         // 30000
int64_t BatchMaxTimeMs(const v1::WorkerConfig& config);          // 300
int32_t MaxPendingPerPartition(const v1::WorkerConfig& config);  // 1000
int64_t DedupRetentionMs(const v1::WorkerConfig& config);        // 7 days
bool ResultsAsProtobuf(const v1::WorkerConfig& config);          // false: JSON
std::string KafkaGroupId(const v1::WorkerConfig& config);        // fleetkeeper
// Empty: no brokers configured, so the worker starts the embedded broker.
std::string BootstrapServers(const v1::WorkerConfig& config);
enum class KafkaTransactions { kAuto, kOn, kOff };
KafkaTransactions KafkaTransactionsMode(const v1::WorkerConfig& config);  // auto
bool DryRun(const v1::WorkerConfig& config);                              // false
bool JsonLogs(const v1::WorkerConfig& config);                            // false: text
std::string LogLevel(const v1::WorkerConfig& config);                     // info
int32_t MaxTargets(const v1::WorkerConfig& config);                       // 500

}  // namespace fleetkeeper::app
