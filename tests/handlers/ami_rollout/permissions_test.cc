// The AMI rollout's declared AWS actions (handlers/ami_rollout/permissions.h) for the settings that
// change them. Action names as in the Service Authorization Reference,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html.
#include "handlers/ami_rollout/permissions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace fleetkeeper::handlers::ami_rollout {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& item) {
  return std::find(v.begin(), v.end(), item) != v.end();
}

TEST(AmiRolloutPermissions, ARelaunchDeclaresEveryCallThatCarriesTheInstanceOver) {
  v1::WorkerConfig config;  // relaunch, the default
  const auto actions = Permissions(config);
  EXPECT_TRUE(std::is_sorted(actions.begin(), actions.end()));
  EXPECT_EQ(std::set<std::string>(actions.begin(), actions.end()).size(), actions.size());
  // Interfaces, secondary addresses and the attributes RunInstances cannot take: the calls the
  // old list in doctor missed.
  for (const char* a : {"ec2:DetachNetworkInterface",
                        "ec2:AttachNetworkInterface",
                        "ec2:ModifyNetworkInterfaceAttribute",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:UnassignPrivateIpAddresses",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:ModifyInstanceAttribute",
                        "ec2:GetLaunchTemplateData",
                        "ec2:DescribeInstanceCreditSpecifications",
                        "ec2:DescribeInstanceStatus",
                        "ec2:RunInstances",
                        "ec2:StopInstances",
                        "ec2:DetachVolume",
                        "ec2:AttachVolume",
                        "ec2:AssociateAddress",
                        "iam:PassRole",
                        "elasticloadbalancing:RegisterTargets",
                        "ssm:GetParameter",
                        "autoscaling:StartInstanceRefresh",
                        "ec2:CreateLaunchTemplateVersion"}) {
    EXPECT_TRUE(Has(actions, a)) << a;
  }
  // An instance's fleetkeeper:replacement-strategy tag may choose replace-root-volume.
  EXPECT_TRUE(Has(actions, "ec2:CreateReplaceRootVolumeTask"));
  // Only with the settings that call them; the rollout rolls a refresh back only on a guard alarm.
  for (const char* a : {"autoscaling:UpdateAutoScalingGroup", "autoscaling:CancelInstanceRefresh",
                        "cloudwatch:PutMetricData", "autoscaling:RollbackInstanceRefresh"}) {
    EXPECT_FALSE(Has(actions, a)) << a;
  }
}

TEST(AmiRolloutPermissions, SettingsThatCallMoreDeclareMore) {
  v1::WorkerConfig config;
  auto* ami = config.mutable_handlers()->mutable_ami_rollout();
  ami->set_pin_before_refresh(true);
  ami->set_refresh_in_progress("cancel-and-restart");
  ami->set_metrics_namespace("Fleet/Rollout");
  ami->mutable_replacement()->set_strategy("replace-root-volume");
  const auto actions = Permissions(config);
  EXPECT_TRUE(Has(actions, "autoscaling:UpdateAutoScalingGroup"));
  EXPECT_TRUE(Has(actions, "autoscaling:CancelInstanceRefresh"));
  EXPECT_TRUE(Has(actions, "cloudwatch:PutMetricData"));
  // An instance tagged relaunch is still relaunched.
  EXPECT_TRUE(Has(actions, "ec2:CreateReplaceRootVolumeTask"));
  EXPECT_TRUE(Has(actions, "ec2:RunInstances"));
  EXPECT_FALSE(Has(actions, "autoscaling:RollbackInstanceRefresh"));
  // Rollback on a guard alarm rolls back (or cancels) a refresh under way.
  (*config.mutable_safety()->mutable_on_guard_alarm_per_handler())["ami_rollout"] = "rollback";
  const auto rolling = Permissions(config);
  EXPECT_TRUE(Has(rolling, "autoscaling:RollbackInstanceRefresh"));
  EXPECT_TRUE(Has(rolling, "autoscaling:CancelInstanceRefresh"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout
