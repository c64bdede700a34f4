// The Application Auto Scaling client against moto with authentication on: an ECS service's
// scalable target registered, read back, suspended and resumed, and a target that does not exist.
#include "awsclient/application_autoscaling.h"
#include "tests/awsclient/moto/moto_fixture.h"

namespace fleetkeeper::aws::moto_test {
namespace {

class ApplicationAutoScalingMoto : public MotoTest {
 protected:
  // A cluster with one service "api" (moto checks that an ECS target's service exists).
  std::string MakeService() {
    const std::string cluster = Unique("fk-aas");
    Json("ecs", kEcsTargetPrefix, "CreateCluster", {{"clusterName", cluster}});
    nlohmann::json definition =
        Json("ecs", kEcsTargetPrefix, "RegisterTaskDefinition",
             {{"family", cluster},
              {"containerDefinitions",
               {{{"name", "api"}, {"image", "nginx"}, {"memory", 128}, {"cpu", 128}}}}});
    Json("ecs", kEcsTargetPrefix, "CreateService",
         {{"cluster", cluster},
          {"serviceName", "api"},
          {"taskDefinition", definition["taskDefinition"].value("taskDefinitionArn", "")},
          {"desiredCount", 2}});
    return cluster;
  }

  Result<DescribeScalableTargetsResponse> Describe(const std::string& resource_id) {
    DescribeScalableTargetsRequest r;
    r.resource_ids = {resource_id};
    r.scalable_dimension = kEcsDesiredCount;
    return clients_->application_autoscaling->DescribeScalableTargets(r);
  }
};

TEST_F(ApplicationAutoScalingMoto, RegisterSuspendResumeAndReadBack) {
  const std::string cluster = MakeService();
  const std::string id = EcsServiceResourceId(cluster, "api");
  ApplicationAutoScaling& aas = *clients_->application_autoscaling;

  Result<DescribeScalableTargetsResponse> none = Describe(id);
  ASSERT_TRUE(none.ok()) << none.error().ToString();
  EXPECT_TRUE(none->targets.empty());

  RegisterScalableTargetRequest reg;
  reg.resource_id = id;
  reg.min_capacity = 1;
  reg.max_capacity = 6;
  Result<std::string> arn = aas.RegisterScalableTarget(reg);
  ASSERT_TRUE(arn.ok()) << arn.error().ToString();
  EXPECT_NE(arn->find("scalable-target"), std::string::npos) << *arn;

  Result<DescribeScalableTargetsResponse> registered = Describe(id);
  ASSERT_TRUE(registered.ok()) << registered.error().ToString();
  ASSERT_EQ(registered->targets.size(), 1u);
  EXPECT_EQ(registered->targets[0].resource_id, id);
  EXPECT_EQ(registered->targets[0].min_capacity, 1);
  EXPECT_EQ(registered->targets[0].max_capacity, 6);
  EXPECT_FALSE(registered->targets[0].suspended.Any());

  RegisterScalableTargetRequest suspend;
  suspend.resource_id = id;
  suspend.suspended = SuspendedState{true, true, true};
  ASSERT_TRUE(aas.RegisterScalableTarget(suspend).ok());
  Result<DescribeScalableTargetsResponse> suspended = Describe(id);
  ASSERT_TRUE(suspended.ok()) << suspended.error().ToString();
  ASSERT_EQ(suspended->targets.size(), 1u);
  EXPECT_TRUE(suspended->targets[0].suspended.All());
  EXPECT_EQ(suspended->targets[0].max_capacity, 6);  // only what was sent changes

  RegisterScalableTargetRequest resume;
  resume.resource_id = id;
  resume.suspended = SuspendedState{};
  ASSERT_TRUE(aas.RegisterScalableTarget(resume).ok());
  Result<DescribeScalableTargetsResponse> resumed = Describe(id);
  ASSERT_TRUE(resumed.ok()) << resumed.error().ToString();
  ASSERT_EQ(resumed->targets.size(), 1u);
  EXPECT_FALSE(resumed->targets[0].suspended.Any());
}

TEST_F(ApplicationAutoScalingMoto, ServiceThatDoesNotExistIsRefused) {
  const std::string cluster = MakeService();
  RegisterScalableTargetRequest reg;
  reg.resource_id = EcsServiceResourceId(cluster, "absent");
  reg.min_capacity = 0;
  reg.max_capacity = 2;
  Result<std::string> arn = clients_->application_autoscaling->RegisterScalableTarget(reg);
  ASSERT_FALSE(arn.ok());
  EXPECT_NE(arn.error().ToString().find("absent"), std::string::npos) << arn.error().ToString();
}

}  // namespace
}  // namespace fleetkeeper::aws::moto_test
