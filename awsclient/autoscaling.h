// Amazon EC2 Auto Scaling, the operations fleetkeeper's handlers make. Handlers depend on the
// abstract AutoScaling interface; MakeAutoScalingClient() is the query-protocol wire
// implementation (autoscaling_query.cc). Times are epoch milliseconds (0 = absent).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "awsclient/transport.h"
#include "common/error.h"

namespace fleetkeeper::aws {

using Tags = std::map<std::string, std::string>;
using Filters = std::map<std::string, std::vector<std::string>>;

struct LaunchTemplateSpec {
  std::string id;
  std::string name;
  std::string version;  // a number, "$Latest" or "$Default"; empty = the template's default
};

struct LaunchTemplateOverride {
  std::string instance_type;
  std::string weighted_capacity;
  std::optional<LaunchTemplateSpec> launch_template;  // a per-type template
};

struct InstancesDistribution {
  std::string on_demand_allocation_strategy;
  std::optional<int64_t> on_demand_base_capacity;
  std::optional<int64_t> on_demand_percentage_above_base_capacity;
  std::string spot_allocation_strategy;
  std::optional<int64_t> spot_instance_pools;
  std::string spot_max_price;
};

struct MixedInstancesPolicy {
  LaunchTemplateSpec launch_template;
  std::vector<LaunchTemplateOverride> overrides;
  std::optional<InstancesDistribution> instances_distribution;
};

struct AsgInstance {
  std::string instance_id;
  std::string instance_type;
  std::string availability_zone;
  std::string lifecycle_state;  // Pending | InService | Terminating | Standby | ...
  std::string health_status;    // Healthy | Unhealthy
  std::optional<LaunchTemplateSpec> launch_template;  // with the version it was launched from
  std::string launch_configuration_name;
  bool protected_from_scale_in = false;
};

struct AutoScalingGroup {
  std::string name;
  std::string arn;
  std::string launch_configuration_name;
  std::optional<LaunchTemplateSpec> launch_template;
  std::optional<MixedInstancesPolicy> mixed_instances_policy;
  int64_t min_size = 0;
  int64_t max_size = 0;
  int64_t desired_capacity = 0;
  int64_t default_cooldown = 0;
  std::optional<int64_t> default_instance_warmup;
  std::vector<std::string> availability_zones;
  std::string vpc_zone_identifier;  // comma-separated subnet ids
  std::vector<std::string> target_group_arns;
  std::vector<std::string> load_balancer_names;
  std::string health_check_type;
  int64_t health_check_grace_period = 0;
  std::vector<AsgInstance> instances;
  Tags tags;
  std::string status;  // set while the group is being deleted
  int64_t created_time_ms = 0;
};

struct DescribeAutoScalingGroupsRequest {
  std::vector<std::string> names;
  Filters filters;  // e.g. {"tag:fleetkeeper:ami-parameter", {name}}
  std::optional<int> max_records;
  std::string next_token;
};

struct DescribeAutoScalingGroupsResponse {
  std::vector<AutoScalingGroup> groups;
  std::string next_token;
};

// Preferences of StartInstanceRefresh; every key of fleetkeeper.v1.RefreshPreferences.
struct InstanceRefreshPreferences {
  std::optional<int> min_healthy_percentage;
  std::optional<int> max_healthy_percentage;
  std::optional<int> instance_warmup;
  std::vector<int> checkpoint_percentages;
  std::optional<int> checkpoint_delay;
  std::optional<bool> skip_matching;
  std::optional<bool> auto_rollback;
  std::string scale_in_protected_instances;  // Refresh | Ignore | Wait
  std::string standby_instances;             // Terminate | Ignore | Wait
  std::vector<std::string> alarms;           // AlarmSpecification.Alarms
};

struct RefreshDesiredConfiguration {
  std::optional<LaunchTemplateSpec> launch_template;
  std::optional<MixedInstancesPolicy> mixed_instances_policy;
};

struct StartInstanceRefreshRequest {
  std::string asg_name;
  std::string strategy = "Rolling";
  std::optional<RefreshDesiredConfiguration> desired_configuration;
  InstanceRefreshPreferences preferences;
};

struct StartInstanceRefreshResponse {
  std::string instance_refresh_id;
  std::string request_id = {};
};

struct InstanceRefresh {
  std::string id;
  std::string asg_name;
  // Pending | InProgress | Successful | Failed | Cancelling | Cancelled | RollbackInProgress |
  // RollbackFailed | RollbackSuccessful | Baking
  std::string status;
  std::string status_reason;
  int64_t start_time_ms = 0;
  int64_t end_time_ms = 0;
  std::optional<int64_t> percentage_complete;
  std::optional<int64_t> instances_to_update;
  std::optional<RefreshDesiredConfiguration> desired_configuration;
  std::optional<bool> auto_rollback;
  std::optional<bool> skip_matching;
  std::string rollback_reason;  // RollbackDetails.RollbackReason
};

struct DescribeInstanceRefreshesRequest {
  std::string asg_name;
  std::vector<std::string> instance_refresh_ids;
  std::optional<int> max_records;
  std::string next_token;
};

struct DescribeInstanceRefreshesResponse {
  std::vector<InstanceRefresh> refreshes;  // newest first, as AWS returns them
  std::string next_token;
};

struct AsgNameRequest {
  std::string asg_name;
};

struct InstanceRefreshIdResponse {
  std::string instance_refresh_id;
  std::string request_id = {};
};

struct SetDesiredCapacityRequest {
  std::string asg_name;
  int64_t desired_capacity = 0;
  std::optional<bool> honor_cooldown;
};

struct SetInstanceHealthRequest {
  std::string instance_id;
  std::string health_status;  // Healthy | Unhealthy
  std::optional<bool> should_respect_grace_period;
};

struct ScalingActivity {
  std::string activity_id;
  std::string asg_name;
  std::string status_code;
  std::string description;
  std::string cause;
  std::optional<int64_t> progress;
};

struct TerminateInstanceInAutoScalingGroupRequest {
  std::string instance_id;
  bool should_decrement_desired_capacity = false;
};

struct UpdateAutoScalingGroupRequest {
  std::string asg_name;
  std::optional<LaunchTemplateSpec> launch_template;
  std::optional<MixedInstancesPolicy> mixed_instances_policy;
  std::optional<int64_t> min_size;
  std::optional<int64_t> max_size;
  std::optional<int64_t> desired_capacity;
};

struct CompleteLifecycleActionRequest {
  std::string lifecycle_hook_name;
  std::string asg_name;
  std::string lifecycle_action_token;  // token or instance id
  std::string instance_id;
  std::string lifecycle_action_result;  // CONTINUE | ABANDON
};

struct RecordLifecycleActionHeartbeatRequest {
  std::string lifecycle_hook_name;
  std::string asg_name;
  std::string lifecycle_action_token;
  std::string instance_id;
};

struct EnterStandbyRequest {
  std::string asg_name;
  std::vector<std::string> instance_ids;
  bool should_decrement_desired_capacity = false;
};

struct ExitStandbyRequest {
  std::string asg_name;
  std::vector<std::string> instance_ids;
};

struct ScalingActivities {
  std::vector<ScalingActivity> activities;
};

// Thread-safe.
class AutoScaling {
 public:
  virtual ~AutoScaling() = default;

  virtual Result<DescribeAutoScalingGroupsResponse> DescribeAutoScalingGroups(
      const DescribeAutoScalingGroupsRequest& r) = 0;
  virtual Result<StartInstanceRefreshResponse> StartInstanceRefresh(
      const StartInstanceRefreshRequest& r) = 0;
  virtual Result<DescribeInstanceRefreshesResponse> DescribeInstanceRefreshes(
      const DescribeInstanceRefreshesRequest& r) = 0;
  virtual Result<InstanceRefreshIdResponse> CancelInstanceRefresh(const AsgNameRequest& r) = 0;
  virtual Result<InstanceRefreshIdResponse> RollbackInstanceRefresh(const AsgNameRequest& r) = 0;
  virtual Status SetDesiredCapacity(const SetDesiredCapacityRequest& r) = 0;
  virtual Status SetInstanceHealth(const SetInstanceHealthRequest& r) = 0;
  virtual Result<ScalingActivity> TerminateInstanceInAutoScalingGroup(
      const TerminateInstanceInAutoScalingGroupRequest& r) = 0;
  virtual Result<RequestReceipt> UpdateAutoScalingGroup(const UpdateAutoScalingGroupRequest& r) = 0;
  virtual Status CompleteLifecycleAction(const CompleteLifecycleActionRequest& r) = 0;
  virtual Status RecordLifecycleActionHeartbeat(const RecordLifecycleActionHeartbeatRequest& r) = 0;
  virtual Result<ScalingActivities> EnterStandby(const EnterStandbyRequest& r) = 0;
  virtual Result<ScalingActivities> ExitStandby(const ExitStandbyRequest& r) = 0;
};

std::unique_ptr<AutoScaling> MakeAutoScalingClient(std::shared_ptr<Transport> transport);

// Response parsers, exposed for the recorded-response tests.
Result<DescribeAutoScalingGroupsResponse> ParseDescribeAutoScalingGroups(const std::string& xml);
Result<DescribeInstanceRefreshesResponse> ParseDescribeInstanceRefreshes(const std::string& xml);

}  // namespace fleetkeeper::aws
