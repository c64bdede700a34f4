// Amazon ECS, the operations the ECS lifecycle handler and self-healing make. Handlers depend on
// the abstract Ecs interface; MakeEcsClient() is the JSON 1.1 wire implementation (ecs_json.cc).
// Times are epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

using Tags = std::map<std::string, std::string>;

struct ListClustersRequest {
  std::optional<int> max_results;
  std::string next_token;
};

struct ListServicesRequest {
  std::string cluster;  // name or ARN; empty = default
  std::string launch_type;
  std::optional<int> max_results;
  std::string next_token;
};

struct ListTasksRequest {
  std::string cluster;
  std::string service_name;
  std::string container_instance;
  std::string desired_status;  // RUNNING | PENDING | STOPPED
  std::optional<int> max_results;
  std::string next_token;
};

struct ListContainerInstancesRequest {
  std::string cluster;
  std::string status;  // ACTIVE | DRAINING | ...
  std::string filter;  // cluster query language
  std::optional<int> max_results;
  std::string next_token;
};

// The answer of every List* call: ARNs and the next page's token.
struct ArnPage {
  std::vector<std::string> arns;
  std::string next_token;
};

struct EcsDeployment {
  std::string id;
  std::string status;  // PRIMARY | ACTIVE | INACTIVE
  std::string task_definition;
  int64_t desired_count = 0;
  int64_t running_count = 0;
  int64_t pending_count = 0;
  int64_t failed_tasks = 0;
  std::string rollout_state;  // COMPLETED | FAILED | IN_PROGRESS
  std::string rollout_state_reason;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct EcsService {
  std::string arn;
  std::string name;
  std::string cluster_arn;
  std::string status;  // ACTIVE | DRAINING | INACTIVE
  int64_t desired_count = 0;
  int64_t running_count = 0;
  int64_t pending_count = 0;
  std::string launch_type;
  std::string task_definition;
  std::vector<EcsDeployment> deployments;
  Tags tags;  // with include_tags
};

struct EcsFailure {
  std::string arn;
  std::string reason;
  std::string detail;
};

struct DescribeServicesRequest {
  std::string cluster;
  std::vector<std::string> services;  // names or ARNs, at most 10
  bool include_tags = false;
};

struct DescribeServicesResponse {
  std::vector<EcsService> services;
  std::vector<EcsFailure> failures;
};

struct UpdateServiceRequest {
  std::string cluster;
  std::string service;
  std::optional<int64_t> desired_count;
  bool force_new_deployment = false;
  std::string task_definition;
};

struct StopTaskRequest {
  std::string cluster;
  std::string task;  // id or ARN
  std::string reason;
};

struct EcsTask {
  std::string arn;
  std::string last_status;
  std::string desired_status;
  std::string stopped_reason;
  std::string group;          // service:<name>
  std::string health_status;  // HEALTHY | UNHEALTHY | UNKNOWN
  std::string container_instance_arn;
  std::string launch_type;
  std::string task_definition;
  int64_t started_ms = 0;
};

struct DescribeTasksRequest {
  std::string cluster;
  std::vector<std::string> tasks;  // ids or ARNs, at most 100
};

struct DescribeTasksResponse {
  std::vector<EcsTask> tasks;
  std::vector<EcsFailure> failures;
};

struct EcsCluster {
  std::string arn;
  std::string name;
  std::string status;  // ACTIVE | PROVISIONING | DEPROVISIONING | FAILED | INACTIVE
  int64_t registered_container_instances = 0;
  int64_t running_tasks = 0;
  int64_t pending_tasks = 0;
  int64_t active_services = 0;
};

struct DescribeClustersRequest {
  std::vector<std::string> clusters;  // names or ARNs, at most 100
};

struct DescribeClustersResponse {
  std::vector<EcsCluster> clusters;
  std::vector<EcsFailure> failures;
};

struct UpdateContainerInstancesStateRequest {
  std::string cluster;
  std::vector<std::string> container_instances;
  std::string status;  // DRAINING | ACTIVE
};

struct ContainerInstance {
  std::string arn;
  std::string ec2_instance_id;
  std::string status;
  int64_t running_tasks = 0;
  int64_t pending_tasks = 0;
  bool agent_connected = false;
};

struct UpdateContainerInstancesStateResponse {
  std::vector<ContainerInstance> container_instances;
  std::vector<EcsFailure> failures;
};

struct DescribeContainerInstancesRequest {
  std::string cluster;
  std::vector<std::string> container_instances;  // ids or ARNs, at most 100
};

using DescribeContainerInstancesResponse = UpdateContainerInstancesStateResponse;

struct TagResourceRequest {
  std::string resource_arn;
  Tags tags;
};

struct UntagResourceRequest {
  std::string resource_arn;
  std::vector<std::string> tag_keys;
};

struct ListTagsForResourceRequest {
  std::string resource_arn;
};

// Thread-safe.
class Ecs {
 public:
  virtual ~Ecs() = default;
  virtual Result<ArnPage> ListClusters(const ListClustersRequest& r) = 0;
  virtual Result<DescribeClustersResponse> DescribeClusters(const DescribeClustersRequest& r) = 0;
  virtual Result<ArnPage> ListServices(const ListServicesRequest& r) = 0;
  virtual Result<DescribeServicesResponse> DescribeServices(const DescribeServicesRequest& r) = 0;
  virtual Result<EcsService> UpdateService(const UpdateServiceRequest& r) = 0;
  virtual Result<ArnPage> ListTasks(const ListTasksRequest& r) = 0;
  virtual Result<DescribeTasksResponse> DescribeTasks(const DescribeTasksRequest& r) = 0;
  virtual Result<EcsTask> StopTask(const StopTaskRequest& r) = 0;
  virtual Result<ArnPage> ListContainerInstances(const ListContainerInstancesRequest& r) = 0;
  virtual Result<UpdateContainerInstancesStateResponse> UpdateContainerInstancesState(
      const UpdateContainerInstancesStateRequest& r) = 0;
  virtual Result<DescribeContainerInstancesResponse> DescribeContainerInstances(
      const DescribeContainerInstancesRequest& r) = 0;
  virtual Status TagResource(const TagResourceRequest& r) = 0;
  virtual Status UntagResource(const UntagResourceRequest& r) = 0;
  virtual Result<Tags> ListTagsForResource(const ListTagsForResourceRequest& r) = 0;
};

std::unique_ptr<Ecs> MakeEcsClient(std::shared_ptr<Transport> transport);

// Response parsers, exposed for the parsing tests.
Result<DescribeServicesResponse> ParseDescribeServices(const std::string& body);
Result<EcsService> ParseUpdateService(const std::string& body);
Result<ArnPage> ParseArnPage(const std::string& operation, const std::string& body);
Result<UpdateContainerInstancesStateResponse> ParseUpdateContainerInstancesState(
    const std::string& body);
Result<DescribeClustersResponse> ParseDescribeClusters(const std::string& body);
Result<DescribeTasksResponse> ParseDescribeTasks(const std::string& body);

}  // namespace fleetkeeper::aws
