#include "handlers/self_healing/permissions.h"

#include <set>

namespace fleetkeeper::handlers::self_healing {
namespace {

// What the steps of one action type call (steps.cc), verification included. Actions that take an
// instance out of service read its groups first for the cell's blast-radius ledger.
std::vector<const char*> ActionsOf(const std::string& type) {
  if (type == "scale_out") {
    return {"autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity"};
  }
  if (type == "replace_instance") {
    // In a group: terminate (or surge by one first); standalone: reboot, then stop and start.
    return {"autoscaling:DescribeAutoScalingGroups",
            "autoscaling:SetDesiredCapacity",
            "autoscaling:TerminateInstanceInAutoScalingGroup",
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceStatus",
            "ec2:RebootInstances",
            "ec2:StopInstances",
            "ec2:StartInstances",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth"};
  }
  if (type == "reboot_instance") {
    return {"autoscaling:DescribeAutoScalingGroups",
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceStatus",
            "ec2:RebootInstances",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth"};
  }
  if (type == "ecs_force_deploy") return {"ecs:DescribeServices", "ecs:UpdateService"};
  if (type == "stop_deployment") {
    // The deployment named by the alarm, else found through the groups that list the alarm.
    return {"codedeploy:ListApplications",
            "codedeploy:ListDeploymentGroups",
            "codedeploy:BatchGetDeploymentGroups",
            "codedeploy:ListDeployments",
            "codedeploy:GetDeployment",
            "codedeploy:StopDeployment"};
  }
  if (type == "notify") return {"sns:Publish"};
  return {};
}

}  // namespace

std::vector<std::string> Permissions(const v1::WorkerConfig& config) {
  const auto& healing = config.handlers().self_healing();
  if (healing.rules().empty()) return {};
  std::set<std::string> a;
  for (const auto& rule : healing.rules()) {
    for (const char* action : ActionsOf(rule.action().type())) a.insert(action);
    if (rule.repeat_while_alarm()) a.insert("cloudwatch:DescribeAlarms");
  }
  // Recovery counts (RecoveryActions, RecoveryFailures) whenever a rule acts.
  a.insert("cloudwatch:PutMetricData");
  if (!healing.notify_topic_arn().empty()) a.insert("sns:Publish");
  return {a.begin(), a.end()};
}

}  // namespace fleetkeeper::handlers::self_healing
