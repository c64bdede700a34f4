// A small Application Auto Scaling for the ECS handler's unit tests: scalable targets by resource
// id; RegisterScalableTarget changes what it is sent, and logs
// "RegisterScalableTarget <resource id> suspended=<in,out,scheduled | none>" into `log`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "awsclient/application_autoscaling.h"

namespace fleetkeeper::handlers::ecs::testing {

class FakeApplicationAutoScaling final : public aws::ApplicationAutoScaling {
 public:
  explicit FakeApplicationAutoScaling(std::vector<std::string>* log) : log_(log) {}

  aws::ScalableTarget& Add(const std::string& cluster, const std::string& service, int64_t min,
                           int64_t max) {
    aws::ScalableTarget t;
    t.service_namespace = aws::kEcsNamespace;
    t.resource_id = aws::EcsServiceResourceId(cluster, service);
    t.scalable_dimension = aws::kEcsDesiredCount;
    t.min_capacity = min;
    t.max_capacity = max;
    return targets[t.resource_id] = t;
  }

  Result<aws::DescribeScalableTargetsResponse> DescribeScalableTargets(
      const aws::DescribeScalableTargetsRequest& r) override {
    ++describes;
    aws::DescribeScalableTargetsResponse out;
    for (const auto& id : r.resource_ids) {
      auto it = targets.find(id);
      if (it != targets.end()) out.targets.push_back(it->second);
    }
    return out;
  }
  Result<std::string> RegisterScalableTarget(const aws::RegisterScalableTargetRequest& r) override {
    auto it = targets.find(r.resource_id);
    if (it == targets.end()) return Error(ErrorCode::kInvalidInput, "no such target");
    if (r.min_capacity) it->second.min_capacity = *r.min_capacity;
    if (r.max_capacity) it->second.max_capacity = *r.max_capacity;
    if (r.suspended) it->second.suspended = *r.suspended;
    const aws::SuspendedState& s = it->second.suspended;
    std::string flags;
    for (auto [on, name] :
         {std::pair{s.dynamic_scaling_in, "in"}, std::pair{s.dynamic_scaling_out, "out"},
          std::pair{s.scheduled_scaling, "scheduled"}}) {
      if (on) flags += std::string(flags.empty() ? "" : ",") + name;
    }
    log_->push_back("RegisterScalableTarget " + r.resource_id +
                    " suspended=" + (flags.empty() ? "none" : flags));
    return "arn:aws:application-autoscaling:us-east-1:111122223333:scalable-target/" +
           r.resource_id;
  }

  std::map<std::string, aws::ScalableTarget> targets;
  int describes = 0;

 private:
  std::vector<std::string>* log_;
};

}  // namespace fleetkeeper::handlers::ecs::testing
