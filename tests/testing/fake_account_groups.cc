// The fake account's Auto Scaling groups (sizes, instances, instance refreshes) and target groups
// with their targets' health (FakeAccount::InstallGroups).
#include <algorithm>

#include "tests/testing/fake_account.h"

namespace fleetkeeper::handlers::testing {

void FakeAccount::InstallGroups() {
  using ::testing::_;
  using ::testing::Invoke;
  auto& asg = *cell_.autoscaling;

  auto& elb = *cell_.elbv2;
  ON_CALL(elb, DescribeTargetGroups(_))
      .WillByDefault(Invoke([this](const aws::DescribeTargetGroupsRequest&)
                                -> Result<aws::DescribeTargetGroupsResponse> {
        if (auto e = Call("DescribeTargetGroups")) return *e;
        aws::DescribeTargetGroupsResponse out;
        for (const auto& [arn, tg] : target_groups) out.target_groups.push_back(tg.group);
        return out;
      }));
  ON_CALL(elb, DescribeTargetHealth(_))
      .WillByDefault(Invoke([this](const aws::DescribeTargetHealthRequest& r)
                                -> Result<aws::DescribeTargetHealthResponse> {
        if (auto e = Call("DescribeTargetHealth")) return *e;
        aws::DescribeTargetHealthResponse out;
        auto& tg = target_groups.at(r.target_group_arn);
        for (auto it = tg.recover_after_reads.begin(); it != tg.recover_after_reads.end();) {
          if (--it->second > 0) {
            ++it;
            continue;
          }
          tg.targets[it->first] = "healthy";
          tg.reasons.erase(it->first);
          tg.mutations_at_recovery = static_cast<int>(mutations.size());
          it = tg.recover_after_reads.erase(it);
        }
        health_reads.push_back(r);
        for (const auto& [id, state] : tg.targets) {
          bool asked = r.targets.empty();
          for (const auto& t : r.targets) asked = asked || t.id == id;
          if (!asked) continue;
          aws::TargetHealthDescription d;
          d.target.id = id;
          d.target.port = tg.ports.at(id);
          d.state = state;
          if (auto reason = tg.reasons.find(id); reason != tg.reasons.end()) {
            d.reason = reason->second;
          }
          out.descriptions.push_back(d);
        }
        // A named target the group does not have: unused, Target.NotRegistered (API_TargetHealth).
        for (const auto& t : r.targets) {
          if (tg.targets.count(t.id) > 0) continue;
          aws::TargetHealthDescription d;
          d.target = t;
          d.state = "unused";
          d.reason = "Target.NotRegistered";
          out.descriptions.push_back(d);
        }
        return out;
      }));
  ON_CALL(elb, RegisterTargets(_))
      .WillByDefault(Invoke([this](const aws::TargetsRequest& r) -> Result<aws::RequestReceipt> {
        if (auto e = Call("RegisterTargets", true)) return *e;
        auto& tg = target_groups.at(r.target_group_arn);
        for (const auto& t : r.targets) {
          const bool is_new = instances.at(t.id).instance.tags.count("fleetkeeper:replaces") > 0;
          tg.targets[t.id] = is_new ? new_instance_health : "healthy";
          tg.ports[t.id] = t.port.value_or(80);
        }
        return aws::RequestReceipt{NextRequestId()};
      }));
  ON_CALL(elb, DeregisterTargets(_))
      .WillByDefault(Invoke([this](const aws::TargetsRequest& r) -> Result<aws::RequestReceipt> {
        if (auto e = Call("DeregisterTargets", true)) return *e;
        for (const auto& t : r.targets) target_groups.at(r.target_group_arn).targets.erase(t.id);
        return aws::RequestReceipt{NextRequestId()};
      }));

  ON_CALL(asg, DescribeAutoScalingGroups(_))
      .WillByDefault(Invoke([this](const aws::DescribeAutoScalingGroupsRequest& r)
                                -> Result<aws::DescribeAutoScalingGroupsResponse> {
        if (auto e = Call("DescribeAutoScalingGroups")) return *e;
        aws::DescribeAutoScalingGroupsResponse out;
        for (auto& [name, g] : groups) {
          if (r.names.empty() || std::find(r.names.begin(), r.names.end(), name) != r.names.end()) {
            Reconcile(name);
            out.groups.push_back(g);
          }
        }
        return out;
      }));
  ON_CALL(asg, UpdateAutoScalingGroup(_))
      .WillByDefault(Invoke(
          [this](const aws::UpdateAutoScalingGroupRequest& r) -> Result<aws::RequestReceipt> {
            if (auto e = Call("UpdateAutoScalingGroup", true)) return *e;
            group_updates.push_back(r);
            auto& g = groups.at(r.asg_name);
            if (r.launch_template) g.launch_template = r.launch_template;
            if (r.mixed_instances_policy) g.mixed_instances_policy = r.mixed_instances_policy;
            return aws::RequestReceipt{NextRequestId()};
          }));
  ON_CALL(asg, StartInstanceRefresh(_))
      .WillByDefault(Invoke([this](const aws::StartInstanceRefreshRequest& r)
                                -> Result<aws::StartInstanceRefreshResponse> {
        if (auto e = Call("StartInstanceRefresh", true)) return *e;
        auto& list = refreshes[r.asg_name];
        for (const auto& x : list) {
          if (x.status == "InProgress" || x.status == "Pending" || x.status == "Cancelling") {
            Error e(ErrorCode::kInProgress, "An Instance Refresh is already in progress");
            e.aws_code = "InstanceRefreshInProgress";
            return e;
          }
        }
        aws::InstanceRefresh x;
        x.id = NextId("refresh-");
        x.asg_name = r.asg_name;
        x.status = "InProgress";
        x.desired_configuration = r.desired_configuration;
        x.auto_rollback = r.preferences.auto_rollback;
        x.percentage_complete = 0;
        list.insert(list.begin(), x);
        refresh_requests[x.id] = r;
        return aws::StartInstanceRefreshResponse{x.id, NextRequestId()};
      }));
  ON_CALL(asg, DescribeInstanceRefreshes(_))
      .WillByDefault(Invoke([this](const aws::DescribeInstanceRefreshesRequest& r)
                                -> Result<aws::DescribeInstanceRefreshesResponse> {
        if (auto e = Call("DescribeInstanceRefreshes")) return *e;
        aws::DescribeInstanceRefreshesResponse out;
        for (auto& x : refreshes[r.asg_name]) {
          if (!r.instance_refresh_ids.empty() &&
              std::find(r.instance_refresh_ids.begin(), r.instance_refresh_ids.end(), x.id) ==
                  r.instance_refresh_ids.end()) {
            continue;
          }
          out.refreshes.push_back(x);
          // Our refreshes progress with each look; foreign ones (no request) too.
          if (x.status == "InProgress") {
            x.percentage_complete = x.percentage_complete.value_or(0) + 100 / refresh_looks;
            if (x.percentage_complete >= 100) x.status = refresh_outcome;
          } else if (x.status == "Cancelling") {
            x.status = "Cancelled";
          } else if (x.status == "RollbackInProgress") {
            x.status = "RollbackSuccessful";
          }
        }
        return out;
      }));
  ON_CALL(asg, CancelInstanceRefresh(_))
      .WillByDefault(
          Invoke([this](const aws::AsgNameRequest& r) -> Result<aws::InstanceRefreshIdResponse> {
            if (auto e = Call("CancelInstanceRefresh", true)) return *e;
            for (auto& x : refreshes[r.asg_name]) {
              if (x.status == "InProgress" || x.status == "Pending") {
                x.status = "Cancelling";
                return aws::InstanceRefreshIdResponse{x.id, NextRequestId()};
              }
            }
            return NotFound("ActiveInstanceRefreshNotFound", "no active refresh");
          }));

  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RollbackInstanceRefresh.html
  ON_CALL(asg, RollbackInstanceRefresh(_))
      .WillByDefault(
          Invoke([this](const aws::AsgNameRequest& r) -> Result<aws::InstanceRefreshIdResponse> {
            if (auto e = Call("RollbackInstanceRefresh")) return *e;
            for (auto& x : refreshes[r.asg_name]) {
              if (x.status != "InProgress" && x.status != "Pending") continue;
              if (!refuse_rollback.empty()) {
                Error e(ErrorCode::kAws, "the refresh cannot be rolled back");
                e.aws_code = refuse_rollback;
                e.http_status = 400;
                return e;
              }
              mutations.push_back("RollbackInstanceRefresh");  // a refused one changes nothing
              x.status = "RollbackInProgress";
              return aws::InstanceRefreshIdResponse{x.id, NextRequestId()};
            }
            return NotFound("ActiveInstanceRefreshNotFound", "no active refresh");
          }));

  ON_CALL(asg, SetDesiredCapacity(_))
      .WillByDefault(Invoke([this](const aws::SetDesiredCapacityRequest& r) -> Status {
        if (auto e = Call("SetDesiredCapacity", true)) return *e;
        auto& g = groups.at(r.asg_name);
        if (r.desired_capacity > g.max_size) {
          Error e(ErrorCode::kAws, "New SetDesiredCapacity value is above max value");
          e.aws_code = "ValidationError";
          return e;
        }
        g.desired_capacity = r.desired_capacity;
        Reconcile(r.asg_name);
        return Ok{};
      }));
  ON_CALL(asg, TerminateInstanceInAutoScalingGroup(_))
      .WillByDefault(Invoke([this](const aws::TerminateInstanceInAutoScalingGroupRequest& r)
                                -> Result<aws::ScalingActivity> {
        if (auto e = Call("TerminateInstanceInAutoScalingGroup", true)) return *e;
        for (auto& [name, g] : groups) {
          auto& list = g.instances;
          for (auto it = list.begin(); it != list.end(); ++it) {
            if (it->instance_id != r.instance_id) continue;
            list.erase(it);
            Terminated(r.instance_id);
            if (r.should_decrement_desired_capacity) --g.desired_capacity;
            Reconcile(name);
            aws::ScalingActivity a;
            a.activity_id = "act-" + r.instance_id;
            return a;
          }
        }
        Error e(
            ErrorCode::kAws,
            "Instance Id not found - No managed instance found for instance ID: " + r.instance_id);
        e.aws_code = "ValidationError";
        return e;
      }));
}

}  // namespace fleetkeeper::handlers::testing
