// ECS over JSON 1.1 (target prefix AmazonEC2ContainerServiceV20141113). ECS spells its members in
// camelCase and its tags as [{"key", "value"}].
#include <utility>

#include <nlohmann/json.hpp>

#include "awsclient/ecs.h"
#include "awsclient/json_protocol.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;

constexpr const char* kService = "ecs";

template <typename T, typename Read>
Result<T> Call(Transport& t, const char* operation, const json& request, Read&& read) {
  return CallJsonAndRead<T>(t, kService, kEcsTargetPrefix, operation, request,
                            std::forward<Read>(read));
}

void SetIfNotEmpty(json& body, const char* key, const std::string& value) {
  if (!value.empty()) body[key] = value;
}

void SetPaging(json& body, const std::optional<int>& max_results, const std::string& token) {
  if (max_results) body["maxResults"] = *max_results;
  SetIfNotEmpty(body, "nextToken", token);
}

Tags ReadTags(JsonReader& r, const json& obj, const char* key) {
  Tags tags;
  for (const json* t : r.Objects(obj, key)) tags[r.Str(*t, "key")] = r.Str(*t, "value");
  return tags;
}

std::vector<EcsFailure> ReadFailures(JsonReader& r, const json& body) {
  std::vector<EcsFailure> out;
  for (const json* f : r.Objects(body, "failures")) {
    out.push_back({r.Str(*f, "arn"), r.Str(*f, "reason"), r.Str(*f, "detail")});
  }
  return out;
}

EcsService ReadService(JsonReader& r, const json& n) {
  EcsService s;
  s.arn = r.Str(n, "serviceArn");
  s.name = r.Str(n, "serviceName");
  s.cluster_arn = r.Str(n, "clusterArn");
  s.status = r.Str(n, "status");
  s.desired_count = r.Int(n, "desiredCount");
  s.running_count = r.Int(n, "runningCount");
  s.pending_count = r.Int(n, "pendingCount");
  s.launch_type = r.Str(n, "launchType");
  s.task_definition = r.Str(n, "taskDefinition");
  for (const json* d : r.Objects(n, "deployments")) {
    EcsDeployment dep;
    dep.id = r.Str(*d, "id");
    dep.status = r.Str(*d, "status");
    dep.task_definition = r.Str(*d, "taskDefinition");
    dep.desired_count = r.Int(*d, "desiredCount");
    dep.running_count = r.Int(*d, "runningCount");
    dep.pending_count = r.Int(*d, "pendingCount");
    dep.failed_tasks = r.Int(*d, "failedTasks");
    dep.rollout_state = r.Str(*d, "rolloutState");
    dep.rollout_state_reason = r.Str(*d, "rolloutStateReason");
    dep.created_ms = r.EpochMs(*d, "createdAt");
    dep.updated_ms = r.EpochMs(*d, "updatedAt");
    s.deployments.push_back(std::move(dep));
  }
  s.tags = ReadTags(r, n, "tags");
  return s;
}

auto ReadDescribeServices = [](JsonReader& r, const json& body) {
  DescribeServicesResponse out;
  for (const json* n : r.Objects(body, "services")) out.services.push_back(ReadService(r, *n));
  out.failures = ReadFailures(r, body);
  return out;
};

auto ReadUpdateService = [](JsonReader& r, const json& body) {
  r.Require(body, "service");
  const json* n = r.Object(body, "service");
  return n ? ReadService(r, *n) : EcsService{};
};

// List* answers: the ARNs are under a per-operation key.
auto ArnReader(const char* key) {
  return [key](JsonReader& r, const json& body) {
    return ArnPage{r.Strings(body, key), r.Str(body, "nextToken")};
  };
}

// UpdateContainerInstancesState and DescribeContainerInstances answer alike.
auto ReadContainerInstances = [](JsonReader& r, const json& body) {
  UpdateContainerInstancesStateResponse out;
  for (const json* n : r.Objects(body, "containerInstances")) {
    ContainerInstance c;
    c.arn = r.Str(*n, "containerInstanceArn");
    c.ec2_instance_id = r.Str(*n, "ec2InstanceId");
    c.status = r.Str(*n, "status");
    c.running_tasks = r.Int(*n, "runningTasksCount");
    c.pending_tasks = r.Int(*n, "pendingTasksCount");
    c.agent_connected = r.Bool(*n, "agentConnected");
    out.container_instances.push_back(std::move(c));
  }
  out.failures = ReadFailures(r, body);
  return out;
};

EcsTask ReadTask(JsonReader& r, const json& n) {
  EcsTask t;
  t.arn = r.Str(n, "taskArn");
  t.last_status = r.Str(n, "lastStatus");
  t.desired_status = r.Str(n, "desiredStatus");
  t.stopped_reason = r.Str(n, "stoppedReason");
  t.group = r.Str(n, "group");
  t.health_status = r.Str(n, "healthStatus");
  t.container_instance_arn = r.Str(n, "containerInstanceArn");
  t.launch_type = r.Str(n, "launchType");
  t.task_definition = r.Str(n, "taskDefinitionArn");
  t.started_ms = r.EpochMs(n, "startedAt");
  return t;
}

auto ReadDescribeTasks = [](JsonReader& r, const json& body) {
  DescribeTasksResponse out;
  for (const json* n : r.Objects(body, "tasks")) out.tasks.push_back(ReadTask(r, *n));
  out.failures = ReadFailures(r, body);
  return out;
};

auto ReadDescribeClusters = [](JsonReader& r, const json& body) {
  DescribeClustersResponse out;
  for (const json* n : r.Objects(body, "clusters")) {
    EcsCluster c;
    c.arn = r.Str(*n, "clusterArn");
    c.name = r.Str(*n, "clusterName");
    c.status = r.Str(*n, "status");
    c.registered_container_instances = r.Int(*n, "registeredContainerInstancesCount");
    c.running_tasks = r.Int(*n, "runningTasksCount");
    c.pending_tasks = r.Int(*n, "pendingTasksCount");
    c.active_services = r.Int(*n, "activeServicesCount");
    out.clusters.push_back(std::move(c));
  }
  out.failures = ReadFailures(r, body);
  return out;
};

const char* ArnKey(const std::string& operation) {
  if (operation == "ListClusters") return "clusterArns";
  if (operation == "ListServices") return "serviceArns";
  if (operation == "ListTasks") return "taskArns";
  if (operation == "ListContainerInstances") return "containerInstanceArns";
  return "";
}

class EcsJsonClient final : public Ecs {
 public:
  explicit EcsJsonClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<ArnPage> ListClusters(const ListClustersRequest& r) override {
    json body = json::object();
    SetPaging(body, r.max_results, r.next_token);
    return Call<ArnPage>(*t_, "ListClusters", body, ArnReader("clusterArns"));
  }

  Result<DescribeClustersResponse> DescribeClusters(const DescribeClustersRequest& r) override {
    json body = {{"clusters", r.clusters}};
    return Call<DescribeClustersResponse>(*t_, "DescribeClusters", body, ReadDescribeClusters);
  }

  Result<ArnPage> ListServices(const ListServicesRequest& r) override {
    json body = json::object();
    SetIfNotEmpty(body, "cluster", r.cluster);
    SetIfNotEmpty(body, "launchType", r.launch_type);
    SetPaging(body, r.max_results, r.next_token);
    return Call<ArnPage>(*t_, "ListServices", body, ArnReader("serviceArns"));
  }

  Result<DescribeServicesResponse> DescribeServices(const DescribeServicesRequest& r) override {
    json body = {{"services", r.services}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    if (r.include_tags) body["include"] = json::array({"TAGS"});
    return Call<DescribeServicesResponse>(*t_, "DescribeServices", body, ReadDescribeServices);
  }

  Result<EcsService> UpdateService(const UpdateServiceRequest& r) override {
    json body = {{"service", r.service}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    if (r.desired_count) body["desiredCount"] = *r.desired_count;
    if (r.force_new_deployment) body["forceNewDeployment"] = true;
    SetIfNotEmpty(body, "taskDefinition", r.task_definition);
    return Call<EcsService>(*t_, "UpdateService", body, ReadUpdateService);
  }

  Result<ArnPage> ListTasks(const ListTasksRequest& r) override {
    json body = json::object();
    SetIfNotEmpty(body, "cluster", r.cluster);
    SetIfNotEmpty(body, "serviceName", r.service_name);
    SetIfNotEmpty(body, "containerInstance", r.container_instance);
    SetIfNotEmpty(body, "desiredStatus", r.desired_status);
    SetPaging(body, r.max_results, r.next_token);
    return Call<ArnPage>(*t_, "ListTasks", body, ArnReader("taskArns"));
  }

  Result<EcsTask> StopTask(const StopTaskRequest& r) override {
    json body = {{"task", r.task}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    SetIfNotEmpty(body, "reason", r.reason);
    return Call<EcsTask>(*t_, "StopTask", body, [](JsonReader& x, const json& b) {
      x.Require(b, "task");
      const json* n = x.Object(b, "task");
      return n ? ReadTask(x, *n) : EcsTask{};
    });
  }

  Result<DescribeTasksResponse> DescribeTasks(const DescribeTasksRequest& r) override {
    json body = {{"tasks", r.tasks}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    return Call<DescribeTasksResponse>(*t_, "DescribeTasks", body, ReadDescribeTasks);
  }

  Result<ArnPage> ListContainerInstances(const ListContainerInstancesRequest& r) override {
    json body = json::object();
    SetIfNotEmpty(body, "cluster", r.cluster);
    SetIfNotEmpty(body, "status", r.status);
    SetIfNotEmpty(body, "filter", r.filter);
    SetPaging(body, r.max_results, r.next_token);
    return Call<ArnPage>(*t_, "ListContainerInstances", body, ArnReader("containerInstanceArns"));
  }

  Result<UpdateContainerInstancesStateResponse> UpdateContainerInstancesState(
      const UpdateContainerInstancesStateRequest& r) override {
    json body = {{"containerInstances", r.container_instances}, {"status", r.status}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    return Call<UpdateContainerInstancesStateResponse>(*t_, "UpdateContainerInstancesState", body,
                                                       ReadContainerInstances);
  }

  Result<DescribeContainerInstancesResponse> DescribeContainerInstances(
      const DescribeContainerInstancesRequest& r) override {
    json body = {{"containerInstances", r.container_instances}};
    SetIfNotEmpty(body, "cluster", r.cluster);
    return Call<DescribeContainerInstancesResponse>(*t_, "DescribeContainerInstances", body,
                                                    ReadContainerInstances);
  }

  Status UntagResource(const UntagResourceRequest& r) override {
    json body = {{"resourceArn", r.resource_arn}, {"tagKeys", r.tag_keys}};
    Result<json> answer = CallJson(*t_, kService, kEcsTargetPrefix, "UntagResource", body);
    if (!answer.ok()) return std::move(answer).take_error();
    return Ok{};
  }

  Status TagResource(const TagResourceRequest& r) override {
    json tags = json::array();
    for (const auto& [key, value] : r.tags) tags.push_back({{"key", key}, {"value", value}});
    json body = {{"resourceArn", r.resource_arn}, {"tags", std::move(tags)}};
    Result<json> answer = CallJson(*t_, kService, kEcsTargetPrefix, "TagResource", body);
    if (!answer.ok()) return std::move(answer).take_error();
    return Ok{};
  }

  Result<Tags> ListTagsForResource(const ListTagsForResourceRequest& r) override {
    json body = {{"resourceArn", r.resource_arn}};
    return Call<Tags>(*t_, "ListTagsForResource", body,
                      [](JsonReader& x, const json& b) { return ReadTags(x, b, "tags"); });
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<Ecs> MakeEcsClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<EcsJsonClient>(std::move(transport));
}

Result<DescribeServicesResponse> ParseDescribeServices(const std::string& body) {
  return ReadJsonBody<DescribeServicesResponse>(
      "DescribeServices", ParseJsonResponse("DescribeServices", body), ReadDescribeServices);
}

Result<EcsService> ParseUpdateService(const std::string& body) {
  return ReadJsonBody<EcsService>("UpdateService", ParseJsonResponse("UpdateService", body),
                                  ReadUpdateService);
}

Result<ArnPage> ParseArnPage(const std::string& operation, const std::string& body) {
  const char* key = ArnKey(operation);
  if (*key == '\0') return InvalidInput("ParseArnPage: not a List operation: " + operation);
  return ReadJsonBody<ArnPage>(operation, ParseJsonResponse(operation, body), ArnReader(key));
}

Result<UpdateContainerInstancesStateResponse> ParseUpdateContainerInstancesState(
    const std::string& body) {
  return ReadJsonBody<UpdateContainerInstancesStateResponse>(
      "UpdateContainerInstancesState", ParseJsonResponse("UpdateContainerInstancesState", body),
      ReadContainerInstances);
}

Result<DescribeClustersResponse> ParseDescribeClusters(const std::string& body) {
  return ReadJsonBody<DescribeClustersResponse>(
      "DescribeClusters", ParseJsonResponse("DescribeClusters", body), ReadDescribeClusters);
}

Result<DescribeTasksResponse> ParseDescribeTasks(const std::string& body) {
  return ReadJsonBody<DescribeTasksResponse>(
      "DescribeTasks", ParseJsonResponse("DescribeTasks", body), ReadDescribeTasks);
}

}  // namespace fleetkeeper::aws
