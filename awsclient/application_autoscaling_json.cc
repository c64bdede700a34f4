// Application Auto Scaling over JSON 1.1 (target prefix AnyScaleFrontendService).
#include <utility>

#include <nlohmann/json.hpp>

#include "awsclient/application_autoscaling.h"
#include "awsclient/json_protocol.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;

constexpr const char* kService = "application-autoscaling";

auto ReadTargets = [](JsonReader& r, const json& body) {
  DescribeScalableTargetsResponse out;
  for (const json* t : r.Objects(body, "ScalableTargets")) {
    ScalableTarget target;
    target.service_namespace = r.Str(*t, "ServiceNamespace");
    target.resource_id = r.Str(*t, "ResourceId");
    target.scalable_dimension = r.Str(*t, "ScalableDimension");
    target.min_capacity = r.Int(*t, "MinCapacity");
    target.max_capacity = r.Int(*t, "MaxCapacity");
    target.role_arn = r.Str(*t, "RoleARN");
    target.arn = r.Str(*t, "ScalableTargetARN");
    if (const json* s = r.Object(*t, "SuspendedState")) {
      target.suspended.dynamic_scaling_in = r.Bool(*s, "DynamicScalingInSuspended");
      target.suspended.dynamic_scaling_out = r.Bool(*s, "DynamicScalingOutSuspended");
      target.suspended.scheduled_scaling = r.Bool(*s, "ScheduledScalingSuspended");
    }
    out.targets.push_back(std::move(target));
  }
  out.next_token = r.Str(body, "NextToken");
  return out;
};

class ApplicationAutoScalingJsonClient final : public ApplicationAutoScaling {
 public:
  explicit ApplicationAutoScalingJsonClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<DescribeScalableTargetsResponse> DescribeScalableTargets(
      const DescribeScalableTargetsRequest& r) override {
    if (r.resource_ids.size() > kMaxScalableTargetIds) {
      return InvalidInput("DescribeScalableTargets: at most 50 resource ids, got " +
                          std::to_string(r.resource_ids.size()));
    }
    json body = {{"ServiceNamespace", r.service_namespace}};
    if (!r.resource_ids.empty()) body["ResourceIds"] = r.resource_ids;
    if (!r.scalable_dimension.empty()) body["ScalableDimension"] = r.scalable_dimension;
    if (r.max_results) body["MaxResults"] = *r.max_results;
    if (!r.next_token.empty()) body["NextToken"] = r.next_token;
    return CallJsonAndRead<DescribeScalableTargetsResponse>(
        *t_, kService, kApplicationAutoScalingTargetPrefix, "DescribeScalableTargets", body,
        ReadTargets);
  }

  Result<std::string> RegisterScalableTarget(const RegisterScalableTargetRequest& r) override {
    json body = {{"ServiceNamespace", r.service_namespace},
                 {"ResourceId", r.resource_id},
                 {"ScalableDimension", r.scalable_dimension}};
    if (r.min_capacity) body["MinCapacity"] = *r.min_capacity;
    if (r.max_capacity) body["MaxCapacity"] = *r.max_capacity;
    if (r.suspended) {
      body["SuspendedState"] = {{"DynamicScalingInSuspended", r.suspended->dynamic_scaling_in},
                                {"DynamicScalingOutSuspended", r.suspended->dynamic_scaling_out},
                                {"ScheduledScalingSuspended", r.suspended->scheduled_scaling}};
    }
    return CallJsonAndRead<std::string>(
        *t_, kService, kApplicationAutoScalingTargetPrefix, "RegisterScalableTarget", body,
        [](JsonReader& x, const json& b) { return x.Str(b, "ScalableTargetARN"); });
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::string EcsServiceResourceId(const std::string& cluster, const std::string& service) {
  return "service/" + cluster + "/" + service;
}

std::unique_ptr<ApplicationAutoScaling> MakeApplicationAutoScalingClient(
    std::shared_ptr<Transport> transport) {
  return std::make_unique<ApplicationAutoScalingJsonClient>(std::move(transport));
}

Result<DescribeScalableTargetsResponse> ParseDescribeScalableTargets(const std::string& body) {
  return ReadJsonBody<DescribeScalableTargetsResponse>(
      "DescribeScalableTargets", ParseJsonResponse("DescribeScalableTargets", body), ReadTargets);
}

}  // namespace fleetkeeper::aws
