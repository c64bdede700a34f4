// One Auto Scaling group's part of an AMI rollout: optional pin, a new launch template version
// with the AMI, an instance refresh to it, and following that refresh to its end.
#pragma once

#include "handlers/ami_rollout/steps.h"

namespace fleetkeeper::handlers::ami_rollout {

// Advances the group by one phase. Every phase re-reads AWS before it acts, so running it again
// after a crash does not create a second version or start a second refresh.
Progress AdvanceAsg(RolloutTick& t, v1::AsgRollout& asg);

// What a dry run says the group would get.
std::string DescribeAsgPlan(const v1::AmiRolloutState& state, const v1::AsgRollout& asg);

// Whether an instance refresh in this status still runs (or may roll back).
bool RefreshActive(const std::string& status);

}  // namespace fleetkeeper::handlers::ami_rollout
