#include "handlers/ecs/scaling.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "awsclient/pagination.h"
#include "handlers/ecs/reads.h"

namespace fleetkeeper::handlers::ecs {
namespace {

// The marker tag's names of the three flags.
constexpr char kIn[] = "in";
constexpr char kOut[] = "out";
constexpr char kScheduled[] = "scheduled";

}  // namespace

Result<std::map<std::string, aws::ScalableTarget>> ReadScalableTargets(
    aws::ApplicationAutoScaling& aas, const std::string& cluster,
    const std::vector<std::string>& services) {
  std::map<std::string, std::string> service_of;  // resource id -> service name
  std::vector<std::string> ids;
  for (const auto& s : services) {
    const std::string id = aws::EcsServiceResourceId(NameOf(cluster), NameOf(s));
    service_of[id] = s;
    ids.push_back(id);
  }
  std::map<std::string, aws::ScalableTarget> out;
  for (size_t i = 0; i < ids.size(); i += aws::kMaxScalableTargetIds) {
    aws::DescribeScalableTargetsRequest r;
    r.resource_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(i),
                          ids.begin() + static_cast<std::ptrdiff_t>(
                                            std::min(ids.size(), i + aws::kMaxScalableTargetIds)));
    r.scalable_dimension = aws::kEcsDesiredCount;
    Status paged = aws::ForEachPage(
        std::move(r),
        [&](const auto& page_request) { return aas.DescribeScalableTargets(page_request); },
        [&](aws::DescribeScalableTargetsResponse& page) -> Status {
          for (auto& t : page.targets) {
            auto it = service_of.find(t.resource_id);
            if (it != service_of.end() && t.scalable_dimension == aws::kEcsDesiredCount) {
              out[it->second] = std::move(t);
            }
          }
          return Ok{};
        });
    if (!paged.ok()) return std::move(paged).take_error();
  }
  return out;
}

std::string FlagsToSuspend(const aws::SuspendedState& now) {
  std::vector<std::string> flags;
  if (!now.dynamic_scaling_in) flags.push_back(kIn);
  if (!now.dynamic_scaling_out) flags.push_back(kOut);
  if (!now.scheduled_scaling) flags.push_back(kScheduled);
  return fmt::format("{}", fmt::join(flags, ","));
}

aws::SuspendedState Resumed(const aws::SuspendedState& now, const std::string& marker) {
  aws::SuspendedState out = now;
  size_t start = 0;
  while (start <= marker.size()) {
    const size_t comma = std::min(marker.find(',', start), marker.size());
    const std::string flag = marker.substr(start, comma - start);
    if (flag == kIn) out.dynamic_scaling_in = false;
    if (flag == kOut) out.dynamic_scaling_out = false;
    if (flag == kScheduled) out.scheduled_scaling = false;
    start = comma + 1;
  }
  return out;
}

Status SetSuspendedState(aws::ApplicationAutoScaling& aas, const aws::ScalableTarget& target,
                         const aws::SuspendedState& state) {
  aws::RegisterScalableTargetRequest r;
  r.service_namespace =
      target.service_namespace.empty() ? aws::kEcsNamespace : target.service_namespace;
  r.resource_id = target.resource_id;
  r.scalable_dimension = aws::kEcsDesiredCount;
  r.suspended = state;
  auto answer = aas.RegisterScalableTarget(r);
  if (!answer.ok()) return std::move(answer).take_error();
  return Ok{};
}

std::string AboveMax(const v1::EcsServiceTarget& target) {
  if (!target.scalable() || !target.has_target() || target.target() <= target.scalable_max()) {
    return "";
  }
  return fmt::format(
      "; above the scalable target's max {}: Application Auto Scaling may scale it back to {}",
      target.scalable_max(), target.scalable_max());
}

std::string DescribeTarget(const aws::ScalableTarget& target) {
  std::vector<std::string> off;
  if (target.suspended.dynamic_scaling_in) off.push_back(kIn);
  if (target.suspended.dynamic_scaling_out) off.push_back(kOut);
  if (target.suspended.scheduled_scaling) off.push_back(kScheduled);
  return fmt::format("min {}, max {}, scaling {}", target.min_capacity, target.max_capacity,
                     off.empty() ? "active" : fmt::format("suspended ({})", fmt::join(off, ", ")));
}

}  // namespace fleetkeeper::handlers::ecs
