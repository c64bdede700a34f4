#include "handlers/capacity.h"

#include "awsclient/pagination.h"
#include "handlers/target_health.h"

namespace fleetkeeper::handlers {

v1::CapacityGroup TargetGroupCapacity(const std::string& arn,
                                      const std::vector<aws::TargetHealthDescription>& health,
                                      const std::string& default_max_unavailable) {
  v1::CapacityGroup g;
  g.set_group("tg:" + arn);
  g.set_default_max_unavailable(default_max_unavailable);
  int size = 0;
  for (const auto& d : health) {
    ++size;
    if (OutOfService(d)) g.add_out_of_service(d.target.id);
  }
  g.set_size(size);
  return g;
}

Result<v1::CapacityGroup> ReadTargetGroup(aws::Elbv2& elb, const std::string& arn,
                                          const std::string& default_max_unavailable) {
  auto health = elb.DescribeTargetHealth({arn, {}});
  if (!health.ok()) return health.error();
  return TargetGroupCapacity(arn, health->descriptions, default_max_unavailable);
}

Result<v1::CapacityGroup> ReadAutoScalingGroup(aws::AutoScaling& autoscaling,
                                               const std::string& name,
                                               const std::string& default_max_unavailable) {
  aws::DescribeAutoScalingGroupsRequest r;
  r.names = {name};
  auto res = autoscaling.DescribeAutoScalingGroups(r);
  if (!res.ok()) return res.error();
  for (const auto& a : res->groups) {
    if (a.name != name) continue;
    v1::CapacityGroup g;
    g.set_group("asg:" + name);
    g.set_default_max_unavailable(default_max_unavailable);
    g.set_size(static_cast<int>(a.instances.size()));
    g.set_min_in_service(static_cast<int>(a.min_size));
    for (const auto& i : a.instances) {
      if (i.lifecycle_state != "InService" || i.health_status == "Unhealthy") {
        g.add_out_of_service(i.instance_id);
      }
    }
    return g;
  }
  return Error(ErrorCode::kNotFound, "Auto Scaling group " + name + " not found");
}

Status ForEachInstanceTargetGroup(
    aws::Elbv2& elb,
    const std::function<void(const aws::TargetGroup&, const aws::DescribeTargetHealthResponse&)>&
        each) {
  return aws::ForEachPage(
      aws::DescribeTargetGroupsRequest{},
      [&](const auto& page_request) { return elb.DescribeTargetGroups(page_request); },
      [&](auto& page) -> Status {
        for (const auto& tg : page.target_groups) {
          if (!tg.target_type.empty() && tg.target_type != "instance") continue;
          auto health = elb.DescribeTargetHealth({tg.arn, {}});
          if (!health.ok()) return health.error();
          each(tg, *health);
        }
        return Ok{};
      });
}

Result<std::vector<std::string>> TargetGroupsOf(aws::Elbv2& elb, const std::string& instance) {
  std::vector<std::string> out;
  Status read = ForEachInstanceTargetGroup(elb, [&](const auto& tg, const auto& health) {
    for (const auto& h : health.descriptions) {
      if (h.target.id != instance) continue;
      out.push_back(tg.arn);
      break;
    }
  });
  if (!read.ok()) return read.error();
  return out;
}

Result<v1::CapacityClaim> ClaimInstance(aws::CellClients& aws, const std::string& instance,
                                        const std::vector<std::string>& target_groups,
                                        const std::string& asg_name,
                                        const std::string& default_max_unavailable) {
  v1::CapacityClaim claim;
  claim.set_unit(instance);
  for (const auto& arn : target_groups) {
    auto g = ReadTargetGroup(*aws.elbv2, arn, default_max_unavailable);
    if (!g.ok()) return g.error();
    *claim.add_groups() = std::move(*g);
  }
  if (!asg_name.empty()) {
    auto g = ReadAutoScalingGroup(*aws.autoscaling, asg_name, default_max_unavailable);
    if (!g.ok()) return g.error();
    *claim.add_groups() = std::move(*g);
  }
  return claim;
}

}  // namespace fleetkeeper::handlers
