// What a handler reads of `safety` (docs/safety.md): whether a guard alarm rolls its workflows
// back, and which tags of its groups the guards and the blackout windows select by. The engine
// enforces the guards and the windows (handlers/engine/guards.h, blackout.h); these are the parts
// of them that belong to the handler contract, so that no handler folder includes the engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"

namespace fleetkeeper::handlers {

// The handlers that can roll back per instance on a guard alarm; the others always pause.
inline constexpr std::string_view kGuardRollbackHandlers[] = {"ami_rollout", "patch"};
bool CanRollBackOnGuardAlarm(std::string_view handler);

// Whether a guard alarm in ALARM rolls back the workflows of `handler` (a handler's name) instead
// of pausing them: safety.on_guard_alarm_per_handler, else safety.on_guard_alarm, for the handlers
// that can roll back (kGuardRollbackHandlers).
bool RollsBackOnGuardAlarm(const v1::SafetyConfig& safety, std::string_view handler);

// The tag keys of the guards that name their alarms by a tag on the group
// (`{tag: "fleetkeeper:guard-alarms"}`), in config order.
std::vector<std::string> GuardTagKeys(const v1::SafetyConfig& safety);

// The tag keys the blackout windows select by (`safety.blackout[].tags`), in config order.
std::vector<std::string> BlackoutTagKeys(const v1::SafetyConfig& safety);

// The tag keys a workflow records of its groups (`tagged_guards`, handlers/group_guards.h): the
// guards' (GuardTagKeys) and the blackout windows' (BlackoutTagKeys).
std::vector<std::string> GroupTagKeys(const v1::SafetyConfig& safety);

// The AWS actions the guards call: elasticloadbalancing:DescribeTags when groups' tags are read,
// cloudwatch:DescribeAlarms when the fallback reads alarms.
std::vector<std::string> AlarmGuardPermissions(const v1::WorkerConfig& config);

}  // namespace fleetkeeper::handlers
