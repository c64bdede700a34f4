// Application Auto Scaling over JSON 1.1: the request each call sends and how answers read. The
// DescribeScalableTargets answer is the example of the API reference,
// https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalableTargets.html
// ("To describe scalable targets"), with a suspended state added as the reference's
// SuspendedState data type describes it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "awsclient/application_autoscaling.h"
#include "tests/awsclient/unit/fake_transport.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;
using testing::FakeTransport;

constexpr char kDescribeAnswer[] = R"({
  "ScalableTargets": [
    {
      "CreationTime": "2019-05-06T11:21:46.199Z",
      "MaxCapacity": 10,
      "MinCapacity": 1,
      "ResourceId": "service/default/web-app",
      "RoleARN": "arn:aws:iam::012345678910:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
      "ScalableDimension": "ecs:service:DesiredCount",
      "ServiceNamespace": "ecs",
      "SuspendedState": {
        "DynamicScalingInSuspended": false,
        "DynamicScalingOutSuspended": false,
        "ScheduledScalingSuspended": false
      }
    },
    {
      "MaxCapacity": 4,
      "MinCapacity": 0,
      "ResourceId": "service/default/worker",
      "ScalableDimension": "ecs:service:DesiredCount",
      "ServiceNamespace": "ecs",
      "SuspendedState": {
        "DynamicScalingInSuspended": true,
        "DynamicScalingOutSuspended": true,
        "ScheduledScalingSuspended": false
      }
    }
  ],
  "NextToken": "page-2"
})";

TEST(ApplicationAutoScalingParse, DescribeScalableTargetsExample) {
  Result<DescribeScalableTargetsResponse> parsed = ParseDescribeScalableTargets(kDescribeAnswer);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  ASSERT_EQ(parsed->targets.size(), 2u);
  const ScalableTarget& web = parsed->targets[0];
  EXPECT_EQ(web.resource_id, "service/default/web-app");
  EXPECT_EQ(web.scalable_dimension, kEcsDesiredCount);
  EXPECT_EQ(web.min_capacity, 1);
  EXPECT_EQ(web.max_capacity, 10);
  EXPECT_FALSE(web.suspended.Any());
  const ScalableTarget& worker = parsed->targets[1];
  EXPECT_TRUE(worker.suspended.dynamic_scaling_in);
  EXPECT_TRUE(worker.suspended.dynamic_scaling_out);
  EXPECT_FALSE(worker.suspended.scheduled_scaling);
  EXPECT_FALSE(worker.suspended.All());
  EXPECT_EQ(parsed->next_token, "page-2");
}

TEST(ApplicationAutoScalingParse, WrongTypesAreErrorsNamingTheOperation) {
  Result<DescribeScalableTargetsResponse> parsed =
      ParseDescribeScalableTargets(R"({"ScalableTargets":[{"MaxCapacity":"ten"}]})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("DescribeScalableTargets"), std::string::npos)
      << parsed.error().message;
  EXPECT_FALSE(ParseDescribeScalableTargets("[1]").ok());
}

TEST(ApplicationAutoScalingClient, DescribeSendsTheIdsAndTheTarget) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(kDescribeAnswer);
  auto client = MakeApplicationAutoScalingClient(transport);
  DescribeScalableTargetsRequest r;
  r.resource_ids = {EcsServiceResourceId("default", "web-app")};
  r.scalable_dimension = kEcsDesiredCount;
  Result<DescribeScalableTargetsResponse> got = client->DescribeScalableTargets(r);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->targets.size(), 2u);
  EXPECT_EQ(json::parse(transport->last().body),
            json::parse(R"({"ServiceNamespace":"ecs","ResourceIds":["service/default/web-app"],
                            "ScalableDimension":"ecs:service:DesiredCount"})"));
  EXPECT_EQ(testing::HeaderOf(transport->last(), "X-Amz-Target"),
            "AnyScaleFrontendService.DescribeScalableTargets");
  EXPECT_EQ(testing::HeaderOf(transport->last(), "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(transport->last().service, "application-autoscaling");
}

TEST(ApplicationAutoScalingClient, MoreThanFiftyIdsAreRefusedBeforeAnyCall) {
  auto transport = std::make_shared<FakeTransport>();
  auto client = MakeApplicationAutoScalingClient(transport);
  DescribeScalableTargetsRequest r;
  r.resource_ids.assign(51, "service/c/s");
  Result<DescribeScalableTargetsResponse> got = client->DescribeScalableTargets(r);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("at most 50"), std::string::npos);
  EXPECT_TRUE(transport->requests().empty());
}

TEST(ApplicationAutoScalingClient, RegisterSendsAllThreeSuspendedFlags) {
  auto transport = std::make_shared<FakeTransport>();
  transport->Respond(R"({"ScalableTargetARN":"arn:aws:application-autoscaling:x"})");
  transport->Respond(R"({"ScalableTargetARN":"arn:aws:application-autoscaling:x"})");
  auto client = MakeApplicationAutoScalingClient(transport);
  RegisterScalableTargetRequest r;
  r.resource_id = EcsServiceResourceId("dev", "api");
  r.suspended = SuspendedState{true, true, true};
  Result<std::string> arn = client->RegisterScalableTarget(r);
  ASSERT_TRUE(arn.ok()) << arn.error().ToString();
  EXPECT_EQ(*arn, "arn:aws:application-autoscaling:x");
  EXPECT_EQ(json::parse(transport->last().body), json::parse(R"({
      "ServiceNamespace":"ecs","ResourceId":"service/dev/api",
      "ScalableDimension":"ecs:service:DesiredCount",
      "SuspendedState":{"DynamicScalingInSuspended":true,"DynamicScalingOutSuspended":true,
                        "ScheduledScalingSuspended":true}})"));
  EXPECT_EQ(testing::HeaderOf(transport->last(), "X-Amz-Target"),
            "AnyScaleFrontendService.RegisterScalableTarget");
  // Capacities only when set.
  RegisterScalableTargetRequest sizes;
  sizes.resource_id = "service/dev/api";
  sizes.min_capacity = 0;
  sizes.max_capacity = 6;
  ASSERT_TRUE(client->RegisterScalableTarget(sizes).ok());
  EXPECT_EQ(json::parse(transport->last().body),
            json::parse(R"({"ServiceNamespace":"ecs","ResourceId":"service/dev/api",
                            "ScalableDimension":"ecs:service:DesiredCount",
                            "MinCapacity":0,"MaxCapacity":6})"));
}

}  // namespace
}  // namespace fleetkeeper::aws
