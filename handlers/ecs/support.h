// What the ECS steps share: resource names in results and locks, result actions, and the answer
// to a failed AWS call.
#pragma once

#include <string>

#include "common/error.h"
#include "fleetkeeper/v1/result.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ecs {

// "ecs:<cluster>/<service>": the same name self-healing's ecs_force_deploy locks.
std::string ServiceResource(const std::string& cluster, const std::string& service);
std::string TaskResource(const std::string& cluster, const std::string& task);
std::string InstanceResource(const std::string& cluster, const std::string& instance);

v1::Action MakeAction(const std::string& resource, const std::string& action,
                      const std::string& status, const std::string& detail,
                      const std::string& aws_request_id = "");

// A failed call: a transient failure (throttling, 5xx, network) runs the same step again later,
// up to a few attempts; anything else, or the last attempt, ends the workflow FAILED naming the
// call. Steps re-read before they act, so running one again is safe.
StepOutcome CallFailed(const StepContext& ctx, const std::string& step, const std::string& call,
                       const Error& error);

}  // namespace fleetkeeper::handlers::ecs
