#include "handlers/patch/permissions.h"

namespace fleetkeeper::handlers::patch {

std::vector<std::string> Permissions(const v1::WorkerConfig&) {
  // Every request may ask for backups, stopped instances started and a notification, so the set
  // does not depend on the config. Sorted and unique.
  return {
      "cloudwatch:PutMetricData",                // report
      "ec2:CreateImage",                         // backup (tags images and snapshots on create)
      "ec2:CreateReplaceRootVolumeTask",         // rollback from the backup
      "ec2:CreateTags",                          // required by CreateImage's TagSpecifications
      "ec2:DescribeImages",                      // backup found again, backup available
      "ec2:DescribeInstanceStatus",              // start-stopped, status checks after a reboot
      "ec2:DescribeInstances",                   // discovery
      "ec2:DescribeReplaceRootVolumeTasks",      // rollback found again, rollback done
      "ec2:StartInstances",                      // start_stopped
      "elasticloadbalancing:DeregisterTargets",  // drain
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:RegisterTargets",
      "sns:Publish",                      // notify_topic_arn
      "ssm:DescribeInstanceInformation",  // SSM managed and online
      "ssm:DescribeInstancePatchStates",  // missing and failed before and after
      "ssm:GetCommandInvocation",         // command status without progress events
      "ssm:ListCommandInvocations",       // the batch's command look; an instance's own search
      "ssm:ListCommands",                 // the command found again after a crash
      "ssm:SendCommand",                  // AWS-RunPatchBaseline
  };
}

}  // namespace fleetkeeper::handlers::patch
