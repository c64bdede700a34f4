// Auto Scaling over the query protocol (API version 2011-01-01): "member" lists both ways.
#include <utility>

#include "awsclient/autoscaling.h"
#include "awsclient/query_protocol.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kVersion = "2011-01-01";
constexpr const char* kService = "autoscaling";

QueryParams Params(const char* action) {
  return QueryParams(QueryFlavor::kQuery, action, kVersion);
}

// ---- request serialization ----

void SetLaunchTemplate(QueryParams& p, const std::string& prefix, const LaunchTemplateSpec& lt) {
  p.SetIfNotEmpty(prefix + ".LaunchTemplateId", lt.id);
  p.SetIfNotEmpty(prefix + ".LaunchTemplateName", lt.name);
  p.SetIfNotEmpty(prefix + ".Version", lt.version);
}

void SetMixedInstancesPolicy(QueryParams& p, const std::string& prefix,
                             const MixedInstancesPolicy& m) {
  SetLaunchTemplate(p, prefix + ".LaunchTemplate.LaunchTemplateSpecification", m.launch_template);
  for (size_t i = 0; i < m.overrides.size(); ++i) {
    const LaunchTemplateOverride& o = m.overrides[i];
    std::string base = p.ListKey(prefix + ".LaunchTemplate.Overrides", i + 1);
    p.SetIfNotEmpty(base + ".InstanceType", o.instance_type);
    p.SetIfNotEmpty(base + ".WeightedCapacity", o.weighted_capacity);
    if (o.launch_template) {
      SetLaunchTemplate(p, base + ".LaunchTemplateSpecification", *o.launch_template);
    }
  }
  if (m.instances_distribution) {
    const InstancesDistribution& d = *m.instances_distribution;
    const std::string base = prefix + ".InstancesDistribution";
    p.SetIfNotEmpty(base + ".OnDemandAllocationStrategy", d.on_demand_allocation_strategy);
    p.SetIf(base + ".OnDemandBaseCapacity", d.on_demand_base_capacity);
    p.SetIf(base + ".OnDemandPercentageAboveBaseCapacity",
            d.on_demand_percentage_above_base_capacity);
    p.SetIfNotEmpty(base + ".SpotAllocationStrategy", d.spot_allocation_strategy);
    p.SetIf(base + ".SpotInstancePools", d.spot_instance_pools);
    p.SetIfNotEmpty(base + ".SpotMaxPrice", d.spot_max_price);
  }
}

void SetPreferences(QueryParams& p, const InstanceRefreshPreferences& pr) {
  p.SetIf("Preferences.MinHealthyPercentage", pr.min_healthy_percentage);
  p.SetIf("Preferences.MaxHealthyPercentage", pr.max_healthy_percentage);
  p.SetIf("Preferences.InstanceWarmup", pr.instance_warmup);
  for (size_t i = 0; i < pr.checkpoint_percentages.size(); ++i) {
    p.Set(p.ListKey("Preferences.CheckpointPercentages", i + 1), pr.checkpoint_percentages[i]);
  }
  p.SetIf("Preferences.CheckpointDelay", pr.checkpoint_delay);
  p.SetIf("Preferences.SkipMatching", pr.skip_matching);
  p.SetIf("Preferences.AutoRollback", pr.auto_rollback);
  p.SetIfNotEmpty("Preferences.ScaleInProtectedInstances", pr.scale_in_protected_instances);
  p.SetIfNotEmpty("Preferences.StandbyInstances", pr.standby_instances);
  p.SetListIfNotEmpty("Preferences.AlarmSpecification.Alarms", pr.alarms);
}

// ---- response parsing ----

std::optional<LaunchTemplateSpec> ReadLaunchTemplate(XmlReader& r, pugi::xml_node n) {
  if (!n) return std::nullopt;
  return LaunchTemplateSpec{r.Text(n, "LaunchTemplateId"), r.Text(n, "LaunchTemplateName"),
                            r.Text(n, "Version")};
}

std::optional<MixedInstancesPolicy> ReadMixedInstancesPolicy(XmlReader& r, pugi::xml_node n) {
  if (!n) return std::nullopt;
  MixedInstancesPolicy m;
  pugi::xml_node lt = n.child("LaunchTemplate");
  if (auto spec = ReadLaunchTemplate(r, lt.child("LaunchTemplateSpecification"))) {
    m.launch_template = std::move(*spec);
  }
  for (pugi::xml_node o : r.Members(lt, "Overrides")) {
    m.overrides.push_back({r.Text(o, "InstanceType"), r.Text(o, "WeightedCapacity"),
                           ReadLaunchTemplate(r, o.child("LaunchTemplateSpecification"))});
  }
  if (pugi::xml_node d = n.child("InstancesDistribution")) {
    InstancesDistribution dist;
    dist.on_demand_allocation_strategy = r.Text(d, "OnDemandAllocationStrategy");
    dist.on_demand_base_capacity = r.OptInt(d, "OnDemandBaseCapacity");
    dist.on_demand_percentage_above_base_capacity =
        r.OptInt(d, "OnDemandPercentageAboveBaseCapacity");
    dist.spot_allocation_strategy = r.Text(d, "SpotAllocationStrategy");
    dist.spot_instance_pools = r.OptInt(d, "SpotInstancePools");
    dist.spot_max_price = r.Text(d, "SpotMaxPrice");
    m.instances_distribution = std::move(dist);
  }
  return m;
}

AutoScalingGroup ReadGroup(XmlReader& r, pugi::xml_node n) {
  AutoScalingGroup g;
  r.Require(n, "AutoScalingGroupName");
  g.name = r.Text(n, "AutoScalingGroupName");
  g.arn = r.Text(n, "AutoScalingGroupARN");
  g.launch_configuration_name = r.Text(n, "LaunchConfigurationName");
  g.launch_template = ReadLaunchTemplate(r, n.child("LaunchTemplate"));
  g.mixed_instances_policy = ReadMixedInstancesPolicy(r, n.child("MixedInstancesPolicy"));
  g.min_size = r.Int(n, "MinSize");
  g.max_size = r.Int(n, "MaxSize");
  g.desired_capacity = r.Int(n, "DesiredCapacity");
  g.default_cooldown = r.Int(n, "DefaultCooldown");
  g.default_instance_warmup = r.OptInt(n, "DefaultInstanceWarmup");
  g.availability_zones = r.MemberTexts(n, "AvailabilityZones");
  g.vpc_zone_identifier = r.Text(n, "VPCZoneIdentifier");
  g.target_group_arns = r.MemberTexts(n, "TargetGroupARNs");
  g.load_balancer_names = r.MemberTexts(n, "LoadBalancerNames");
  g.health_check_type = r.Text(n, "HealthCheckType");
  g.health_check_grace_period = r.Int(n, "HealthCheckGracePeriod");
  for (pugi::xml_node i : r.Members(n, "Instances")) {
    AsgInstance a;
    a.instance_id = r.Text(i, "InstanceId");
    a.instance_type = r.Text(i, "InstanceType");
    a.availability_zone = r.Text(i, "AvailabilityZone");
    a.lifecycle_state = r.Text(i, "LifecycleState");
    a.health_status = r.Text(i, "HealthStatus");
    a.launch_template = ReadLaunchTemplate(r, i.child("LaunchTemplate"));
    a.launch_configuration_name = r.Text(i, "LaunchConfigurationName");
    a.protected_from_scale_in = r.Bool(i, "ProtectedFromScaleIn");
    g.instances.push_back(std::move(a));
  }
  for (pugi::xml_node t : r.Members(n, "Tags")) g.tags[r.Text(t, "Key")] = r.Text(t, "Value");
  g.status = r.Text(n, "Status");
  g.created_time_ms = r.TimeMs(n, "CreatedTime");
  return g;
}

InstanceRefresh ReadRefresh(XmlReader& r, pugi::xml_node n) {
  InstanceRefresh f;
  r.Require(n, "InstanceRefreshId");
  f.id = r.Text(n, "InstanceRefreshId");
  f.asg_name = r.Text(n, "AutoScalingGroupName");
  f.status = r.Text(n, "Status");
  f.status_reason = r.Text(n, "StatusReason");
  f.start_time_ms = r.TimeMs(n, "StartTime");
  f.end_time_ms = r.TimeMs(n, "EndTime");
  f.percentage_complete = r.OptInt(n, "PercentageComplete");
  f.instances_to_update = r.OptInt(n, "InstancesToUpdate");
  if (pugi::xml_node d = n.child("DesiredConfiguration")) {
    RefreshDesiredConfiguration c;
    c.launch_template = ReadLaunchTemplate(r, d.child("LaunchTemplate"));
    c.mixed_instances_policy = ReadMixedInstancesPolicy(r, d.child("MixedInstancesPolicy"));
    f.desired_configuration = std::move(c);
  }
  f.auto_rollback = r.OptBool(n.child("Preferences"), "AutoRollback");
  f.skip_matching = r.OptBool(n.child("Preferences"), "SkipMatching");
  f.rollback_reason = r.Text(n.child("RollbackDetails"), "RollbackReason");
  return f;
}

ScalingActivity ReadActivity(XmlReader& r, pugi::xml_node n) {
  ScalingActivity a;
  a.activity_id = r.Text(n, "ActivityId");
  a.asg_name = r.Text(n, "AutoScalingGroupName");
  a.status_code = r.Text(n, "StatusCode");
  a.description = r.Text(n, "Description");
  a.cause = r.Text(n, "Cause");
  a.progress = r.OptInt(n, "Progress");
  return a;
}

auto ReadDescribeGroups = [](XmlReader& r, pugi::xml_node result) {
  DescribeAutoScalingGroupsResponse out;
  for (pugi::xml_node n : r.Members(result, "AutoScalingGroups")) {
    out.groups.push_back(ReadGroup(r, n));
  }
  out.next_token = r.Text(result, "NextToken");
  return out;
};

auto ReadDescribeRefreshes = [](XmlReader& r, pugi::xml_node result) {
  DescribeInstanceRefreshesResponse out;
  for (pugi::xml_node n : r.Members(result, "InstanceRefreshes")) {
    out.refreshes.push_back(ReadRefresh(r, n));
  }
  out.next_token = r.Text(result, "NextToken");
  return out;
};

auto ReadRefreshId = [](XmlReader& r, pugi::xml_node result) {
  r.Require(result, "InstanceRefreshId");
  return InstanceRefreshIdResponse{r.Text(result, "InstanceRefreshId"), ""};
};

auto ReadActivities = [](XmlReader& r, pugi::xml_node result) {
  ScalingActivities out;
  for (pugi::xml_node n : r.Members(result, "Activities")) {
    out.activities.push_back(ReadActivity(r, n));
  }
  return out;
};

class AutoScalingQueryClient final : public AutoScaling {
 public:
  explicit AutoScalingQueryClient(std::shared_ptr<Transport> t) : t_(std::move(t)) {}

  Result<DescribeAutoScalingGroupsResponse> DescribeAutoScalingGroups(
      const DescribeAutoScalingGroupsRequest& r) override {
    QueryParams p = Params("DescribeAutoScalingGroups");
    p.SetListIfNotEmpty("AutoScalingGroupNames", r.names);
    p.SetFilters("Filters", r.filters, "Name", "Values");
    p.SetIf("MaxRecords", r.max_records);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return CallAndRead<DescribeAutoScalingGroupsResponse>(*t_, kService, p, ReadDescribeGroups);
  }

  Result<StartInstanceRefreshResponse> StartInstanceRefresh(
      const StartInstanceRefreshRequest& r) override {
    QueryParams p = Params("StartInstanceRefresh");
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetIfNotEmpty("Strategy", r.strategy);
    if (r.desired_configuration) {
      if (r.desired_configuration->launch_template) {
        SetLaunchTemplate(p, "DesiredConfiguration.LaunchTemplate",
                          *r.desired_configuration->launch_template);
      }
      if (r.desired_configuration->mixed_instances_policy) {
        SetMixedInstancesPolicy(p, "DesiredConfiguration.MixedInstancesPolicy",
                                *r.desired_configuration->mixed_instances_policy);
      }
    }
    SetPreferences(p, r.preferences);
    return CallRecorded<StartInstanceRefreshResponse>(
        *t_, kService, p, [](XmlReader& x, pugi::xml_node result) {
          x.Require(result, "InstanceRefreshId");
          return StartInstanceRefreshResponse{x.Text(result, "InstanceRefreshId"), ""};
        });
  }

  Result<DescribeInstanceRefreshesResponse> DescribeInstanceRefreshes(
      const DescribeInstanceRefreshesRequest& r) override {
    QueryParams p = Params("DescribeInstanceRefreshes");
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetListIfNotEmpty("InstanceRefreshIds", r.instance_refresh_ids);
    p.SetIf("MaxRecords", r.max_records);
    p.SetIfNotEmpty("NextToken", r.next_token);
    return CallAndRead<DescribeInstanceRefreshesResponse>(*t_, kService, p, ReadDescribeRefreshes);
  }

  Result<InstanceRefreshIdResponse> CancelInstanceRefresh(const AsgNameRequest& r) override {
    QueryParams p = Params("CancelInstanceRefresh");
    p.Set("AutoScalingGroupName", r.asg_name);
    return CallRecorded<InstanceRefreshIdResponse>(*t_, kService, p, ReadRefreshId);
  }

  Result<InstanceRefreshIdResponse> RollbackInstanceRefresh(const AsgNameRequest& r) override {
    QueryParams p = Params("RollbackInstanceRefresh");
    p.Set("AutoScalingGroupName", r.asg_name);
    return CallRecorded<InstanceRefreshIdResponse>(*t_, kService, p, ReadRefreshId);
  }

  Status SetDesiredCapacity(const SetDesiredCapacityRequest& r) override {
    QueryParams p = Params("SetDesiredCapacity");
    p.Set("AutoScalingGroupName", r.asg_name);
    p.Set("DesiredCapacity", r.desired_capacity);
    p.SetIf("HonorCooldown", r.honor_cooldown);
    return CallNoOutput(*t_, kService, p);
  }

  Status SetInstanceHealth(const SetInstanceHealthRequest& r) override {
    QueryParams p = Params("SetInstanceHealth");
    p.Set("InstanceId", r.instance_id);
    p.Set("HealthStatus", r.health_status);
    p.SetIf("ShouldRespectGracePeriod", r.should_respect_grace_period);
    return CallNoOutput(*t_, kService, p);
  }

  Result<ScalingActivity> TerminateInstanceInAutoScalingGroup(
      const TerminateInstanceInAutoScalingGroupRequest& r) override {
    QueryParams p = Params("TerminateInstanceInAutoScalingGroup");
    p.Set("InstanceId", r.instance_id);
    p.Set("ShouldDecrementDesiredCapacity", r.should_decrement_desired_capacity);
    return CallAndRead<ScalingActivity>(*t_, kService, p, [](XmlReader& x, pugi::xml_node result) {
      return ReadActivity(x, result.child("Activity"));
    });
  }

  Result<RequestReceipt> UpdateAutoScalingGroup(const UpdateAutoScalingGroupRequest& r) override {
    QueryParams p = Params("UpdateAutoScalingGroup");
    p.Set("AutoScalingGroupName", r.asg_name);
    if (r.launch_template) SetLaunchTemplate(p, "LaunchTemplate", *r.launch_template);
    if (r.mixed_instances_policy) {
      SetMixedInstancesPolicy(p, "MixedInstancesPolicy", *r.mixed_instances_policy);
    }
    p.SetIf("MinSize", r.min_size);
    p.SetIf("MaxSize", r.max_size);
    p.SetIf("DesiredCapacity", r.desired_capacity);
    return CallReceipt(*t_, kService, p);
  }

  Status CompleteLifecycleAction(const CompleteLifecycleActionRequest& r) override {
    QueryParams p = Params("CompleteLifecycleAction");
    p.Set("LifecycleHookName", r.lifecycle_hook_name);
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetIfNotEmpty("LifecycleActionToken", r.lifecycle_action_token);
    p.SetIfNotEmpty("InstanceId", r.instance_id);
    p.Set("LifecycleActionResult", r.lifecycle_action_result);
    return CallNoOutput(*t_, kService, p);
  }

  Status RecordLifecycleActionHeartbeat(const RecordLifecycleActionHeartbeatRequest& r) override {
    QueryParams p = Params("RecordLifecycleActionHeartbeat");
    p.Set("LifecycleHookName", r.lifecycle_hook_name);
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetIfNotEmpty("LifecycleActionToken", r.lifecycle_action_token);
    p.SetIfNotEmpty("InstanceId", r.instance_id);
    return CallNoOutput(*t_, kService, p);
  }

  Result<ScalingActivities> EnterStandby(const EnterStandbyRequest& r) override {
    QueryParams p = Params("EnterStandby");
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetList("InstanceIds", r.instance_ids);
    p.Set("ShouldDecrementDesiredCapacity", r.should_decrement_desired_capacity);
    return CallAndRead<ScalingActivities>(*t_, kService, p, ReadActivities);
  }

  Result<ScalingActivities> ExitStandby(const ExitStandbyRequest& r) override {
    QueryParams p = Params("ExitStandby");
    p.Set("AutoScalingGroupName", r.asg_name);
    p.SetList("InstanceIds", r.instance_ids);
    return CallAndRead<ScalingActivities>(*t_, kService, p, ReadActivities);
  }

 private:
  std::shared_ptr<Transport> t_;
};

}  // namespace

std::unique_ptr<AutoScaling> MakeAutoScalingClient(std::shared_ptr<Transport> transport) {
  return std::make_unique<AutoScalingQueryClient>(std::move(transport));
}

Result<DescribeAutoScalingGroupsResponse> ParseDescribeAutoScalingGroups(const std::string& xml) {
  return ParseAndRead<DescribeAutoScalingGroupsResponse>(
      QueryFlavor::kQuery, "DescribeAutoScalingGroups", xml, ReadDescribeGroups);
}

Result<DescribeInstanceRefreshesResponse> ParseDescribeInstanceRefreshes(const std::string& xml) {
  return ParseAndRead<DescribeInstanceRefreshesResponse>(
      QueryFlavor::kQuery, "DescribeInstanceRefreshes", xml, ReadDescribeRefreshes);
}

}  // namespace fleetkeeper::aws
