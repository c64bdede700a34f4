#include "handlers/ami_rollout/config.h"

namespace fleetkeeper::handlers::ami_rollout {
namespace {

int64_t DurationMs(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

// Replaces in `target` every field set in `overlay`; a repeated field or sub-message is replaced
// whole, as ASG_CONFIGURATIONS users expect ("CheckpointPercentages": [50] means only 50).
void Overlay(const v1::RefreshPreferences& overlay, v1::RefreshPreferences& target) {
  const auto* reflection = overlay.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(overlay, &fields);
  for (const auto* field : fields) target.GetReflection()->ClearField(&target, field);
  target.MergeFrom(overlay);
}

void FoldAlarms(v1::RefreshPreferences& prefs) {
  for (const auto& alarm : prefs.alarms()) {
    auto* alarms = prefs.mutable_alarm_specification()->mutable_alarms();
    bool present = false;
    for (const auto& a : *alarms) present = present || a == alarm;
    if (!present) *alarms->Add() = alarm;
  }
  prefs.clear_alarms();
}

}  // namespace

RolloutConfig RolloutConfig::From(const v1::WorkerConfig& worker) {
  const v1::AmiRolloutConfig& c = worker.handlers().ami_rollout();
  RolloutConfig out;
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
  if (c.has_poll_interval() && DurationMs(c.poll_interval()) > 0) {
    out.poll_interval_ms = DurationMs(c.poll_interval());
  }
  return out;
}

v1::RefreshPreferences RolloutConfig::EffectivePreferences(const std::string& asg) const {
  v1::RefreshPreferences prefs = refresh_defaults;
  FoldAlarms(prefs);
  auto it = asg_configurations.find(asg);
  if (it != asg_configurations.end()) {
    v1::RefreshPreferences overlay = it->second;
    FoldAlarms(overlay);
    Overlay(overlay, prefs);
  }
  return prefs;
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
    case RefreshInProgressPolicy::kWait: return "wait";
    case RefreshInProgressPolicy::kCancelAndRestart: return "cancel-and-restart";
    case RefreshInProgressPolicy::kReject: return "reject";
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
