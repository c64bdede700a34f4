#include "handlers/self_healing/steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <vector>

#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/healing_step.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

// A step of the current action over the HealingWorkflowState packed in the context: unpacked for
// the step, packed back after.
std::function<StepOutcome(StepContext&)> OverState(const v1::SelfHealingConfig& config,
                                                   const std::vector<std::string>& group_tag_keys,
                                                   StepOutcome (HealingStep::*run)()) {
  return [&config, &group_tag_keys, run](StepContext& ctx) {
    v1::HealingWorkflowState state;
    if (!ctx.mutable_state()->UnpackTo(&state)) {
      return StepOutcome::Finish(
          v1::Result::FAILED,
          fmt::format("self-healing workflow {} has no readable state (type {})",
                      ctx.workflow().workflow_id(), ctx.mutable_state()->type_url()));
    }
    if (state.actions_size() == 0 || state.current() < 0 ||
        state.current() >= state.actions_size()) {
      return StepOutcome::Finish(v1::Result::FAILED,
                                 fmt::format("self-healing workflow state has no action {} of {}",
                                             state.current(), state.actions_size()));
    }
    StepOutcome out = (HealingStep(config, group_tag_keys, state, ctx).*run)();
    ctx.mutable_state()->PackFrom(state);
    return out;
  };
}

}  // namespace

std::string FirstStepOf(const std::string& action_type) {
  if (action_type == "scale_out") return step::kScaleOutPlan;
  if (action_type == "replace_instance") return step::kReplaceInspect;
  if (action_type == "reboot_instance") return step::kRebootSend;
  if (action_type == "ecs_force_deploy") return step::kEcsPlan;
  if (action_type == "stop_deployment") return step::kDeployFind;
  if (action_type == "notify") return step::kNotifyPublish;
  return "";
}

StepOutcome NextActionOrFinish(v1::HealingWorkflowState& state, std::vector<v1::Action> actions) {
  for (int i = 0; i < state.actions_size(); ++i) {
    if (state.actions(i).status() == "pending") {
      state.set_current(i);
      StepOutcome o = StepOutcome::Next(FirstStepOf(state.actions(i).type()));
      o.actions = std::move(actions);
      return o;
    }
  }
  int succeeded = 0, failed = 0, dry = 0, excluded = 0;
  std::vector<std::string> parts;
  for (const auto& a : state.actions()) {
    if (a.status() == "succeeded") ++succeeded;
    if (a.status() == "failed") ++failed;
    if (a.status() == "dry_run") ++dry;
    if (a.status() == "excluded") ++excluded;
    parts.push_back(fmt::format("{} {}: {}", a.type(), a.resource(), a.detail()));
  }
  v1::Result::Status status = v1::Result::SUCCEEDED;
  if (failed > 0) {
    status = succeeded + dry > 0 ? v1::Result::PARTIAL : v1::Result::FAILED;
  } else if (dry > 0) {
    status = v1::Result::DRY_RUN;
  } else if (succeeded == 0 && excluded > 0) {
    status = v1::Result::REJECTED;
  }
  StepOutcome o = StepOutcome::Finish(status, fmt::format("{}", fmt::join(parts, "; ")));
  o.actions = std::move(actions);
  return o;
}

StepTable HealingSteps(const v1::SelfHealingConfig& config,
                       const std::vector<std::string>& group_tag_keys) {
  using namespace step;
  const auto over = [&config, &group_tag_keys](StepOutcome (HealingStep::*run)()) {
    return OverState(config, group_tag_keys, run);
  };
  // Mutating: the steps that make the call a decision drove (a freeze holds them back).
  return StepTable(kHandlerName,
                   {
                       {kScaleOutPlan, false, over(&HealingStep::ScaleOutPlan)},
                       {kScaleOutSet, true, over(&HealingStep::ScaleOutSet)},
                       {kScaleOutVerify, false, over(&HealingStep::ScaleOutVerifyStep)},
                       {kReplaceInspect, false, over(&HealingStep::ReplaceInspect)},
                       {kReplaceTerminate, true, over(&HealingStep::ReplaceTerminateInstance)},
                       {kReplaceSurge, true, over(&HealingStep::ReplaceSurge)},
                       {kReplaceWaitNew, false, over(&HealingStep::ReplaceWaitNew)},
                       {kReplaceTerminateOld, true, over(&HealingStep::ReplaceTerminateOld)},
                       {kReplaceVerifyGroup, false, over(&HealingStep::ReplaceVerifyGroup)},
                       {kReplaceReboot, true, over(&HealingStep::ReplaceReboot)},
                       {kReplaceCheckReboot, false, over(&HealingStep::ReplaceCheckReboot)},
                       {kReplaceStop, true, over(&HealingStep::ReplaceStop)},
                       {kReplaceWaitStopped, false, over(&HealingStep::ReplaceWaitStopped)},
                       {kReplaceStart, true, over(&HealingStep::ReplaceStart)},
                       {kReplaceVerifyStarted, false, over(&HealingStep::ReplaceVerifyStarted)},
                       {kRebootSend, true, over(&HealingStep::RebootSend)},
                       {kRebootVerify, false, over(&HealingStep::RebootVerify)},
                       {kEcsPlan, false, over(&HealingStep::EcsPlan)},
                       {kEcsForce, true, over(&HealingStep::EcsForce)},
                       {kEcsVerify, false, over(&HealingStep::EcsVerify)},
                       {kDeployFind, false, over(&HealingStep::DeployFind)},
                       {kDeployStop, true, over(&HealingStep::DeployStop)},
                       {kDeployVerify, false, over(&HealingStep::DeployVerify)},
                       {kNotifyPublish, false, over(&HealingStep::NotifyPublish)},
                       {kRepeatCheck, false, over(&HealingStep::RepeatCheck)},
                   });
}

}  // namespace fleetkeeper::handlers::self_healing
