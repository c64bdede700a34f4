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
  int32_t max_concurrency = 2;
  int32_t max_unavailable = 1;
  int64_t keep_old_for_ms = 0;
  bool attach_live = false;
  int64_t step_timeout_ms = 15 * 60 * 1000;
  std::string metrics_namespace;
  // Between two looks at AWS while waiting (a signal wakes the workflow earlier).
  int64_t poll_interval_ms = 5000;

  static RolloutConfig From(const v1::WorkerConfig& worker);

  // asg_configurations[asg] over refresh_defaults, key by key (a list is replaced, not appended);
  // the Lambda's `alarms` shorthand folded into AlarmSpecification.Alarms.
  v1::RefreshPreferences EffectivePreferences(const std::string& asg) const;

  // ASGs / instances the config binds to `parameter`.
  std::set<std::string> BoundAsgs(const std::string& parameter) const;
  std::set<std::string> BoundInstances(const std::string& parameter) const;
};

const char* ToString(RefreshInProgressPolicy policy);
const char* ToString(ReplacementStrategy strategy);
// "relaunch" | "replace-root-volume"; nullopt for anything else.
std::optional<ReplacementStrategy> ParseStrategy(const std::string& name);

}  // namespace fleetkeeper::handlers::ami_rollout
