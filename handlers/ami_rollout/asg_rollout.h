// One Auto Scaling group's part of an AMI rollout: optional pin, a new launch template version
// with the AMI, an instance refresh to it, and following that refresh to its end.
#pragma once

#include "handlers/ami_rollout/steps.h"

namespace fleetkeeper::handlers::ami_rollout {

// Advances the group by one phase. Every phase re-reads AWS before it acts, so running it again
// after a crash does not create a second version or start a second refresh.
Progress AdvanceAsg(RolloutTick& t, v1::AsgRollout& asg);

// The rollback on a guard alarm (state.guard_rollback): a refresh this rollout started and that
// still runs is rolled back by Auto Scaling (RollbackInstanceRefresh), or cancelled when Auto
// Scaling refuses the rollback; a group whose refresh has not started is left untouched; a
// finished refresh stays as it ended. Once per group (guard_handled), then AdvanceAsg follows
// the refresh to its end.
Progress RollBackAsgOnGuardAlarm(RolloutTick& t, v1::AsgRollout& asg);

// What a dry run says the group would get.
std::string DescribeAsgPlan(const v1::AmiRolloutState& state, const v1::AsgRollout& asg);

// Whether an instance refresh in this status still runs (or may roll back).
bool RefreshActive(const std::string& status);

}  // namespace fleetkeeper::handlers::ami_rollout
