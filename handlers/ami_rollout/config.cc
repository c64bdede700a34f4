#include "handlers/ami_rollout/config.h"

#include <algorithm>

#include "handlers/safety_config.h"
#include "handlers/handler.h"

namespace fleetkeeper::handlers::ami_rollout {
namespace {

// Folded copies of `defaults` and `overlay` (when there is one), the second over the first.
v1::RefreshPreferences Merged(v1::RefreshPreferences defaults,
                              const v1::RefreshPreferences* overlay) {
  FoldAlarms(defaults);
  if (overlay != nullptr) {
    v1::RefreshPreferences folded = *overlay;
    FoldAlarms(folded);
    OverlayPreferences(folded, defaults);
  }
  return defaults;
}

}  // namespace

void FoldAlarms(v1::RefreshPreferences& prefs) {
  for (const auto& alarm : prefs.alarms()) {
    auto* alarms = prefs.mutable_alarm_specification()->mutable_alarms();
    if (std::find(alarms->begin(), alarms->end(), alarm) == alarms->end()) *alarms->Add() = alarm;
  }
  prefs.clear_alarms();
}

void FoldAlarms(v1::AmiRolloutConfig& ami_rollout) {
  FoldAlarms(*ami_rollout.mutable_refresh_defaults());
  for (auto& [asg, prefs] : *ami_rollout.mutable_asg_configurations()) FoldAlarms(prefs);
}

void OverlayPreferences(const v1::RefreshPreferences& overlay, v1::RefreshPreferences& target) {
  const auto* reflection = overlay.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(overlay, &fields);
  for (const auto* field : fields) target.GetReflection()->ClearField(&target, field);
  target.MergeFrom(overlay);
}

v1::RefreshPreferences EffectiveRefreshPreferences(const v1::AmiRolloutConfig& ami_rollout,
                                                   const std::string& asg) {
  auto it = ami_rollout.asg_configurations().find(asg);
  return Merged(ami_rollout.refresh_defaults(),
                it == ami_rollout.asg_configurations().end() ? nullptr : &it->second);
}

RolloutConfig RolloutConfig::From(const v1::WorkerConfig& worker) {
  const v1::AmiRolloutConfig& c = worker.handlers().ami_rollout();
  RolloutConfig out;
  out.group_tag_keys = GroupTagKeys(worker.safety());
  out.bindings.assign(c.bindings().begin(), c.bindings().end());
  out.excluded_asgs.insert(c.excluded_asgs().begin(), c.excluded_asgs().end());
  out.excluded_instances.insert(c.excluded_instances().begin(), c.excluded_instances().end());
  out.refresh_defaults = c.refresh_defaults();
  for (const auto& [asg, prefs] : c.asg_configurations()) out.asg_configurations[asg] = prefs;
  out.pin_before_refresh = c.has_pin_before_refresh() && c.pin_before_refresh();
  if (c.refresh_in_progress() == "cancel-and-restart") {
    out.refresh_in_progress = RefreshInProgressPolicy::kCancelAndRestart;
  } else if (c.refresh_in_progress() == "reject") {
    out.refresh_in_progress = RefreshInProgressPolicy::kReject;
  }
  const auto& r = c.replacement();
  if (r.strategy() == "replace-root-volume") out.strategy = ReplacementStrategy::kReplaceRootVolume;
  if (r.has_max_concurrency() && r.max_concurrency() > 0) out.max_concurrency = r.max_concurrency();
  if (r.has_max_unavailable() && r.max_unavailable() > 0) out.max_unavailable = r.max_unavailable();
  if (r.has_keep_old_for()) out.keep_old_for_ms = DurationMs(r.keep_old_for());
  out.attach_live = r.has_attach_live() && r.attach_live();
  if (r.has_step_timeout() && DurationMs(r.step_timeout()) > 0) {
    out.step_timeout_ms = DurationMs(r.step_timeout());
  }
  out.metrics_namespace = c.metrics_namespace();
  out.rolls_back_on_guard_alarm = RollsBackOnGuardAlarm(worker.safety(), "ami_rollout");
  if (c.has_poll_interval() && DurationMs(c.poll_interval()) > 0) {
    out.poll_interval_ms = DurationMs(c.poll_interval());
  }
  return out;
}

v1::RefreshPreferences RolloutConfig::EffectivePreferences(const std::string& asg) const {
  auto it = asg_configurations.find(asg);
  return Merged(refresh_defaults, it == asg_configurations.end() ? nullptr : &it->second);
}

std::set<std::string> RolloutConfig::BoundAsgs(const std::string& parameter) const {
  std::set<std::string> out;
  for (const auto& b : bindings) {
    if (b.parameter() == parameter) out.insert(b.asgs().begin(), b.asgs().end());
  }
  return out;
}

std::set<std::string> RolloutConfig::BoundInstances(const std::string& parameter) const {
  std::set<std::string> out;
  for (const auto& b : bindings) {
    if (b.parameter() == parameter) out.insert(b.instances().begin(), b.instances().end());
  }
  return out;
}

const char* ToString(RefreshInProgressPolicy policy) {
  switch (policy) {
    case RefreshInProgressPolicy::kWait:
      return "wait";
    case RefreshInProgressPolicy::kCancelAndRestart:
      return "cancel-and-restart";
    case RefreshInProgressPolicy::kReject:
      return "reject";
  }
  return "wait";
}

const char* ToString(ReplacementStrategy strategy) {
  return strategy == ReplacementStrategy::kReplaceRootVolume ? "replace-root-volume" : "relaunch";
}

std::optional<ReplacementStrategy> ParseStrategy(const std::string& name) {
  if (name == "relaunch") return ReplacementStrategy::kRelaunch;
  if (name == "replace-root-volume") return ReplacementStrategy::kReplaceRootVolume;
  return std::nullopt;
}

}  // namespace fleetkeeper::handlers::ami_rollout
