#include "handlers/safety_config.h"

#include <algorithm>
#include <iterator>

#include "common/duration.h"

namespace fleetkeeper::handlers {

bool CanRollBackOnGuardAlarm(std::string_view handler) {
  return std::find(std::begin(kGuardRollbackHandlers), std::end(kGuardRollbackHandlers), handler) !=
         std::end(kGuardRollbackHandlers);
}

bool RollsBackOnGuardAlarm(const v1::SafetyConfig& safety, std::string_view handler) {
  // A handler's own entry (validation allows rollback only for those that can), else the default
  // for the handlers that can.
  auto it = safety.on_guard_alarm_per_handler().find(std::string(handler));
  if (it != safety.on_guard_alarm_per_handler().end()) return it->second == "rollback";
  return CanRollBackOnGuardAlarm(handler) && safety.on_guard_alarm() == "rollback";
}

std::vector<std::string> GuardTagKeys(const v1::SafetyConfig& safety) {
  std::vector<std::string> out;
  for (const auto& g : safety.guards()) {
    if (!g.tag().empty() && std::find(out.begin(), out.end(), g.tag()) == out.end()) {
      out.push_back(g.tag());
    }
  }
  return out;
}

std::vector<std::string> BlackoutTagKeys(const v1::SafetyConfig& safety) {
  std::vector<std::string> out;
  for (const auto& w : safety.blackout()) {
    for (const auto& [key, value] : w.tags()) {
      if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
    }
  }
  return out;
}

std::vector<std::string> GroupTagKeys(const v1::SafetyConfig& safety) {
  std::vector<std::string> out = GuardTagKeys(safety);
  for (auto& key : BlackoutTagKeys(safety)) {
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
  }
  return out;
}

std::vector<std::string> AlarmGuardPermissions(const v1::WorkerConfig& config) {
  const auto& safety = config.safety();
  std::vector<std::string> out;
  // A target group's tags (an Auto Scaling group's come with DescribeAutoScalingGroups, which the
  // handlers reading them declare already).
  if (!GroupTagKeys(safety).empty()) out.push_back("elasticloadbalancing:DescribeTags");
  if (safety.guards_size() > 0 && DurationMs(safety.guard_poll_interval()) > 0) {
    out.push_back("cloudwatch:DescribeAlarms");
  }
  return out;
}

}  // namespace fleetkeeper::handlers
