#include "handlers/self_healing/healing_step.h"

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// scale_out

StepOutcome HealingStep::ScaleOutPlan() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kScaleOutPlan, "DescribeAutoScalingGroups", g.error());
  if (auto why = ExclusionOf(g->tags, "Auto Scaling group " + g->name); !why.empty()) {
    return Excluded(why);
  }
  RecordGroupTags("asg:" + g->name, g->tags);
  const auto& a = rule_.action();
  const int64_t desired = g->desired_capacity;
  int64_t target = a.has_to() ? a.to() : desired + (a.has_by() ? a.by() : 1);
  target = std::max(desired, std::min(target, g->max_size));
  if (target <= desired) {
    const std::string why =
        desired >= g->max_size
            ? fmt::format("no change: desired capacity {} is already at MaxSize {}", desired,
                          g->max_size)
            : fmt::format("no change: desired capacity {} is already at least {}", desired,
                          a.has_to() ? a.to() : target);
    return Done("succeeded", why, {MakeAction(Res(), "SetDesiredCapacity", "skipped", why)});
  }
  const std::string plan = fmt::format("set desired capacity of {} from {} to {} (MaxSize {})",
                                       g->name, desired, target, g->max_size);
  if (dry_run()) return DryRun(plan);
  // Checkpointed before kScaleOutSet runs: a redelivered or resumed workflow sets this same
  // absolute value instead of adding `by` again.
  action_.set_target_capacity(target);
  action_.set_capacity_before(desired);
  action_.set_max_size(g->max_size);
  return Next(step::kScaleOutSet);
}

StepOutcome HealingStep::ScaleOutSet() {
  if (!action_.has_target_capacity()) {
    return Failed("internal: scale_out.set without a planned target (checkpoint damaged)");
  }
  const int64_t target = action_.target_capacity();
  // Re-read before acting: never lower a capacity that someone (or this step, before a crash)
  // already raised to the target or beyond.
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kScaleOutSet, "DescribeAutoScalingGroups", g.error());
  std::vector<v1::Action> actions;
  if (g->desired_capacity >= target) {
    actions.push_back(MakeAction(
        Res(), "SetDesiredCapacity", "skipped",
        fmt::format("desired capacity is already {} (target {})", g->desired_capacity, target)));
  } else {
    aws::SetDesiredCapacityRequest r;
    r.asg_name = action_.asg_name();
    r.desired_capacity = target;
    r.honor_cooldown = false;
    if (auto st = ctx_.aws().autoscaling->SetDesiredCapacity(r); !st.ok()) {
      return AwsError(step::kScaleOutSet, "SetDesiredCapacity", st.error());
    }
    actions.push_back(
        MakeAction(Res(), "SetDesiredCapacity", "ok",
                   fmt::format("desired capacity {} -> {}", g->desired_capacity, target)));
  }
  StartVerifying();
  // Verify at once: a group that is already there needs no further checkpoint.
  return ScaleOutVerify(std::move(actions));
}

StepOutcome HealingStep::ScaleOutVerify(std::vector<v1::Action> actions) {
  auto g = Group(action_.asg_name());
  if (!g.ok()) {
    if (!actions.empty()) return WaitFor(step::kScaleOutVerify, PollMs(), std::move(actions));
    return AwsError(step::kScaleOutVerify, "DescribeAutoScalingGroups", g.error());
  }
  const int64_t target = action_.target_capacity();
  const int64_t in_service = CountInService(*g);
  const std::string seen =
      fmt::format("desired {}, {} InService (target {})", g->desired_capacity, in_service, target);
  if (g->desired_capacity >= target && in_service >= target) {
    const std::string detail =
        fmt::format("scaled {} from {} to {}; verified: {} instances InService", g->name,
                    action_.capacity_before(), target, in_service);
    actions.push_back(MakeAction(Res(), "verify", "ok", seen));
    return Done("succeeded", detail, std::move(actions));
  }
  if (VerifyExpired()) {
    actions.push_back(MakeAction(Res(), "verify", "failed", seen));
    return Failed(
        fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000, seen),
        std::move(actions));
  }
  return WaitFor(step::kScaleOutVerify, PollMs(), std::move(actions));
}

}  // namespace fleetkeeper::handlers::self_healing
