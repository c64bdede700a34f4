// Application Auto Scaling, for the ECS lifecycle handler: a service's scalable target (its min,
// max and suspended state), read before a scale, suspended while the service is held at zero and
// resumed by restore. Handlers depend on the abstract ApplicationAutoScaling interface;
// MakeApplicationAutoScalingClient() is the JSON 1.1 implementation
// (application_autoscaling_json.cc, target prefix AnyScaleFrontendService).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

// The namespace and dimension of an ECS service's desired count.
inline constexpr char kEcsNamespace[] = "ecs";
inline constexpr char kEcsDesiredCount[] = "ecs:service:DesiredCount";

// "service/<cluster name>/<service name>": an ECS service's ResourceId.
std::string EcsServiceResourceId(const std::string& cluster, const std::string& service);

// DescribeScalableTargets takes at most this many resource ids.
inline constexpr size_t kMaxScalableTargetIds = 50;

struct SuspendedState {
  bool dynamic_scaling_in = false;
  bool dynamic_scaling_out = false;
  bool scheduled_scaling = false;
  bool Any() const { return dynamic_scaling_in || dynamic_scaling_out || scheduled_scaling; }
  bool All() const { return dynamic_scaling_in && dynamic_scaling_out && scheduled_scaling; }
};

struct ScalableTarget {
  std::string service_namespace;
  std::string resource_id;
  std::string scalable_dimension;
  int64_t min_capacity = 0;
  int64_t max_capacity = 0;
  std::string role_arn;
  std::string arn;
  SuspendedState suspended;  // all false when the answer has none
};

struct DescribeScalableTargetsRequest {
  std::string service_namespace = kEcsNamespace;
  std::vector<std::string> resource_ids;  // empty: every target of the namespace
  std::string scalable_dimension;         // empty: any
  std::optional<int> max_results;
  std::string next_token;
};

struct DescribeScalableTargetsResponse {
  std::vector<ScalableTarget> targets;
  std::string next_token;
};

// Registers a target or, for one that exists, changes only what is set.
struct RegisterScalableTargetRequest {
  std::string service_namespace = kEcsNamespace;
  std::string resource_id;
  std::string scalable_dimension = kEcsDesiredCount;
  std::optional<int64_t> min_capacity;
  std::optional<int64_t> max_capacity;
  std::optional<SuspendedState> suspended;  // sent with all three fields
};

// Thread-safe.
class ApplicationAutoScaling {
 public:
  virtual ~ApplicationAutoScaling() = default;
  virtual Result<DescribeScalableTargetsResponse> DescribeScalableTargets(
      const DescribeScalableTargetsRequest& r) = 0;
  // The answer is the target's ARN.
  virtual Result<std::string> RegisterScalableTarget(const RegisterScalableTargetRequest& r) = 0;
};

std::unique_ptr<ApplicationAutoScaling> MakeApplicationAutoScalingClient(
    std::shared_ptr<Transport> transport);

// Parses a DescribeScalableTargets answer (exposed for the parsing tests).
Result<DescribeScalableTargetsResponse> ParseDescribeScalableTargets(const std::string& body);

}  // namespace fleetkeeper::aws
