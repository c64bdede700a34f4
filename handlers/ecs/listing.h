// The list actions: complete answers (every page), one result action per cluster, service or
// task, and no mutating call.
#pragma once

#include <string>
#include <vector>

#include "awsclient/ecs.h"
#include "common/error.h"
#include "fleetkeeper/v1/result.pb.h"

namespace fleetkeeper::handlers::ecs {

// Clusters with status and counts.
Result<std::vector<v1::Action>> ListClusters(aws::Ecs& ecs);
// Services of `cluster` with desired, running and pending counts, launch type and deployments.
Result<std::vector<v1::Action>> ListServices(aws::Ecs& ecs, const std::string& cluster);
// RUNNING tasks of `cluster` (of `services` when any) with status, health and started time.
Result<std::vector<v1::Action>> ListTasks(aws::Ecs& ecs, const std::string& cluster,
                                          const std::vector<std::string>& services);

// "desired 2, running 2, pending 0": a service's counts, as every ECS action reports them.
std::string CountsOf(const aws::EcsService& service);
// "ecs-svc/123 PRIMARY COMPLETED 2/2": a deployment as the results show it.
std::string DeploymentOf(const aws::EcsDeployment& deployment);

}  // namespace fleetkeeper::handlers::ecs
