#include "handlers/ami_rollout/permissions.h"

#include <set>

#include "handlers/ami_rollout/config.h"

namespace fleetkeeper::handlers::ami_rollout {

std::vector<std::string> Permissions(const v1::WorkerConfig& worker) {
  const RolloutConfig config = RolloutConfig::From(worker);
  std::set<std::string> a = {
      // The parameter and its image (steps.cc).
      "ssm:GetParameter",
      "ec2:DescribeImages",
      // Targets and what a relaunch captures (targets.cc).
      "autoscaling:DescribeAutoScalingGroups",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeInstances",
      "ec2:GetLaunchTemplateData",
      // GetLaunchTemplateData reads through these, depending on the instance (its API reference).
      "ec2:DescribeInstanceAttribute",
      "ec2:DescribeInstanceCreditSpecifications",
      "ec2:DescribeSpotInstanceRequests",
      "ec2:DescribeVolumes",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeAddresses",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      // Groups: a launch template version with the new image, an instance refresh followed to its
      // end (asg_rollout.cc).
      "ec2:CreateLaunchTemplateVersion",
      "autoscaling:StartInstanceRefresh",
      "autoscaling:DescribeInstanceRefreshes",
      // Standalone instances, relaunch (replacement.cc): stop, move volumes, interfaces and
      // addresses, launch, carry the settings RunInstances cannot take, terminate; rollback uses
      // the same calls.
      "ec2:StopInstances",
      "ec2:StartInstances",
      "ec2:TerminateInstances",
      "ec2:RunInstances",
      "ec2:CreateTags",
      "ec2:DescribeInstanceStatus",
      "ec2:DetachVolume",
      "ec2:AttachVolume",
      "ec2:DetachNetworkInterface",
      "ec2:AttachNetworkInterface",
      "ec2:ModifyNetworkInterfaceAttribute",
      "ec2:UnassignPrivateIpAddresses",
      "ec2:AssignPrivateIpAddresses",
      "ec2:ModifyInstanceAttribute",
      "ec2:AssociateAddress",
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
      // RunInstances with the captured instance profile passes its role.
      "iam:PassRole",
      // Standalone instances, replace-root-volume.
      "ec2:CreateReplaceRootVolumeTask",
      "ec2:DescribeReplaceRootVolumeTasks",
  };
  if (config.pin_before_refresh) a.insert("autoscaling:UpdateAutoScalingGroup");
  if (config.refresh_in_progress == RefreshInProgressPolicy::kCancelAndRestart) {
    a.insert("autoscaling:CancelInstanceRefresh");
  }
  if (config.rolls_back_on_guard_alarm) {
    // A refresh under way on a guard alarm (asg_rollout.cc, RollBackAsgOnGuardAlarm).
    a.insert("autoscaling:RollbackInstanceRefresh");
    a.insert("autoscaling:CancelInstanceRefresh");
  }
  if (!config.metrics_namespace.empty()) a.insert("cloudwatch:PutMetricData");
  return {a.begin(), a.end()};
}

}  // namespace fleetkeeper::handlers::ami_rollout
