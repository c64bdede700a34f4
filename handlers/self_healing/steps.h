// The steps of a self-healing workflow (DESIGN.md "Alarm -> self-healing"). Each action of the
// workflow's state runs its own steps; every step re-reads AWS before it acts, mutating steps are
// separate from the steps that decide (so that a decision, such as a scale-out's absolute target,
// is checkpointed before the call it drives), and each action ends with a verification whose
// outcome goes into the result's actions.
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/self_healing.pb.h"
#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::self_healing {

// Step names. A released name is never reused (DESIGN.md "Guarantees").
namespace step {
inline constexpr const char* kScaleOutPlan = "scale_out.plan";
inline constexpr const char* kScaleOutSet = "scale_out.set";
inline constexpr const char* kScaleOutVerify = "scale_out.verify";
inline constexpr const char* kReplaceInspect = "replace.inspect";
inline constexpr const char* kReplaceTerminate = "replace.terminate";
inline constexpr const char* kReplaceSurge = "replace.surge";
inline constexpr const char* kReplaceWaitNew = "replace.wait_new";
inline constexpr const char* kReplaceTerminateOld = "replace.terminate_old";
inline constexpr const char* kReplaceVerifyGroup = "replace.verify_group";
inline constexpr const char* kReplaceReboot = "replace.reboot";
inline constexpr const char* kReplaceCheckReboot = "replace.check_reboot";
inline constexpr const char* kReplaceStop = "replace.stop";
inline constexpr const char* kReplaceWaitStopped = "replace.wait_stopped";
inline constexpr const char* kReplaceStart = "replace.start";
inline constexpr const char* kReplaceVerifyStarted = "replace.verify_started";
inline constexpr const char* kRebootSend = "reboot.send";
inline constexpr const char* kRebootVerify = "reboot.verify";
inline constexpr const char* kEcsPlan = "ecs.plan";
inline constexpr const char* kEcsForce = "ecs.force";
inline constexpr const char* kEcsVerify = "ecs.verify";
inline constexpr const char* kDeployFind = "deploy.find";
inline constexpr const char* kDeployStop = "deploy.stop";
inline constexpr const char* kDeployVerify = "deploy.verify";
inline constexpr const char* kNotifyPublish = "notify.publish";
inline constexpr const char* kRepeatCheck = "repeat.check";
}  // namespace step

// The first step of an action type ("" for an unknown type).
std::string FirstStepOf(const std::string& action_type);

// The first pending action's first step, or the workflow's final result over all of its actions;
// `actions` go with the outcome.
StepOutcome NextActionOrFinish(v1::HealingWorkflowState& state, std::vector<v1::Action> actions);

// The workflow's steps, each over the HealingWorkflowState packed in the context and its current
// action; mutating ones change AWS resources (a freeze holds them back; a dry run never calls
// them). Never throws: AWS errors end the action as failed (retriable ones are retried a few
// times first). `group_tag_keys`: the tag keys the safety guards and blackout windows read of the
// groups an action changes (GroupTagKeys of handlers/engine/guards.h). Both must outlive the table.
StepTable HealingSteps(const v1::SelfHealingConfig& config,
                       const std::vector<std::string>& group_tag_keys);

}  // namespace fleetkeeper::handlers::self_healing
