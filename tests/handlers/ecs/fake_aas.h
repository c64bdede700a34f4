// A small Application Auto Scaling for the ECS handler's unit tests: scalable targets by resource
// id; RegisterScalableTarget changes what it is sent, and logs
// "RegisterScalableTarget <resource id> suspended=<in,out,scheduled | none>" into `log`.
#pragma once

#include <algorithm>
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
    std::vector<aws::ScalableTarget> found;
    for (const auto& id : r.resource_ids) {
      auto it = targets.find(id);
      if (it != targets.end()) found.push_back(it->second);
    }
    // NextToken: the index of the page's first target.
    const size_t start = r.next_token.empty() ? 0 : std::stoul(r.next_token);
    const size_t end = page_size == 0 ? found.size() : std::min(found.size(), start + page_size);
    aws::DescribeScalableTargetsResponse out;
    out.targets.assign(found.begin() + static_cast<std::ptrdiff_t>(std::min(start, end)),
                       found.begin() + static_cast<std::ptrdiff_t>(end));
    if (end < found.size()) out.next_token = std::to_string(end);
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
  size_t page_size = 0;  // targets per DescribeScalableTargets page; 0: all on one
  int describes = 0;

 private:
  std::vector<std::string>* log_;
};

}  // namespace fleetkeeper::handlers::ecs::testing
