// Self-healing's declared AWS actions (handlers/self_healing/permissions.h) per configured rule.
#include "handlers/self_healing/permissions.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fleetkeeper::handlers::self_healing {
namespace {

using Actions = std::vector<std::string>;

v1::HealingRule* AddRule(v1::WorkerConfig& config, const std::string& type) {
  auto* rule = config.mutable_handlers()->mutable_self_healing()->add_rules();
  rule->set_name(type);
  rule->mutable_action()->set_type(type);
  return rule;
}

TEST(SelfHealingPermissions, NoRulesCallNothing) {
  EXPECT_TRUE(Permissions(v1::WorkerConfig()).empty());
}

TEST(SelfHealingPermissions, EachActionTypeDeclaresItsStepsAndTheRecoveryMetrics) {
  v1::WorkerConfig scale;
  AddRule(scale, "scale_out");
  EXPECT_EQ(Permissions(scale),
            (Actions{"autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity",
                     "cloudwatch:PutMetricData"}));

  v1::WorkerConfig reboot;
  AddRule(reboot, "reboot_instance");
  // Its groups are read for the blast-radius ledger before the reboot.
  EXPECT_EQ(Permissions(reboot),
            (Actions{"autoscaling:DescribeAutoScalingGroups", "cloudwatch:PutMetricData",
                     "ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ec2:RebootInstances",
                     "elasticloadbalancing:DescribeTargetGroups",
                     "elasticloadbalancing:DescribeTargetHealth"}));

  v1::WorkerConfig ecs;
  AddRule(ecs, "ecs_force_deploy");
  EXPECT_EQ(Permissions(ecs),
            (Actions{"cloudwatch:PutMetricData", "ecs:DescribeServices", "ecs:UpdateService"}));

  v1::WorkerConfig deploy;
  AddRule(deploy, "stop_deployment")->set_repeat_while_alarm(true);
  EXPECT_EQ(Permissions(deploy),
            (Actions{"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricData",
                     "codedeploy:BatchGetDeploymentGroups", "codedeploy:GetDeployment",
                     "codedeploy:ListApplications", "codedeploy:ListDeploymentGroups",
                     "codedeploy:ListDeployments", "codedeploy:StopDeployment"}));

  v1::WorkerConfig replace;
  AddRule(replace, "replace_instance");
  AddRule(replace, "notify");
  EXPECT_EQ(Permissions(replace),
            (Actions{"autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity",
                     "autoscaling:TerminateInstanceInAutoScalingGroup", "cloudwatch:PutMetricData",
                     "ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ec2:RebootInstances",
                     "ec2:StartInstances", "ec2:StopInstances",
                     "elasticloadbalancing:DescribeTargetGroups",
                     "elasticloadbalancing:DescribeTargetHealth", "sns:Publish"}));
}

TEST(SelfHealingPermissions, ANotifyTopicReportsEveryActionOverSns) {
  v1::WorkerConfig config;
  AddRule(config, "scale_out");
  config.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(
      "arn:aws:sns:us-east-1:111122223333:ops");
  const auto actions = Permissions(config);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "sns:Publish"), actions.end());
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
