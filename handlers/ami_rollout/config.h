// The AMI rollout handler's view of its configuration (`handlers.ami_rollout`, DESIGN.md
// "Configuration"). Built once from the worker config; the environment variables of the original
// Lambda (EXCLUDED_ASGS, EXCLUDED_INSTANCES, ASG_CONFIGURATIONS) were merged in by the loader.
// Defaults are applied here again so that a hand-built config (tests) behaves like a loaded one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fleetkeeper/v1/ami_rollout.pb.h"
#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers::ami_rollout {

enum class RefreshInProgressPolicy { kWait, kCancelAndRestart, kReject };

enum class ReplacementStrategy { kRelaunch, kReplaceRootVolume };

// Defaults of handlers.ami_rollout (docs/configuration.md): filled in by the factory's
// ApplyDefaults, and what RolloutConfig falls back to for a hand-built config.
inline constexpr int32_t kDefaultMaxConcurrency = 2;
inline constexpr int32_t kDefaultMaxUnavailable = 1;
inline constexpr int64_t kDefaultStepTimeoutMs = 15 * 60 * 1000;
// Between two looks at AWS while waiting (a signal wakes the workflow earlier).
inline constexpr int64_t kDefaultPollIntervalMs = 5000;

// Tag keys the rollout reads.
inline constexpr char kParameterTag[] = "fleetkeeper:ami-parameter";
inline constexpr char kExcludeTag[] = "fleetkeeper:exclude";
// An instance's own strategy (relaunch | replace-root-volume) over replacement.strategy.
inline constexpr char kStrategyTag[] = "fleetkeeper:replacement-strategy";

struct RolloutConfig {
  std::vector<v1::ParameterBinding> bindings;
  std::set<std::string> excluded_asgs;
  std::set<std::string> excluded_instances;
  v1::RefreshPreferences refresh_defaults;
  std::map<std::string, v1::RefreshPreferences> asg_configurations;
  bool pin_before_refresh = false;
  RefreshInProgressPolicy refresh_in_progress = RefreshInProgressPolicy::kWait;
  ReplacementStrategy strategy = ReplacementStrategy::kRelaunch;
  int32_t max_concurrency = kDefaultMaxConcurrency;
  int32_t max_unavailable = kDefaultMaxUnavailable;
  int64_t keep_old_for_ms = 0;
  bool attach_live = false;
  int64_t step_timeout_ms = kDefaultStepTimeoutMs;
  std::string metrics_namespace;
  // safety.on_guard_alarm rolls ami_rollout back (handlers/engine/guards.h): an instance refresh
  // under way is then rolled back or cancelled.
  bool rolls_back_on_guard_alarm = false;
  int64_t poll_interval_ms = kDefaultPollIntervalMs;
  // The tag keys the safety guards read on the groups: guard alarms named by a tag, blackout
  // windows by tag (GroupTagKeys, handlers/group_guards.h).
  std::vector<std::string> group_tag_keys;

  static RolloutConfig From(const v1::WorkerConfig& worker);

  // asg_configurations[asg] over refresh_defaults, key by key (a list is replaced, not appended);
  // the Lambda's `alarms` shorthand folded into AlarmSpecification.Alarms.
  v1::RefreshPreferences EffectivePreferences(const std::string& asg) const;

  // ASGs / instances the config binds to `parameter`.
  std::set<std::string> BoundAsgs(const std::string& parameter) const;
  std::set<std::string> BoundInstances(const std::string& parameter) const;
};

// Moves the Lambda's `alarms` shorthand into AlarmSpecification.Alarms (no duplicates).
void FoldAlarms(v1::RefreshPreferences& prefs);
// The same for refresh_defaults and every asg_configurations entry.
void FoldAlarms(v1::AmiRolloutConfig& ami_rollout);

// Replaces in `target` every field set in `overlay`; a repeated field or sub-message is replaced
// whole, as ASG_CONFIGURATIONS users expect ("CheckpointPercentages": [50] means only 50).
void OverlayPreferences(const v1::RefreshPreferences& overlay, v1::RefreshPreferences& target);

// The refresh preferences for one ASG: asg_configurations[asg] over refresh_defaults, as
// RolloutConfig::EffectivePreferences.
v1::RefreshPreferences EffectiveRefreshPreferences(const v1::AmiRolloutConfig& ami_rollout,
                                                   const std::string& asg);

const char* ToString(RefreshInProgressPolicy policy);
const char* ToString(ReplacementStrategy strategy);
// "relaunch" | "replace-root-volume"; nullopt for anything else.
std::optional<ReplacementStrategy> ParseStrategy(const std::string& name);

}  // namespace fleetkeeper::handlers::ami_rollout
