// `fleetkeeper permissions`: the worker's own actions first, then each enabled handler's.
#include "app/permissions_cmd.h"

#include <gtest/gtest.h>

namespace fleetkeeper::app {
namespace {

v1::WorkerConfig ScaleOutOnly() {
  v1::WorkerConfig config;
  config.mutable_handlers()->mutable_ami_rollout()->set_enabled(false);
  config.mutable_handlers()->mutable_patch()->set_enabled(false);
  config.mutable_handlers()->mutable_ecs()->set_enabled(false);
  auto* rule = config.mutable_handlers()->mutable_self_healing()->add_rules();
  rule->set_name("scale");
  rule->mutable_action()->set_type("scale_out");
  return config;
}

TEST(Permissions, TheWorkerAssumesRolesOnlyWhenTheConfigNamesThem) {
  v1::WorkerConfig config = ScaleOutOnly();
  auto declared = DeclaredPermissions(config);
  ASSERT_EQ(declared.size(), 2u);
  EXPECT_EQ(declared[0].owner, "worker");
  EXPECT_TRUE(declared[0].actions.empty());
  (*config.mutable_aws()->mutable_accounts())["111122223333"].set_role_arn(
      "arn:aws:iam::111122223333:role/fleetkeeper");
  declared = DeclaredPermissions(config);
  EXPECT_EQ(declared[0].actions, std::vector<std::string>{"sts:AssumeRole"});
  EXPECT_EQ(declared[1].owner, "self_healing");
}

TEST(Permissions, JsonAndTextByOwner) {
  auto declared = DeclaredPermissions(ScaleOutOnly());
  EXPECT_EQ(PermissionsJson(declared).dump(),
            R"({"worker":[],"self_healing":["autoscaling:DescribeAutoScalingGroups",)"
            R"("autoscaling:SetDesiredCapacity","cloudwatch:PutMetricData"]})");
  EXPECT_EQ(PermissionsText(declared),
            "worker (none)\n"
            "self_healing\n"
            "  autoscaling:DescribeAutoScalingGroups\n"
            "  autoscaling:SetDesiredCapacity\n"
            "  cloudwatch:PutMetricData\n");
}

}  // namespace
}  // namespace fleetkeeper::app
