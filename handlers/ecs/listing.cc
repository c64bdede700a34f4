#include "handlers/ecs/listing.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "handlers/ecs/reads.h"

namespace fleetkeeper::handlers::ecs {
namespace {

v1::Action Listed(const std::string& resource, const char* kind, const std::string& status,
                  std::string detail) {
  v1::Action a;
  a.set_resource(resource);
  a.set_action(kind);
  a.set_status(status);
  a.set_detail(std::move(detail));
  return a;
}

}  // namespace

std::string CountsOf(const aws::EcsService& s) {
  return fmt::format("desired {}, running {}, pending {}", s.desired_count, s.running_count,
                     s.pending_count);
}

std::string DeploymentOf(const aws::EcsDeployment& d) {
  return fmt::format("{} {} {} {}/{}", d.id, d.status,
                     d.rollout_state.empty() ? "-" : d.rollout_state, d.running_count,
                     d.desired_count);
}

Result<std::vector<v1::Action>> ListClusters(aws::Ecs& ecs) {
  auto arns = AllClusterArns(ecs);
  if (!arns.ok()) return std::move(arns).take_error();
  auto found = ReadClusters(ecs, *arns);
  if (!found.ok()) return std::move(found).take_error();
  std::vector<v1::Action> out;
  for (const std::string& arn : *arns) {
    auto it = found->by_name.find(arn);
    if (it == found->by_name.end()) continue;  // deleted between the two calls
    const aws::EcsCluster& c = it->second;
    out.push_back(Listed(c.arn, "cluster", c.status,
                         fmt::format("{}: {} active services, {} running tasks, {} pending "
                                     "tasks, {} container instances",
                                     c.name, c.active_services, c.running_tasks, c.pending_tasks,
                                     c.registered_container_instances)));
  }
  return out;
}

Result<std::vector<v1::Action>> ListServices(aws::Ecs& ecs, const std::string& cluster) {
  auto arns = AllServiceArns(ecs, cluster);
  if (!arns.ok()) return std::move(arns).take_error();
  auto found = ReadServices(ecs, cluster, *arns, false);
  if (!found.ok()) return std::move(found).take_error();
  std::vector<v1::Action> out;
  for (const std::string& arn : *arns) {
    auto it = found->by_name.find(arn);
    if (it == found->by_name.end()) continue;
    const aws::EcsService& s = it->second;
    std::vector<std::string> deployments;
    for (const auto& d : s.deployments) deployments.push_back(DeploymentOf(d));
    out.push_back(
        Listed(s.arn, "service", s.status,
               fmt::format("{}: {}, launch type {}, deployments: {}", s.name, CountsOf(s),
                           s.launch_type.empty() ? "-" : s.launch_type,
                           deployments.empty() ? std::string("none")
                                               : fmt::format("{}", fmt::join(deployments, "; ")))));
  }
  return out;
}

Result<std::vector<v1::Action>> ListTasks(aws::Ecs& ecs, const std::string& cluster,
                                          const std::vector<std::string>& services) {
  std::vector<std::string> arns;
  const std::vector<std::string> scopes =
      services.empty() ? std::vector<std::string>{""} : services;
  for (const std::string& service : scopes) {
    auto page = AllTaskArns(ecs, cluster, service);
    if (!page.ok()) return std::move(page).take_error();
    arns.insert(arns.end(), page->begin(), page->end());
  }
  auto found = ReadTasks(ecs, cluster, arns);
  if (!found.ok()) return std::move(found).take_error();
  std::vector<v1::Action> out;
  for (const std::string& arn : arns) {
    auto it = found->by_name.find(arn);
    if (it == found->by_name.end()) continue;
    const aws::EcsTask& t = it->second;
    const std::string service = ServiceOfGroup(t.group);
    out.push_back(Listed(
        t.arn, "task", t.last_status,
        fmt::format("desired {}, health {}, started {}, service {}, container instance {}",
                    t.desired_status, t.health_status.empty() ? "UNKNOWN" : t.health_status,
                    t.started_ms > 0 ? FormatRfc3339(t.started_ms) : std::string("-"),
                    service.empty() ? "-" : service,
                    t.container_instance_arn.empty() ? "-" : NameOf(t.container_instance_arn))));
  }
  return out;
}

}  // namespace fleetkeeper::handlers::ecs
