// Application Auto Scaling around scale and restore: a service whose desired count is a scalable
// target gets its dynamic and scheduled scaling suspended while it is held at zero (otherwise a
// scaling policy raises it again within minutes) and resumed when it is restored or scaled above
// zero. The service tag kScalingSuspendedTag marks a suspension fleetkeeper made, so that a
// target someone else suspended stays suspended after a restore.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "awsclient/application_autoscaling.h"
#include "common/error.h"
#include "fleetkeeper/v1/ecs_state.pb.h"

namespace fleetkeeper::handlers::ecs {

// On a service whose scaling fleetkeeper suspended; the value names the flags it suspended
// ("in,out,scheduled"; FlagsToSuspend).
inline constexpr char kScalingSuspendedTag[] = "fleetkeeper:scaling-suspended";

// The scalable targets (ecs:service:DesiredCount) of `services` in `cluster` (a name or an ARN),
// keyed by service name; a service with none is absent. Every page, 50 ids per call.
Result<std::map<std::string, aws::ScalableTarget>> ReadScalableTargets(
    aws::ApplicationAutoScaling& aas, const std::string& cluster,
    const std::vector<std::string>& services);

// The flags of `now` that are not suspended, as the marker tag's value: "in,out,scheduled" when
// none is. A restore resumes only these, so a flag someone else suspended stays suspended.
std::string FlagsToSuspend(const aws::SuspendedState& now);
// `now` with the flags named in `marker` (FlagsToSuspend's form) resumed.
aws::SuspendedState Resumed(const aws::SuspendedState& now, const std::string& marker);

// Sets the target's suspended flags to `state`; keeps its min and max.
Status SetSuspendedState(aws::ApplicationAutoScaling& aas, const aws::ScalableTarget& target,
                         const aws::SuspendedState& state);

// "" or, for a target above its scalable target's max, "; above the scalable target's max 4 …":
// the result says so, and the scale goes on (an operator may mean it).
std::string AboveMax(const v1::EcsServiceTarget& target);

// "min 1, max 6, scaling active" / "…, scaling suspended (in, out, scheduled)".
std::string DescribeTarget(const aws::ScalableTarget& target);

}  // namespace fleetkeeper::handlers::ecs
