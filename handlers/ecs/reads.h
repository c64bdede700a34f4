// The ECS reads the lifecycle steps share: complete (every page), in the batch sizes ECS allows,
// with what ECS reports missing kept apart from what it found.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "awsclient/ecs.h"
#include "common/error.h"

namespace fleetkeeper::handlers::ecs {

// The last path segment of an ECS ARN (service/cluster/name, task/cluster/id), or `arn` itself.
std::string NameOf(const std::string& arn);

// A service's name from a task's group "service:<name>", or "".
std::string ServiceOfGroup(const std::string& group);

template <typename T>
struct Found {
  std::map<std::string, T> by_name;  // keyed by what the caller asked for
  std::vector<std::string> missing;  // asked for, not found (ECS "MISSING" failures and absences)
};

// DescribeServices in batches of 10. A service whose status is INACTIVE counts as missing.
Result<Found<aws::EcsService>> ReadServices(aws::Ecs& ecs, const std::string& cluster,
                                            const std::vector<std::string>& names,
                                            bool include_tags);

// DescribeTasks in batches of 100.
Result<Found<aws::EcsTask>> ReadTasks(aws::Ecs& ecs, const std::string& cluster,
                                      const std::vector<std::string>& tasks);

// DescribeContainerInstances in batches of 100.
Result<Found<aws::ContainerInstance>> ReadInstances(aws::Ecs& ecs, const std::string& cluster,
                                                    const std::vector<std::string>& instances);

// DescribeClusters in batches of 100. A cluster whose status is INACTIVE counts as missing.
Result<Found<aws::EcsCluster>> ReadClusters(aws::Ecs& ecs, const std::vector<std::string>& names);

// Every page of ListClusters / ListServices / ListTasks (RUNNING tasks; of `service` when given).
Result<std::vector<std::string>> AllClusterArns(aws::Ecs& ecs);
Result<std::vector<std::string>> AllServiceArns(aws::Ecs& ecs, const std::string& cluster);
Result<std::vector<std::string>> AllTaskArns(aws::Ecs& ecs, const std::string& cluster,
                                             const std::string& service);

// The services of the RUNNING tasks on a container instance, each with how many of its tasks run
// there (tasks not started by a service are left out): what draining it stops.
Result<std::map<std::string, int>> ServiceTasksOn(aws::Ecs& ecs, const std::string& cluster,
                                                  const std::string& instance_arn);

// The PRIMARY deployment, or null.
const aws::EcsDeployment* PrimaryOf(const aws::EcsService& service);

}  // namespace fleetkeeper::handlers::ecs
