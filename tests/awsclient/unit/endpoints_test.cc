#include "awsclient/endpoints.h"

#include <gtest/gtest.h>

#include "tests/testing/scoped_env.h"

namespace fleetkeeper::aws {
namespace {

using testing::ScopedAwsEnv;

TEST(EndpointsTest, PartitionDefaults) {
  ScopedAwsEnv env;
  auto ec2 = ResolveEndpoint("ec2", "eu-west-1");
  ASSERT_TRUE(ec2.ok());
  EXPECT_EQ(ec2->url, "https://ec2.eu-west-1.amazonaws.com");
  EXPECT_EQ(ec2->signing_name, "ec2");
  EXPECT_EQ(ec2->signing_region, "eu-west-1");
  EXPECT_FALSE(ec2->overridden);
  EXPECT_EQ(ResolveEndpoint("autoscaling", "cn-north-1")->url,
            "https://autoscaling.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(ResolveEndpoint("ssm", "us-gov-west-1")->url,
            "https://ssm.us-gov-west-1.amazonaws.com");
}

TEST(EndpointsTest, GlobalIamAndLegacyStsSignWithTheHomeRegion) {
  ScopedAwsEnv env;
  auto iam = ResolveEndpoint("iam", "eu-central-1");
  EXPECT_EQ(iam->url, "https://iam.amazonaws.com");
  EXPECT_EQ(iam->signing_region, "us-east-1");
  EXPECT_EQ(ResolveEndpoint("iam", "cn-northwest-1")->signing_region, "cn-north-1");
  EXPECT_EQ(ResolveEndpoint("iam", "us-gov-east-1")->url, "https://iam.us-gov.amazonaws.com");
  EXPECT_EQ(ResolveEndpoint("sts", "eu-west-1")->url, "https://sts.eu-west-1.amazonaws.com");
  env.Set("AWS_STS_REGIONAL_ENDPOINTS", "legacy");
  auto sts = ResolveEndpoint("sts", "eu-west-1");
  EXPECT_EQ(sts->url, "https://sts.amazonaws.com");
  EXPECT_EQ(sts->signing_region, "us-east-1");
}

TEST(EndpointsTest, OverridesFollowTheCliPrecedenceAndKeepTheSigningScope) {
  ScopedAwsEnv env;
  EndpointConfig profile;
  profile.profile_endpoint_url = "http://profile-global:1";
  profile.profile_service_urls["AUTO_SCALING"] = "http://profile-asg:2";
  EXPECT_EQ(ResolveEndpoint("ec2", "us-west-2", profile)->url, "http://profile-global:1");
  EXPECT_EQ(ResolveEndpoint("autoscaling", "us-west-2", profile)->url, "http://profile-asg:2");
  env.Set("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/");
  EXPECT_EQ(ResolveEndpoint("ec2", "us-west-2", profile)->url, "http://127.0.0.1:5000");
  EXPECT_EQ(ResolveEndpoint("autoscaling", "us-west-2", profile)->url, "http://profile-asg:2");
  env.Set("AWS_ENDPOINT_URL_AUTO_SCALING", "http://127.0.0.1:6000");
  auto asg = ResolveEndpoint("autoscaling", "us-west-2", profile);
  EXPECT_EQ(asg->url, "http://127.0.0.1:6000");
  EXPECT_TRUE(asg->overridden);
  EXPECT_EQ(asg->signing_name, "autoscaling") << "moto routes by the credential scope";
  EXPECT_EQ(asg->signing_region, "us-west-2");
  auto iam = ResolveEndpoint("iam", "us-west-2", profile);
  EXPECT_EQ(iam->url, "http://127.0.0.1:5000");
  EXPECT_EQ(iam->signing_region, "us-east-1");
  env.Set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
  EXPECT_EQ(ResolveEndpoint("ec2", "us-west-2", profile)->url,
            "https://ec2.us-west-2.amazonaws.com");
}

TEST(EndpointsTest, ServiceIdsAsTheEnvironmentSpellsThem) {
  EXPECT_EQ(ServiceEnvironmentName("autoscaling"), "AUTO_SCALING");
  EXPECT_EQ(ServiceEnvironmentName("ec2"), "EC2");
  EXPECT_EQ(ServiceEnvironmentName("ssm"), "SSM");
  EXPECT_EQ(ServiceEnvironmentName("elasticloadbalancing"), "ELASTIC_LOAD_BALANCING_V2");
  EXPECT_EQ(ServiceEnvironmentName("monitoring"), "CLOUDWATCH");
  EXPECT_EQ(ServiceEnvironmentName("codedeploy"), "CODEDEPLOY");
}

TEST(EndpointsTest, BadInputNamesTheField) {
  ScopedAwsEnv env;
  auto empty_region = ResolveEndpoint("ec2", "");
  ASSERT_FALSE(empty_region.ok());
  EXPECT_NE(empty_region.error().message.find("region"), std::string::npos);
  EXPECT_FALSE(ResolveEndpoint("ec2", "US East 1").ok());
  env.Set("AWS_ENDPOINT_URL_EC2", "ftp://example");
  auto bad = ResolveEndpoint("ec2", "us-east-1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("AWS_ENDPOINT_URL_EC2"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::aws
