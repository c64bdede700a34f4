#include "handlers/ecs/reads.h"

#include <algorithm>

#include "awsclient/pagination.h"

namespace fleetkeeper::handlers::ecs {
namespace {

// ECS's own limits: DescribeServices takes 10 names, the other Describe* calls 100; List* pages
// hold at most 100 ARNs.
constexpr size_t kServicesPerCall = 10;
constexpr size_t kPerCall = 100;
constexpr int kPageSize = 100;

// Calls `describe(batch)` for each batch of `names`, matching each answer to the name asked for
// by name or ARN (`id_of` gives an answer's ARN), and whatever was not answered is missing.
template <typename T, typename Describe, typename IdOf, typename Live>
Result<Found<T>> ReadBatched(const std::vector<std::string>& names, size_t per_call,
                             Describe&& describe, IdOf&& id_of, Live&& live) {
  Found<T> out;
  for (size_t i = 0; i < names.size(); i += per_call) {
    std::vector<std::string> batch(
        names.begin() + static_cast<std::ptrdiff_t>(i),
        names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), i + per_call)));
    auto answer = describe(batch);
    if (!answer.ok()) return std::move(answer).take_error();
    for (const std::string& asked : batch) {
      const T* match = nullptr;
      for (const T& item : *answer) {
        const std::string arn = id_of(item);
        if (arn == asked || NameOf(arn) == NameOf(asked)) match = &item;
      }
      if (match != nullptr && live(*match)) {
        out.by_name[asked] = *match;
      } else {
        out.missing.push_back(asked);
      }
    }
  }
  return out;
}

template <typename Request, typename Call>
Result<std::vector<std::string>> AllArns(Request request, Call&& call) {
  request.max_results = kPageSize;
  return aws::CollectAll(std::move(request), std::forward<Call>(call), &aws::ArnPage::arns);
}

}  // namespace

std::string NameOf(const std::string& arn) {
  const size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

std::string ServiceOfGroup(const std::string& group) {
  constexpr std::string_view kPrefix = "service:";
  return group.rfind(kPrefix, 0) == 0 ? group.substr(kPrefix.size()) : "";
}

Result<Found<aws::EcsService>> ReadServices(aws::Ecs& ecs, const std::string& cluster,
                                            const std::vector<std::string>& names,
                                            bool include_tags) {
  return ReadBatched<aws::EcsService>(
      names, kServicesPerCall,
      [&](const std::vector<std::string>& batch) -> Result<std::vector<aws::EcsService>> {
        aws::DescribeServicesRequest r;
        r.cluster = cluster;
        r.services = batch;
        r.include_tags = include_tags;
        auto a = ecs.DescribeServices(r);
        if (!a.ok()) return std::move(a).take_error();
        return std::move(a->services);
      },
      [](const aws::EcsService& s) { return s.arn; },
      [](const aws::EcsService& s) { return s.status != "INACTIVE"; });
}

Result<Found<aws::EcsTask>> ReadTasks(aws::Ecs& ecs, const std::string& cluster,
                                      const std::vector<std::string>& tasks) {
  return ReadBatched<aws::EcsTask>(
      tasks, kPerCall,
      [&](const std::vector<std::string>& batch) -> Result<std::vector<aws::EcsTask>> {
        aws::DescribeTasksRequest r;
        r.cluster = cluster;
        r.tasks = batch;
        auto a = ecs.DescribeTasks(r);
        if (!a.ok()) return std::move(a).take_error();
        return std::move(a->tasks);
      },
      [](const aws::EcsTask& t) { return t.arn; }, [](const aws::EcsTask&) { return true; });
}

Result<Found<aws::ContainerInstance>> ReadInstances(aws::Ecs& ecs, const std::string& cluster,
                                                    const std::vector<std::string>& instances) {
  return ReadBatched<aws::ContainerInstance>(
      instances, kPerCall,
      [&](const std::vector<std::string>& batch) -> Result<std::vector<aws::ContainerInstance>> {
        aws::DescribeContainerInstancesRequest r;
        r.cluster = cluster;
        r.container_instances = batch;
        auto a = ecs.DescribeContainerInstances(r);
        if (!a.ok()) return std::move(a).take_error();
        return std::move(a->container_instances);
      },
      [](const aws::ContainerInstance& c) { return c.arn; },
      [](const aws::ContainerInstance& c) {
        return c.status != "DEREGISTERING" && c.status != "INACTIVE";
      });
}

Result<Found<aws::EcsCluster>> ReadClusters(aws::Ecs& ecs, const std::vector<std::string>& names) {
  return ReadBatched<aws::EcsCluster>(
      names, kPerCall,
      [&](const std::vector<std::string>& batch) -> Result<std::vector<aws::EcsCluster>> {
        aws::DescribeClustersRequest r;
        r.clusters = batch;
        auto a = ecs.DescribeClusters(r);
        if (!a.ok()) return std::move(a).take_error();
        return std::move(a->clusters);
      },
      [](const aws::EcsCluster& c) { return c.arn; },
      [](const aws::EcsCluster& c) { return c.status != "INACTIVE"; });
}

Result<std::vector<std::string>> AllClusterArns(aws::Ecs& ecs) {
  return AllArns(aws::ListClustersRequest{},
                 [&](const aws::ListClustersRequest& r) { return ecs.ListClusters(r); });
}

Result<std::vector<std::string>> AllServiceArns(aws::Ecs& ecs, const std::string& cluster) {
  aws::ListServicesRequest r;
  r.cluster = cluster;
  return AllArns(r, [&](const aws::ListServicesRequest& q) { return ecs.ListServices(q); });
}

Result<std::vector<std::string>> AllTaskArns(aws::Ecs& ecs, const std::string& cluster,
                                             const std::string& service) {
  aws::ListTasksRequest r;
  r.cluster = cluster;
  r.service_name = service;
  r.desired_status = "RUNNING";
  return AllArns(r, [&](const aws::ListTasksRequest& q) { return ecs.ListTasks(q); });
}

Result<std::map<std::string, int>> ServiceTasksOn(aws::Ecs& ecs, const std::string& cluster,
                                                  const std::string& instance_arn) {
  aws::ListTasksRequest r;
  r.cluster = cluster;
  r.container_instance = instance_arn;
  r.desired_status = "RUNNING";
  auto arns = AllArns(r, [&](const aws::ListTasksRequest& q) { return ecs.ListTasks(q); });
  if (!arns.ok()) return std::move(arns).take_error();
  auto tasks = ReadTasks(ecs, cluster, *arns);
  if (!tasks.ok()) return std::move(tasks).take_error();
  std::map<std::string, int> out;
  for (const auto& [arn, task] : tasks->by_name) {
    const std::string service = ServiceOfGroup(task.group);
    if (!service.empty()) ++out[service];
  }
  return out;
}

const aws::EcsDeployment* PrimaryOf(const aws::EcsService& service) {
  for (const auto& d : service.deployments) {
    if (d.status == "PRIMARY") return &d;
  }
  return nullptr;
}

}  // namespace fleetkeeper::handlers::ecs
