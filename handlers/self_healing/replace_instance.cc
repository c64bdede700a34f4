#include "handlers/self_healing/healing_step.h"

#include <fmt/ranges.h>

#include <set>

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// replace_instance

StepOutcome HealingStep::ReplaceInspect() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  if (action_.instance_id().empty()) {
    // The alarm names only the group: replace its unhealthy instance, if it has one.
    auto g = Group(action_.asg_name());
    if (!g.ok()) return AwsError(step::kReplaceInspect, "DescribeAutoScalingGroups", g.error());
    for (const auto& i : g->instances) {
      if (i.lifecycle_state == "InService" && i.health_status == "Unhealthy") {
        action_.set_instance_id(i.instance_id);
        break;
      }
    }
    for (const auto& i : g->instances) {
      if (!action_.instance_id().empty()) break;
      auto problem = StatusProblem(i.instance_id);
      if (!problem.ok()) {
        return AwsError(step::kReplaceInspect, "DescribeInstanceStatus", problem.error());
      }
      if (!problem->empty() && i.lifecycle_state == "InService") {
        action_.set_instance_id(i.instance_id);
      }
    }
    if (action_.instance_id().empty()) {
      return Done("succeeded",
                  fmt::format("no unhealthy instance in {}: nothing to replace", g->name),
                  {MakeAction(Res(), "inspect", "ok", "every instance is healthy")});
    }
  }
  const std::string id = action_.instance_id();
  auto inst = Ec2Instance(id);
  if (!inst.ok()) {
    if (aws::IsNotFoundAnswer(inst.error())) {
      return Done("succeeded", fmt::format("instance {} no longer exists: nothing to replace", id));
    }
    return AwsError(step::kReplaceInspect, "DescribeInstances", inst.error());
  }
  if (inst->state.name == "terminated" || inst->state.name == "shutting-down") {
    return Done("succeeded",
                fmt::format("instance {} is already {}: nothing to replace", id, inst->state.name));
  }
  if (auto why = ExclusionOf(inst->tags, "instance " + id); !why.empty()) return Excluded(why);
  if (action_.asg_name().empty()) {
    auto it = inst->tags.find(kAsgTag);
    if (it != inst->tags.end()) action_.set_asg_name(it->second);
  }
  // Exclusions always win, the group's included.
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);

  if (action_.asg_name().empty()) {
    action_.set_mode("reboot");
    if (dry_run()) {
      return DryRun(
          fmt::format("reboot standalone instance {}, then stop and start it if its "
                      "status checks still fail",
                      id));
    }
    return Next(step::kReplaceReboot);
  }
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceInspect, "DescribeAutoScalingGroups", g.error());
  if (auto why = ExclusionOf(g->tags, "Auto Scaling group " + g->name); !why.empty()) {
    return Excluded(why);
  }
  RecordGroupTags("asg:" + g->name, g->tags);
  if (FindInstance(*g, id) == nullptr) {
    return Done("succeeded",
                fmt::format("instance {} is no longer in {}: nothing to replace", id, g->name));
  }
  action_.clear_instances_before();
  for (const auto& i : g->instances) action_.add_instances_before(i.instance_id);
  action_.set_capacity_before(g->desired_capacity);
  action_.set_max_size(g->max_size);
  // Terminating an instance while the others are already at the group's minimum would leave
  // fewer than MinSize healthy: launch the replacement first.
  const bool at_minimum = CountInService(*g, id) < g->min_size;
  if (at_minimum && g->desired_capacity < g->max_size) {
    action_.set_mode("surge");
    action_.set_target_capacity(g->desired_capacity + 1);
    if (dry_run()) {
      return DryRun(
          fmt::format("raise desired capacity of {} from {} to {}, wait for the new "
                      "instance InService, then terminate {} with decrement",
                      g->name, g->desired_capacity, g->desired_capacity + 1, id));
    }
    return Next(step::kReplaceSurge);
  }
  action_.set_mode("terminate");
  if (dry_run()) {
    return DryRun(
        fmt::format("terminate {} in {} without decrementing desired capacity {} "
                    "(the group launches its replacement)",
                    id, g->name, g->desired_capacity));
  }
  return Next(step::kReplaceTerminate);
}

StepOutcome HealingStep::ReplaceTerminate(bool decrement, const std::string& step_name) {
  if (auto wait = TakeOutOfService(step_name)) return *wait;
  const std::string id = action_.instance_id();
  std::vector<v1::Action> actions;
  // Re-read: a resumed step finds the instance already on its way out and does not ask again.
  auto inst = Ec2Instance(id);
  const bool gone = !inst.ok()
                        ? aws::IsNotFoundAnswer(inst.error())
                        : inst->state.name == "terminated" || inst->state.name == "shutting-down";
  if (!inst.ok() && !gone) return AwsError(step_name, "DescribeInstances", inst.error());
  if (gone) {
    actions.push_back(MakeAction("instance:" + id, "TerminateInstanceInAutoScalingGroup", "skipped",
                                 "already terminating"));
  } else {
    aws::TerminateInstanceInAutoScalingGroupRequest r;
    r.instance_id = id;
    r.should_decrement_desired_capacity = decrement;
    auto res = ctx_.aws().autoscaling->TerminateInstanceInAutoScalingGroup(r);
    if (!res.ok()) return AwsError(step_name, "TerminateInstanceInAutoScalingGroup", res.error());
    actions.push_back(
        MakeAction("instance:" + id, "TerminateInstanceInAutoScalingGroup", "ok",
                   fmt::format("{} desired capacity; activity {}",
                               decrement ? "decrementing" : "keeping", res->activity_id)));
  }
  StartVerifying();
  return WaitFor(step::kReplaceVerifyGroup, PollMs(), std::move(actions));
}

StepOutcome HealingStep::ReplaceSurge() {
  const int64_t target = action_.target_capacity();
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceSurge, "DescribeAutoScalingGroups", g.error());
  std::vector<v1::Action> actions;
  if (g->desired_capacity >= target) {
    actions.push_back(
        MakeAction("asg:" + g->name, "SetDesiredCapacity", "skipped",
                   fmt::format("desired capacity is already {}", g->desired_capacity)));
  } else {
    aws::SetDesiredCapacityRequest r;
    r.asg_name = g->name;
    r.desired_capacity = target;
    r.honor_cooldown = false;
    if (auto st = ctx_.aws().autoscaling->SetDesiredCapacity(r); !st.ok()) {
      return AwsError(step::kReplaceSurge, "SetDesiredCapacity", st.error());
    }
    actions.push_back(MakeAction("asg:" + g->name, "SetDesiredCapacity", "ok",
                                 fmt::format("desired capacity {} -> {} to launch a replacement "
                                             "for {} first (group at its minimum healthy)",
                                             g->desired_capacity, target, action_.instance_id())));
  }
  StartVerifying();
  return WaitFor(step::kReplaceWaitNew, PollMs(), std::move(actions));
}

StepOutcome HealingStep::ReplaceWaitNew() {
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceWaitNew, "DescribeAutoScalingGroups", g.error());
  const std::set<std::string> before(action_.instances_before().begin(),
                                     action_.instances_before().end());
  for (const auto& i : g->instances) {
    if (before.count(i.instance_id) == 0 && Healthy(i)) {
      action_.set_new_instance_id(i.instance_id);
      action_.set_verify_deadline_ms(0);
      return Next(
          step::kReplaceTerminateOld,
          {MakeAction("instance:" + i.instance_id, "wait InService", "ok",
                      "replacement InService before terminating " + action_.instance_id())});
    }
  }
  if (VerifyExpired()) {
    return Failed(
        fmt::format("no new instance of {} reached InService within {} s; desired "
                    "capacity left at {}, {} not terminated",
                    g->name, VerifyTimeoutMs() / 1000, g->desired_capacity, action_.instance_id()));
  }
  return WaitFor(step::kReplaceWaitNew, PollMs());
}

StepOutcome HealingStep::ReplaceVerifyGroup() {
  auto g = Group(action_.asg_name());
  if (!g.ok()) return AwsError(step::kReplaceVerifyGroup, "DescribeAutoScalingGroups", g.error());
  const std::string old_id = action_.instance_id();
  const aws::AsgInstance* old = FindInstance(*g, old_id);
  const bool old_out = old == nullptr || old->lifecycle_state.rfind("Terminat", 0) == 0;
  const std::set<std::string> before(action_.instances_before().begin(),
                                     action_.instances_before().end());
  std::vector<std::string> fresh;
  for (const auto& i : g->instances) {
    if (before.count(i.instance_id) == 0 && Healthy(i)) fresh.push_back(i.instance_id);
  }
  const int64_t in_service = CountInService(*g, old_id);
  const std::string seen = fmt::format(
      "{} {}; desired {}, {} InService; new: {}", old_id,
      old_out ? "out of the group" : "still " + old->lifecycle_state, g->desired_capacity,
      in_service, fresh.empty() ? "none" : fmt::format("{}", fmt::join(fresh, ",")));
  if (old_out && !fresh.empty() && in_service >= g->desired_capacity) {
    if (action_.new_instance_id().empty()) action_.set_new_instance_id(fresh.front());
    return Done("succeeded",
                fmt::format("replaced {} with {} in {}; verified: {} of {} InService", old_id,
                            action_.new_instance_id(), g->name, in_service, g->desired_capacity),
                {MakeAction(Res(), "verify", "ok", seen)});
  }
  if (VerifyExpired()) {
    return Failed(
        fmt::format("verification timed out after {} s: {}", VerifyTimeoutMs() / 1000, seen),
        {MakeAction(Res(), "verify", "failed", seen)});
  }
  return WaitFor(step::kReplaceVerifyGroup, PollMs());
}

StepOutcome HealingStep::ReplaceReboot() {
  if (auto wait = TakeOutOfService(step::kReplaceReboot)) return *wait;
  aws::InstanceIdsRequest r;
  r.instance_ids = {action_.instance_id()};
  if (auto st = ctx_.aws().ec2->RebootInstances(r); !st.ok()) {
    return AwsError(step::kReplaceReboot, "RebootInstances", st.error());
  }
  action_.set_phase_started_ms(now_);
  StartVerifying();
  return WaitFor(step::kReplaceCheckReboot, PollMs(),
                 {MakeAction(Res(), "RebootInstances", "ok", "standalone instance rebooted")},
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceCheckReboot() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kReplaceCheckReboot, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted {}; verified: status checks ok", action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  const int64_t grace = std::min(kMaxRebootGraceMs, VerifyTimeoutMs() / 2);
  if (now_ - action_.phase_started_ms() < grace) {
    return WaitFor(step::kReplaceCheckReboot, PollMs(), {}, {"instance:" + action_.instance_id()});
  }
  action_.set_stop_started(true);
  return Next(step::kReplaceStop,
              {MakeAction(Res(), "verify", "failed",
                          fmt::format("still failing {} s after the reboot ({}): stop and start",
                                      grace / 1000, *problem))});
}

StepOutcome HealingStep::ReplaceStop() {
  if (auto wait = TakeOutOfService(step::kReplaceStop)) return *wait;
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceStop, "DescribeInstances", inst.error());
  std::vector<v1::Action> actions;
  if (inst->state.name == "stopped" || inst->state.name == "stopping") {
    actions.push_back(MakeAction(Res(), "StopInstances", "skipped", "already " + inst->state.name));
  } else {
    aws::StopInstancesRequest r;
    r.instance_ids = {action_.instance_id()};
    auto res = ctx_.aws().ec2->StopInstances(r);
    if (!res.ok()) return AwsError(step::kReplaceStop, "StopInstances", res.error());
    actions.push_back(MakeAction(Res(), "StopInstances", "ok", "stopping to move to new hardware"));
  }
  action_.set_phase_started_ms(now_);
  return WaitFor(step::kReplaceWaitStopped, PollMs(), std::move(actions),
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceWaitStopped() {
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceWaitStopped, "DescribeInstances", inst.error());
  if (inst->state.name == "stopped") return Next(step::kReplaceStart);
  if (VerifyExpired()) {
    return Failed(fmt::format("{} did not stop within {} s (state {})", action_.instance_id(),
                              VerifyTimeoutMs() / 1000, inst->state.name));
  }
  return WaitFor(step::kReplaceWaitStopped, PollMs(), {}, {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceStart() {
  auto inst = Ec2Instance(action_.instance_id());
  if (!inst.ok()) return AwsError(step::kReplaceStart, "DescribeInstances", inst.error());
  std::vector<v1::Action> actions;
  if (inst->state.name == "stopped") {
    aws::InstanceIdsRequest r;
    r.instance_ids = {action_.instance_id()};
    auto res = ctx_.aws().ec2->StartInstances(r);
    if (!res.ok()) return AwsError(step::kReplaceStart, "StartInstances", res.error());
    actions.push_back(MakeAction(Res(), "StartInstances", "ok", "started"));
  } else {
    actions.push_back(
        MakeAction(Res(), "StartInstances", "skipped", "already " + inst->state.name));
  }
  return WaitFor(step::kReplaceVerifyStarted, PollMs(), std::move(actions),
                 {"instance:" + action_.instance_id()});
}

StepOutcome HealingStep::ReplaceVerifyStarted() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kReplaceVerifyStarted, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted, then stopped and started {}; verified: status checks ok",
                            action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("status checks of {} still failing after stop/start: {}",
                              action_.instance_id(), *problem),
                  {MakeAction(Res(), "verify", "failed", *problem)});
  }
  return WaitFor(step::kReplaceVerifyStarted, PollMs(), {}, {"instance:" + action_.instance_id()});
}

}  // namespace fleetkeeper::handlers::self_healing
