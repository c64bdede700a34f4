// A small stateful ECS for the lifecycle handler's unit tests: clusters, services with deployments
// and tags, tasks and container instances, List* pages of `page_size`, and a scheduler that moves
// running counts, deployments, tasks and drains forward on the next read (unless told not to).
// Every call is logged as "<Operation> <what>".
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "awsclient/ecs.h"

namespace fleetkeeper::handlers::ecs::testing {

class FakeEcs final : public aws::Ecs {
 public:
  static std::string ServiceArn(const std::string& cluster, const std::string& name) {
    return "arn:aws:ecs:us-east-1:111122223333:service/" + cluster + "/" + name;
  }

  void AddCluster(const std::string& name) {
    aws::EcsCluster c;
    c.arn = "arn:aws:ecs:us-east-1:111122223333:cluster/" + name;
    c.name = name;
    c.status = "ACTIVE";
    clusters[name] = c;
  }
  void AddService(const std::string& cluster, const std::string& name, int64_t desired) {
    aws::EcsService s;
    s.arn = ServiceArn(cluster, name);
    s.name = name;
    s.status = "ACTIVE";
    s.desired_count = s.running_count = desired;
    s.deployments.push_back({"ecs-svc/" + std::to_string(++deployments_), "PRIMARY", "", desired,
                             desired, 0, 0, "COMPLETED", "", 0, 0});
    services[cluster][name] = s;
    for (int64_t i = 0; i < desired; ++i) StartTask(cluster, name);
  }
  std::string AddInstance(const std::string& cluster, int64_t running) {
    aws::ContainerInstance c;
    c.arn = "arn:aws:ecs:us-east-1:111122223333:container-instance/" + cluster + "/ci-" +
            std::to_string(instances.size() + 1);
    c.ec2_instance_id = "i-0" + std::to_string(instances.size() + 1);
    c.status = "ACTIVE";
    c.running_tasks = running;
    instances[c.arn] = c;
    return c.arn;
  }
  std::vector<std::string> TasksOf(const std::string& service, bool running_only = true) const {
    std::vector<std::string> out;
    for (const auto& [arn, t] : tasks) {
      const bool mine = service.empty() || t.group == "service:" + service;
      if (mine && (!running_only || t.last_status == "RUNNING")) {
        out.push_back(arn);
      }
    }
    return out;
  }
  // Mutating calls only ("UpdateService", "TagResource", ...), in order.
  std::vector<std::string> Mutations() const {
    static const std::set<std::string> kMutating = {"UpdateService",
                                                    "TagResource",
                                                    "UntagResource",
                                                    "StopTask",
                                                    "UpdateContainerInstancesState",
                                                    "RegisterScalableTarget"};
    std::vector<std::string> out;
    for (const auto& c : calls) {
      if (kMutating.count(c.substr(0, c.find(' '))) != 0) out.push_back(c);
    }
    return out;
  }

  // ---- aws::Ecs ----

  Result<aws::ArnPage> ListClusters(const aws::ListClustersRequest& r) override {
    calls.push_back("ListClusters");
    std::vector<std::string> all;
    for (const auto& [name, c] : clusters) all.push_back(c.arn);
    return Page(all, r.next_token);
  }
  Result<aws::DescribeClustersResponse> DescribeClusters(
      const aws::DescribeClustersRequest& r) override {
    calls.push_back("DescribeClusters");
    aws::DescribeClustersResponse out;
    for (const auto& name : r.clusters) {
      auto it = clusters.find(name.substr(name.rfind('/') + 1));
      if (it == clusters.end()) {
        out.failures.push_back({name, "MISSING", ""});
      } else {
        out.clusters.push_back(it->second);
      }
    }
    return out;
  }
  Result<aws::ArnPage> ListServices(const aws::ListServicesRequest& r) override {
    calls.push_back("ListServices " + r.cluster);
    std::vector<std::string> all;
    for (const auto& [name, s] : services[r.cluster]) all.push_back(s.arn);
    return Page(all, r.next_token);
  }
  Result<aws::DescribeServicesResponse> DescribeServices(
      const aws::DescribeServicesRequest& r) override {
    calls.push_back("DescribeServices " + r.cluster);
    if (r.services.size() > 10) return InvalidInput("DescribeServices takes at most 10");
    aws::DescribeServicesResponse out;
    for (const auto& name : r.services) {
      auto& in = services[r.cluster];
      auto it = in.find(name.substr(name.rfind('/') + 1));
      if (it == in.end()) {
        out.failures.push_back({name, "MISSING", ""});
        continue;
      }
      Schedule(r.cluster, it->second);
      out.services.push_back(it->second);
      if (!r.include_tags) out.services.back().tags.clear();
    }
    return out;
  }
  Result<aws::EcsService> UpdateService(const aws::UpdateServiceRequest& r) override {
    auto& s = services[r.cluster][r.service];
    if (r.desired_count) {
      calls.push_back("UpdateService " + r.service +
                      " desired=" + std::to_string(*r.desired_count));
      s.desired_count = *r.desired_count;
    }
    if (r.force_new_deployment) {
      calls.push_back("UpdateService " + r.service + " force");
      for (auto& d : s.deployments) d.status = "ACTIVE";
      s.deployments.insert(s.deployments.begin(),
                           {"ecs-svc/" + std::to_string(++deployments_), "PRIMARY", "",
                            s.desired_count, 0, 0, 0, "IN_PROGRESS", "", 0, 0});
    }
    return s;
  }
  Result<aws::ArnPage> ListTasks(const aws::ListTasksRequest& r) override {
    calls.push_back("ListTasks " + r.service_name + r.container_instance);
    std::vector<std::string> out;
    for (const auto& arn : TasksOf(r.service_name)) {
      if (r.container_instance.empty() || tasks[arn].container_instance_arn == r.container_instance)
        out.push_back(arn);
    }
    return Page(out, r.next_token);
  }
  // Puts the running tasks `arns` on container instance `instance` (its running count follows).
  void Place(const std::string& instance, const std::vector<std::string>& arns) {
    for (const auto& arn : arns) tasks[arn].container_instance_arn = instance;
    instances[instance].running_tasks = static_cast<int64_t>(arns.size());
  }
  Result<aws::DescribeTasksResponse> DescribeTasks(const aws::DescribeTasksRequest& r) override {
    calls.push_back("DescribeTasks");
    aws::DescribeTasksResponse out;
    for (const auto& arn : r.tasks) {
      auto it = tasks.find(arn);
      if (it == tasks.end()) {
        out.failures.push_back({arn, "MISSING", ""});
      } else {
        if (converge && it->second.desired_status == "STOPPED") {
          it->second.last_status = "STOPPED";
        }
        out.tasks.push_back(it->second);
      }
    }
    return out;
  }
  Result<aws::EcsTask> StopTask(const aws::StopTaskRequest& r) override {
    calls.push_back("StopTask " + r.task);
    auto it = tasks.find(r.task);
    if (it == tasks.end()) return Error(ErrorCode::kNotFound, "task not found");
    it->second.desired_status = "STOPPED";
    it->second.stopped_reason = r.reason;
    if (it->second.last_status == "RUNNING") it->second.last_status = "DEACTIVATING";
    return it->second;
  }
  Result<aws::ArnPage> ListContainerInstances(const aws::ListContainerInstancesRequest&) override {
    return aws::ArnPage{};
  }
  Result<aws::UpdateContainerInstancesStateResponse> UpdateContainerInstancesState(
      const aws::UpdateContainerInstancesStateRequest& r) override {
    aws::UpdateContainerInstancesStateResponse out;
    for (const auto& arn : r.container_instances) {
      calls.push_back("UpdateContainerInstancesState " + arn + " " + r.status);
      instances[arn].status = r.status;
      // Its service tasks are stopped; the scheduler starts them elsewhere on the next read.
      for (auto& [task_arn, t] : tasks) {
        if (r.status == "DRAINING" && t.container_instance_arn == arn) t.desired_status = "STOPPED";
      }
      out.container_instances.push_back(instances[arn]);
    }
    return out;
  }
  Result<aws::DescribeContainerInstancesResponse> DescribeContainerInstances(
      const aws::DescribeContainerInstancesRequest& r) override {
    calls.push_back("DescribeContainerInstances");
    aws::DescribeContainerInstancesResponse out;
    for (const auto& arn : r.container_instances) {
      auto it = instances.find(arn);
      if (it == instances.end()) {
        out.failures.push_back({arn, "MISSING", ""});
        continue;
      }
      if (converge && it->second.status == "DRAINING") it->second.running_tasks = 0;
      out.container_instances.push_back(it->second);
    }
    return out;
  }
  Status TagResource(const aws::TagResourceRequest& r) override {
    for (const auto& [k, v] : r.tags) calls.push_back("TagResource " + k + "=" + v);
    for (auto& [cluster, by_name] : services) {
      for (auto& [name, s] : by_name) {
        if (s.arn == r.resource_arn) {
          for (const auto& [k, v] : r.tags) s.tags[k] = v;
        }
      }
    }
    return Ok{};
  }
  Status UntagResource(const aws::UntagResourceRequest& r) override {
    for (const auto& k : r.tag_keys) calls.push_back("UntagResource " + k);
    for (auto& [cluster, by_name] : services) {
      for (auto& [name, s] : by_name) {
        if (s.arn == r.resource_arn) {
          for (const auto& k : r.tag_keys) s.tags.erase(k);
        }
      }
    }
    return Ok{};
  }
  Result<aws::Tags> ListTagsForResource(const aws::ListTagsForResourceRequest&) override {
    return aws::Tags{};
  }

  std::map<std::string, aws::EcsCluster> clusters;
  std::map<std::string, std::map<std::string, aws::EcsService>> services;
  std::map<std::string, aws::EcsTask> tasks;
  std::map<std::string, aws::ContainerInstance> instances;
  std::vector<std::string> calls;
  size_t page_size = 2;
  bool converge = true;         // the scheduler moves things forward on each read
  std::set<std::string> stuck;  // services whose running count never moves
  std::string rollout_failure;  // a forced deployment FAILS with this reason

 private:
  Result<aws::ArnPage> Page(const std::vector<std::string>& all, const std::string& token) {
    const size_t start = token.empty() ? 0 : std::stoul(token);
    aws::ArnPage page;
    for (size_t i = start; i < all.size() && i < start + page_size; ++i) {
      page.arns.push_back(all[i]);
    }
    if (start + page_size < all.size()) page.next_token = std::to_string(start + page_size);
    return page;
  }
  void StartTask(const std::string& cluster, const std::string& service) {
    aws::EcsTask t;
    t.arn =
        "arn:aws:ecs:us-east-1:111122223333:task/" + cluster + "/t" + std::to_string(++tasks_made_);
    t.last_status = t.desired_status = "RUNNING";
    t.group = "service:" + service;
    t.health_status = "HEALTHY";
    tasks[t.arn] = t;
  }
  // ECS's service scheduler, one step: stopped tasks replaced, counts and deployments settled.
  void Schedule(const std::string& cluster, aws::EcsService& s) {
    if (!converge || stuck.count(s.name) != 0) return;
    for (auto& [arn, t] : tasks) {
      if (t.group == "service:" + s.name && t.desired_status == "STOPPED")
        t.last_status = "STOPPED";
    }
    int64_t running = static_cast<int64_t>(TasksOf(s.name).size());
    for (; running < s.desired_count; ++running) StartTask(cluster, s.name);
    for (const auto& arn : TasksOf(s.name)) {
      if (running <= s.desired_count) break;
      tasks[arn].desired_status = tasks[arn].last_status = "STOPPED";
      --running;
    }
    s.running_count = running;
    s.pending_count = 0;
    aws::EcsDeployment primary = s.deployments.front();
    primary.running_count = running;
    primary.desired_count = s.desired_count;
    primary.rollout_state = rollout_failure.empty() ? "COMPLETED" : "FAILED";
    primary.rollout_state_reason = rollout_failure;
    if (rollout_failure.empty()) {
      s.deployments = {primary};
    } else {
      s.deployments.front() = primary;
    }
  }

  int deployments_ = 0;
  int tasks_made_ = 0;
};

}  // namespace fleetkeeper::handlers::ecs::testing
