#include "handlers/self_healing/healing_step.h"

namespace fleetkeeper::handlers::self_healing {

// ---------------------------------------------------------------------------------------------
// reboot_instance

StepOutcome HealingStep::RebootSend() {
  if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  const std::string id = action_.instance_id();
  auto inst = Ec2Instance(id);
  if (!inst.ok()) return AwsError(step::kRebootSend, "DescribeInstances", inst.error());
  if (auto why = ExclusionOf(inst->tags, "instance " + id); !why.empty()) return Excluded(why);
  if (auto it = inst->tags.find(kAsgTag); it != inst->tags.end()) {
    action_.set_asg_name(it->second);
    if (auto why = ConfigExclusion(); !why.empty()) return Excluded(why);
  }
  if (inst->state.name != "running") {
    return Failed(fmt::format("instance {} is {}: only a running instance can be rebooted", id,
                              inst->state.name));
  }
  if (dry_run()) return DryRun(fmt::format("reboot instance {}", id));
  if (auto wait = TakeOutOfService(step::kRebootSend)) return *wait;
  aws::InstanceIdsRequest r;
  r.instance_ids = {id};
  if (auto st = ctx_.aws().ec2->RebootInstances(r); !st.ok()) {
    return AwsError(step::kRebootSend, "RebootInstances", st.error());
  }
  StartVerifying();
  return WaitFor(step::kRebootVerify, PollMs(),
                 {MakeAction(Res(), "RebootInstances", "ok", "reboot requested")},
                 {"instance:" + id});
}

StepOutcome HealingStep::RebootVerify() {
  auto problem = StatusProblem(action_.instance_id());
  if (!problem.ok()) {
    return AwsError(step::kRebootVerify, "DescribeInstanceStatus", problem.error());
  }
  if (problem->empty()) {
    return Done("succeeded",
                fmt::format("rebooted {}; verified: status checks ok", action_.instance_id()),
                {MakeAction(Res(), "verify", "ok", "system and instance status checks ok")});
  }
  if (VerifyExpired()) {
    return Failed(fmt::format("status checks of {} still failing {} s after the reboot: {}",
                              action_.instance_id(), VerifyTimeoutMs() / 1000, *problem),
                  {MakeAction(Res(), "verify", "failed", *problem)});
  }
  return WaitFor(step::kRebootVerify, PollMs(), {}, {"instance:" + action_.instance_id()});
}

}  // namespace fleetkeeper::handlers::self_healing
