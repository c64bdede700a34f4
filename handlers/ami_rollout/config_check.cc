#include "handlers/ami_rollout/config_check.h"

#include <algorithm>
#include <map>

#include "handlers/ami_rollout/config.h"
#include "handlers/handler.h"

namespace fleetkeeper::handlers::ami_rollout {

void ApplyDefaults(v1::AmiRolloutConfig& ami) {
  FoldAlarms(ami);
  if (!ami.has_enabled()) ami.set_enabled(true);
  if (!ami.has_pin_before_refresh()) ami.set_pin_before_refresh(false);
  if (ami.refresh_in_progress().empty()) ami.set_refresh_in_progress("wait");
  auto* rep = ami.mutable_replacement();
  if (rep->strategy().empty()) rep->set_strategy("relaunch");
  if (!rep->has_max_concurrency()) rep->set_max_concurrency(kDefaultMaxConcurrency);
  if (!rep->has_max_unavailable()) rep->set_max_unavailable(kDefaultMaxUnavailable);
  if (!rep->has_keep_old_for()) *rep->mutable_keep_old_for() = DurationOfMs(0);
  if (!rep->has_attach_live()) rep->set_attach_live(false);
  if (!rep->has_step_timeout()) *rep->mutable_step_timeout() = DurationOfMs(kDefaultStepTimeoutMs);
}

void ValidateRefreshPreferences(const v1::RefreshPreferences& r, const std::string& p,
                                ConfigChecker& check) {
  if (r.has_min_healthy_percentage()) {
    check.InRange(ChildPath(p, "MinHealthyPercentage"), r.min_healthy_percentage(), 0, 100);
  }
  if (r.has_max_healthy_percentage()) {
    check.InRange(ChildPath(p, "MaxHealthyPercentage"), r.max_healthy_percentage(), 100, 200);
  }
  if (r.has_min_healthy_percentage() && r.has_max_healthy_percentage() &&
      r.max_healthy_percentage() - r.min_healthy_percentage() > 100) {
    check.Fail(ChildPath(p, "MaxHealthyPercentage"),
               "Auto Scaling allows at most 100 between MinHealthyPercentage and "
               "MaxHealthyPercentage");
  }
  if (r.has_instance_warmup()) {
    check.AtLeast(ChildPath(p, "InstanceWarmup"), r.instance_warmup(), 0);
  }
  const std::string checkpoints = ChildPath(p, "CheckpointPercentages");
  for (int i = 0; i < r.checkpoint_percentages_size(); ++i) {
    const std::string path = IndexPath(checkpoints, static_cast<size_t>(i));
    check.InRange(path, r.checkpoint_percentages(i), 1, 100);
    if (i > 0 && r.checkpoint_percentages(i) <= r.checkpoint_percentages(i - 1)) {
      check.Fail(path, "checkpoints must be in ascending order");
    }
  }
  if (r.has_checkpoint_delay()) {
    check.InRange(ChildPath(p, "CheckpointDelay"), r.checkpoint_delay(), 0, 172800);
  }
  if (!r.scale_in_protected_instances().empty()) {
    check.OneOfValues(ChildPath(p, "ScaleInProtectedInstances"), r.scale_in_protected_instances(),
                      {"Refresh", "Ignore", "Wait"});
  }
  if (!r.standby_instances().empty()) {
    check.OneOfValues(ChildPath(p, "StandbyInstances"), r.standby_instances(),
                      {"Terminate", "Ignore", "Wait"});
  }
  check.NonEmptyNames(ChildPath(ChildPath(p, "AlarmSpecification"), "Alarms"),
                      r.alarm_specification().alarms());
}

void Validate(const v1::AmiRolloutConfig& a, const std::string& p, ConfigChecker& check) {
  for (int i = 0; i < a.bindings_size(); ++i) {
    const auto& b = a.bindings(i);
    const std::string bp = IndexPath(ChildPath(p, "bindings"), static_cast<size_t>(i));
    if (IsBlank(b.parameter())) {
      check.Fail(ChildPath(bp, "parameter"), "required: the SSM parameter that holds the AMI id");
    }
    if (b.asgs_size() == 0 && b.instances_size() == 0) {
      check.Fail(bp, "names no asgs and no instances");
    }
    check.NonEmptyNames(ChildPath(bp, "asgs"), b.asgs());
    check.InstanceIds(ChildPath(bp, "instances"), b.instances());
  }
  check.NonEmptyNames(ChildPath(p, "excluded_asgs"), a.excluded_asgs());
  check.InstanceIds(ChildPath(p, "excluded_instances"), a.excluded_instances());
  ValidateRefreshPreferences(a.refresh_defaults(), ChildPath(p, "refresh_defaults"), check);
  // Sorted, so that errors come out in a stable order.
  const std::map<std::string, v1::RefreshPreferences> per_asg(a.asg_configurations().begin(),
                                                              a.asg_configurations().end());
  for (const auto& [asg, prefs] : per_asg) {
    const std::string ap = KeyPath(ChildPath(p, "asg_configurations"), asg);
    if (IsBlank(asg)) check.Fail(ap, "the ASG name must not be empty");
    ValidateRefreshPreferences(prefs, ap, check);
    if (std::find(a.excluded_asgs().begin(), a.excluded_asgs().end(), asg) !=
        a.excluded_asgs().end()) {
      check.Warn(ap, "configured, but the ASG is also in excluded_asgs, which wins");
    }
  }
  check.OneOfValues(ChildPath(p, "refresh_in_progress"), a.refresh_in_progress(),
                    {"wait", "cancel-and-restart", "reject"});
  const auto& r = a.replacement();
  const std::string rp = ChildPath(p, "replacement");
  check.OneOfValues(ChildPath(rp, "strategy"), r.strategy(), {"relaunch", "replace-root-volume"});
  check.AtLeast(ChildPath(rp, "max_concurrency"), r.max_concurrency(), 1);
  check.AtLeast(ChildPath(rp, "max_unavailable"), r.max_unavailable(), 1);
  check.Positive(ChildPath(rp, "step_timeout"), r.step_timeout());
  check.MetricsNamespace(ChildPath(p, "metrics_namespace"), a.metrics_namespace());
  // Unset means the handler's default; set, it must be usable as a poll period.
  if (a.has_poll_interval()) check.Positive(ChildPath(p, "poll_interval"), a.poll_interval());
}

}  // namespace fleetkeeper::handlers::ami_rollout
