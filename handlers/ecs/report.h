// The end of a mutating ECS workflow (scale, restore, restart, stop_tasks, drain): CloudWatch
// metrics of what it did and what failed, in the namespace kMetricsNamespace with the dimensions
// Action and Cluster: Targets (services, tasks or container instances acted on), Failures (those
// not verified) and, when the workflow itself failed (a call that failed), WorkflowFailures 1.
// Best effort: the put is an action of the result, never a change of its outcome.
#pragma once

#include "fleetkeeper/v1/ecs_state.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ecs {

inline constexpr char kMetricsNamespace[] = "FleetKeeper/ECS";

// For a finished `outcome` of act or verify, not in a dry run: appends the metrics' action.
void Report(const v1::EcsWorkflowState& state, StepContext& ctx, StepOutcome& outcome);

}  // namespace fleetkeeper::handlers::ecs
