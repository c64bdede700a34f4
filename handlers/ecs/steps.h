// The steps of an ECS lifecycle workflow.
//
//   discover ─▶ (list actions, REJECTED, dry run: finish)
//            └▶ act ─▶ verify (polls on a timer until converged or verify_timeout) ─▶ finish
//                 ▲        │
//                 └────────┘ stop_tasks of whole services: the next round once replacements run
//
// discover reads (cluster, services, tasks, instances), rejects what does not exist, counts the
// targets against commands.max_targets and checkpoints the absolute targets; act re-reads each
// target and calls only what is still to do, so a re-run after a crash never scales, restarts or
// stops twice; verify reads until the action converged.
#pragma once

#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/ecs_state.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ecs {

// Released step names; never reuse one with another meaning.
inline constexpr char kStepDiscover[] = "discover";
inline constexpr char kStepAct[] = "act";
inline constexpr char kStepVerify[] = "verify";

// Target outcomes in the state and the result's actions.
inline constexpr char kOk[] = "ok";
inline constexpr char kFailed[] = "failed";

// `group_tag_keys`: the tag keys the safety guards and blackout windows read of the services the
// command changes (GroupTagKeys of handlers/engine/guards.h), recorded here before `act`.
StepOutcome Discover(v1::EcsWorkflowState& state, StepContext& ctx,
                     const v1::CommandsConfig& commands,
                     const std::vector<std::string>& group_tag_keys);
StepOutcome Act(v1::EcsWorkflowState& state, StepContext& ctx);
StepOutcome Verify(v1::EcsWorkflowState& state, StepContext& ctx);

// The lock names of what the workflow changes: "ecs:<cluster>/<service>" (the names self-healing's
// ecs_force_deploy takes too; a drain's include the services of the instance's tasks),
// "ecs-task:<cluster>/<task>", "ecs-instance:<cluster>/<instance>".
std::vector<std::string> LockNames(const v1::EcsWorkflowState& state);

}  // namespace fleetkeeper::handlers::ecs
