// Test doubles for the self-healing tests: an in-memory cell store, and a small stateful AWS world
// (Auto Scaling groups, EC2 instances, an ECS service, CodeDeploy deployments, CloudWatch alarms)
// behind the MockCell's GMock services, so that tests assert what happened to the fleet — the
// group's desired capacity, which instance was terminated — rather than which calls were made.
// Behaviour follows the AWS API references: SetDesiredCapacity and
// TerminateInstanceInAutoScalingGroup (ShouldDecrementDesiredCapacity) in
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/, DescribeInstanceStatus and
// RebootInstances in https://docs.aws.amazon.com/AWSEC2/latest/APIReference/, UpdateService
// forceNewDeployment in https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ and
// StopDeployment in https://docs.aws.amazon.com/codedeploy/latest/APIReference/.
#pragma once

#include <gmock/gmock.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "handlers/handler.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::self_healing::testing {

class MemoryCellStore final : public CellStore {
 public:
  const google::protobuf::Any* Get(const std::string& key) const override {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  void Put(const std::string& key, const google::protobuf::Message& value) override {
    values_[key].PackFrom(value);
  }
  void Erase(const std::string& key) override { values_.erase(key); }
  size_t size() const { return values_.size(); }

 private:
  std::map<std::string, google::protobuf::Any> values_;
};

struct InstanceHealth {
  std::string state = "running";
  std::string system_status = "ok";
  std::string instance_status = "ok";
};

class FakeFleet {
 public:
  explicit FakeFleet(handlers::testing::MockCell& cell) : cell_(cell) { Wire(); }

  // ---- the world ----
  void AddGroup(const std::string& name, int64_t min, int64_t desired, int64_t max) {
    aws::AutoScalingGroup g;
    g.name = name;
    g.min_size = min;
    g.max_size = max;
    g.desired_capacity = desired;
    groups[name] = g;
    Reconcile(name);
  }
  std::string AddStandalone(const std::string& id) {
    aws::Instance i;
    i.id = id;
    i.state.name = "running";
    instances[id] = i;
    health[id] = InstanceHealth{};
    return id;
  }
  const aws::AutoScalingGroup& group(const std::string& name) { return groups.at(name); }
  std::vector<std::string> InstanceIds(const std::string& asg) {
    std::vector<std::string> out;
    for (const auto& i : groups.at(asg).instances) out.push_back(i.instance_id);
    return out;
  }
  int Calls(const std::string& name) const {
    int n = 0;
    for (const auto& c : calls) n += c == name ? 1 : 0;
    return n;
  }

  std::map<std::string, aws::AutoScalingGroup> groups;
  std::map<std::string, aws::Instance> instances;
  std::map<std::string, InstanceHealth> health;
  std::map<std::string, aws::EcsService> services;  // by name
  std::map<std::string, aws::DeploymentInfo> deployments;
  // CodeDeploy applications -> their deployment groups (with the alarms they list).
  std::map<std::string, std::vector<aws::DeploymentGroupInfo>> deployment_groups;
  std::map<std::string, std::string> alarm_states;  // alarm name -> state value
  std::vector<std::string> calls;                   // API names, in order
  std::vector<aws::PutMetricDataRequest> metrics;
  std::vector<aws::PublishRequest> published;
  std::vector<std::string> rebooted;
  // false: the group does not launch instances (a verification that must time out).
  bool groups_launch = true;
  // true: a new ECS deployment completes when it is described.
  bool ecs_completes = true;
  // An error every call of that API returns, e.g. {"SetDesiredCapacity", AccessDenied}.
  std::map<std::string, Error> failures;

 private:
  // The group brings its InService instances to the desired count, as Auto Scaling does.
  void Reconcile(const std::string& name) {
    auto& g = groups[name];
    if (!groups_launch) return;
    auto& list = g.instances;
    while (static_cast<int64_t>(list.size()) < g.desired_capacity) {
      aws::AsgInstance i;
      i.instance_id = fmt_id(++launched_);
      i.lifecycle_state = "InService";
      i.health_status = "Healthy";
      list.push_back(i);
      aws::Instance e;
      e.id = i.instance_id;
      e.state.name = "running";
      e.tags["aws:autoscaling:groupName"] = name;
      instances[e.id] = e;
      health[e.id] = InstanceHealth{};
    }
  }
  static std::string fmt_id(int n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "i-%017d", n);
    return buf;
  }
  template <typename T>
  bool Fails(const std::string& api, Result<T>* out) {
    calls.push_back(api);
    auto it = failures.find(api);
    if (it == failures.end()) return false;
    *out = it->second;
    return true;
  }

  void Wire() {
    using ::testing::_;
    ON_CALL(*cell_.autoscaling, DescribeAutoScalingGroups(_))
        .WillByDefault([this](const aws::DescribeAutoScalingGroupsRequest& r)
                           -> Result<aws::DescribeAutoScalingGroupsResponse> {
          Result<aws::DescribeAutoScalingGroupsResponse> out =
              aws::DescribeAutoScalingGroupsResponse{};
          if (Fails("DescribeAutoScalingGroups", &out)) return out;
          aws::DescribeAutoScalingGroupsResponse resp;
          for (const auto& n : r.names) {
            if (groups.count(n)) {
              Reconcile(n);
              resp.groups.push_back(groups[n]);
            }
          }
          return resp;
        });
    ON_CALL(*cell_.autoscaling, SetDesiredCapacity(_))
        .WillByDefault([this](const aws::SetDesiredCapacityRequest& r) -> Status {
          Result<Ok> out = Ok{};
          if (Fails("SetDesiredCapacity", &out)) return out.error();
          auto& g = groups.at(r.asg_name);
          if (r.desired_capacity > g.max_size) {
            Error e(ErrorCode::kAws, "New SetDesiredCapacity value is above max value");
            e.aws_code = "ValidationError";
            return e;
          }
          g.desired_capacity = r.desired_capacity;
          Reconcile(r.asg_name);
          return Ok{};
        });
    ON_CALL(*cell_.autoscaling, TerminateInstanceInAutoScalingGroup(_))
        .WillByDefault([this](const aws::TerminateInstanceInAutoScalingGroupRequest& r)
                           -> Result<aws::ScalingActivity> {
          Result<aws::ScalingActivity> out = aws::ScalingActivity{};
          if (Fails("TerminateInstanceInAutoScalingGroup", &out)) return out;
          for (auto& [name, g] : groups) {
            auto& list = g.instances;
            for (auto it = list.begin(); it != list.end(); ++it) {
              if (it->instance_id != r.instance_id) continue;
              list.erase(it);
              instances[r.instance_id].state.name = "terminated";
              if (r.should_decrement_desired_capacity) --g.desired_capacity;
              Reconcile(name);
              aws::ScalingActivity a;
              a.activity_id = "act-" + r.instance_id;
              return a;
            }
          }
          Error e(ErrorCode::kAws,
                  "Instance Id not found - No managed instance found for "
                  "instance ID: " +
                      r.instance_id);
          e.aws_code = "ValidationError";
          return e;
        });
    ON_CALL(*cell_.ec2, DescribeInstances(_))
        .WillByDefault([this](const aws::DescribeInstancesRequest& r)
                           -> Result<aws::DescribeInstancesResponse> {
          Result<aws::DescribeInstancesResponse> out = aws::DescribeInstancesResponse{};
          if (Fails("DescribeInstances", &out)) return out;
          aws::DescribeInstancesResponse resp;
          for (const auto& id : r.instance_ids) {
            if (!instances.count(id)) {
              Error e(ErrorCode::kNotFound, "The instance ID '" + id + "' does not exist");
              e.aws_code = "InvalidInstanceID.NotFound";
              return e;
            }
            resp.instances.push_back(instances[id]);
          }
          return resp;
        });
    ON_CALL(*cell_.ec2, DescribeInstanceStatus(_))
        .WillByDefault([this](const aws::DescribeInstanceStatusRequest& r)
                           -> Result<aws::DescribeInstanceStatusResponse> {
          Result<aws::DescribeInstanceStatusResponse> out = aws::DescribeInstanceStatusResponse{};
          if (Fails("DescribeInstanceStatus", &out)) return out;
          aws::DescribeInstanceStatusResponse resp;
          for (const auto& id : r.instance_ids) {
            if (!health.count(id)) continue;
            aws::InstanceStatus s;
            s.instance_id = id;
            s.state.name = instances[id].state.name;
            s.system_status = health[id].system_status;
            s.instance_status = health[id].instance_status;
            resp.statuses.push_back(s);
          }
          return resp;
        });
    ON_CALL(*cell_.ec2, RebootInstances(_))
        .WillByDefault([this](const aws::InstanceIdsRequest& r) -> Status {
          Result<Ok> out = Ok{};
          if (Fails("RebootInstances", &out)) return out.error();
          for (const auto& id : r.instance_ids) {
            rebooted.push_back(id);
            if (reboot_heals) health[id] = InstanceHealth{};
          }
          return Ok{};
        });
    ON_CALL(*cell_.ec2, StopInstances(_))
        .WillByDefault(
            [this](const aws::StopInstancesRequest& r) -> Result<aws::InstanceStateChanges> {
              Result<aws::InstanceStateChanges> out = aws::InstanceStateChanges{};
              if (Fails("StopInstances", &out)) return out;
              for (const auto& id : r.instance_ids) instances[id].state.name = "stopped";
              return aws::InstanceStateChanges{};
            });
    ON_CALL(*cell_.ec2, StartInstances(_))
        .WillByDefault(
            [this](const aws::InstanceIdsRequest& r) -> Result<aws::InstanceStateChanges> {
              Result<aws::InstanceStateChanges> out = aws::InstanceStateChanges{};
              if (Fails("StartInstances", &out)) return out;
              for (const auto& id : r.instance_ids) {
                instances[id].state.name = "running";
                health[id] = InstanceHealth{};  // new hardware
              }
              return aws::InstanceStateChanges{};
            });
    ON_CALL(*cell_.ecs, DescribeServices(_))
        .WillByDefault(
            [this](const aws::DescribeServicesRequest& r) -> Result<aws::DescribeServicesResponse> {
              Result<aws::DescribeServicesResponse> out = aws::DescribeServicesResponse{};
              if (Fails("DescribeServices", &out)) return out;
              aws::DescribeServicesResponse resp;
              for (const auto& n : r.services) {
                auto it = services.find(n);
                if (it == services.end()) {
                  resp.failures.push_back({n, "MISSING", ""});
                  continue;
                }
                if (ecs_completes && it->second.deployments.size() > 1) {
                  // The new deployment replaced the old tasks: only the PRIMARY one is left.
                  auto& deps = it->second.deployments;
                  deps.erase(deps.begin() + 1, deps.end());
                  deps.front().rollout_state = "COMPLETED";
                  deps.front().running_count = deps.front().desired_count;
                }
                resp.services.push_back(it->second);
              }
              return resp;
            });
    ON_CALL(*cell_.ecs, UpdateService(_))
        .WillByDefault([this](const aws::UpdateServiceRequest& r) -> Result<aws::EcsService> {
          Result<aws::EcsService> out = aws::EcsService{};
          if (Fails("UpdateService", &out)) return out;
          auto& s = services.at(r.service);
          if (r.force_new_deployment) {
            for (auto& d : s.deployments) d.status = "ACTIVE";
            aws::EcsDeployment d;
            d.id = "ecs-svc/" + std::to_string(++ecs_deployments_);
            d.status = "PRIMARY";
            d.desired_count = s.desired_count;
            d.rollout_state = "IN_PROGRESS";
            s.deployments.insert(s.deployments.begin(), d);
          }
          return s;
        });
    ON_CALL(*cell_.codedeploy, GetDeployment(_))
        .WillByDefault([this](const aws::GetDeploymentRequest& r) -> Result<aws::DeploymentInfo> {
          Result<aws::DeploymentInfo> out = aws::DeploymentInfo{};
          if (Fails("GetDeployment", &out)) return out;
          auto it = deployments.find(r.deployment_id);
          if (it == deployments.end()) {
            Error e(ErrorCode::kAws, "Deployment " + r.deployment_id + " does not exist");
            e.aws_code = "DeploymentDoesNotExistException";
            return e;
          }
          return it->second;
        });
    ON_CALL(*cell_.codedeploy, StopDeployment(_))
        .WillByDefault(
            [this](const aws::StopDeploymentRequest& r) -> Result<aws::StopDeploymentResponse> {
              Result<aws::StopDeploymentResponse> out = aws::StopDeploymentResponse{};
              if (Fails("StopDeployment", &out)) return out;
              auto& d = deployments.at(r.deployment_id);
              d.status = "Stopped";
              if (r.auto_rollback_enabled.value_or(false)) d.rollback_deployment_id = "d-ROLLBACK";
              aws::StopDeploymentResponse resp;
              resp.status = "Succeeded";
              return resp;
            });
    ON_CALL(*cell_.codedeploy, ListApplications(_))
        .WillByDefault(
            [this](const aws::ListApplicationsRequest&) -> Result<aws::ListApplicationsResponse> {
              Result<aws::ListApplicationsResponse> out = aws::ListApplicationsResponse{};
              if (Fails("ListApplications", &out)) return out;
              for (const auto& [app, groups] : deployment_groups) out->applications.push_back(app);
              return out;
            });
    ON_CALL(*cell_.codedeploy, ListDeploymentGroups(_))
        .WillByDefault([this](const aws::ListDeploymentGroupsRequest& r)
                           -> Result<aws::ListDeploymentGroupsResponse> {
          Result<aws::ListDeploymentGroupsResponse> out = aws::ListDeploymentGroupsResponse{};
          if (Fails("ListDeploymentGroups", &out)) return out;
          for (const auto& g : deployment_groups[r.application_name]) {
            out->deployment_groups.push_back(g.deployment_group_name);
          }
          return out;
        });
    ON_CALL(*cell_.codedeploy, BatchGetDeploymentGroups(_))
        .WillByDefault([this](const aws::BatchGetDeploymentGroupsRequest& r)
                           -> Result<aws::BatchGetDeploymentGroupsResponse> {
          Result<aws::BatchGetDeploymentGroupsResponse> out =
              aws::BatchGetDeploymentGroupsResponse{};
          if (Fails("BatchGetDeploymentGroups", &out)) return out;
          for (const auto& g : deployment_groups[r.application_name]) {
            const auto& names = r.deployment_group_names;
            if (std::find(names.begin(), names.end(), g.deployment_group_name) != names.end()) {
              out->deployment_groups.push_back(g);
            }
          }
          return out;
        });
    ON_CALL(*cell_.codedeploy, ListDeployments(_))
        .WillByDefault(
            [this](const aws::ListDeploymentsRequest& r) -> Result<aws::ListDeploymentsResponse> {
              Result<aws::ListDeploymentsResponse> out = aws::ListDeploymentsResponse{};
              if (Fails("ListDeployments", &out)) return out;
              const auto& want = r.include_only_statuses;
              for (const auto& [id, d] : deployments) {
                if (d.application_name == r.application_name &&
                    d.deployment_group_name == r.deployment_group_name &&
                    std::find(want.begin(), want.end(), d.status) != want.end()) {
                  out->deployments.push_back(id);
                }
              }
              return out;
            });
    ON_CALL(*cell_.cloudwatch, PutMetricData(_))
        .WillByDefault([this](const aws::PutMetricDataRequest& r) -> Status {
          Result<Ok> out = Ok{};
          if (Fails("PutMetricData", &out)) return out.error();
          metrics.push_back(r);
          return Ok{};
        });
    ON_CALL(*cell_.cloudwatch, DescribeAlarms(_))
        .WillByDefault(
            [this](const aws::DescribeAlarmsRequest& r) -> Result<aws::DescribeAlarmsResponse> {
              Result<aws::DescribeAlarmsResponse> out = aws::DescribeAlarmsResponse{};
              if (Fails("DescribeAlarms", &out)) return out;
              aws::DescribeAlarmsResponse resp;
              for (const auto& n : r.alarm_names) {
                if (!alarm_states.count(n)) continue;
                aws::MetricAlarm a;
                a.name = n;
                a.state_value = alarm_states[n];
                resp.metric_alarms.push_back(a);
              }
              return resp;
            });
    ON_CALL(*cell_.sns, Publish(_))
        .WillByDefault([this](const aws::PublishRequest& r) -> Result<aws::PublishResponse> {
          Result<aws::PublishResponse> out = aws::PublishResponse{};
          if (Fails("Publish", &out)) return out;
          published.push_back(r);
          aws::PublishResponse resp;
          resp.message_id = "msg-" + std::to_string(published.size());
          return resp;
        });
  }

 public:
  // false: a reboot does not fix the instance's status checks (escalates to stop/start).
  bool reboot_heals = true;

 private:
  handlers::testing::MockCell& cell_;
  int launched_ = 0;
  int ecs_deployments_ = 0;
};

}  // namespace fleetkeeper::handlers::self_healing::testing
