// Region resolution in the AWS CLI's order: AWS_REGION, AWS_DEFAULT_REGION, the selected
// profile's `region`, then IMDSv2's placement/region. The config file format follows
// https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html; the IMDS answers
// follow "Instance metadata categories" (placement/region) and the IMDSv2 token flow of
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html.
#include "awsclient/region.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/testing/loopback_server.h"
#include "tests/testing/scoped_env.h"

namespace fleetkeeper::aws {
namespace {

namespace fs = std::filesystem;
using testing::LoopbackReply;
using testing::LoopbackRequest;
using testing::LoopbackServer;
using testing::ScopedAwsEnv;

class RegionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fk-region-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    const std::string path = (fs::path(dir_) / "config").string();
    std::ofstream(path) << text;
    return path;
  }

  ScopedAwsEnv env_;
  std::string dir_;
};

LoopbackReply FakeImdsRegion(const LoopbackRequest& r) {
  if (r.method == "PUT" && r.target == "/latest/api/token") return {200, {}, "region-token"};
  if (r.Header("X-aws-ec2-metadata-token") != "region-token") return {401, {}, ""};
  if (r.target == "/latest/meta-data/placement/region") return {200, {}, "ap-southeast-2"};
  return {404, {}, ""};
}

TEST_F(RegionTest, AwsRegionWinsOverEverythingElse) {
  env_.Set("AWS_REGION", "eu-west-1");
  env_.Set("AWS_DEFAULT_REGION", "us-west-2");
  env_.Set("AWS_CONFIG_FILE", WriteConfig("[default]\nregion = ca-central-1\n"));
  auto region = ResolveRegion();
  ASSERT_TRUE(region.ok()) << region.error().ToString();
  EXPECT_EQ(region->region, "eu-west-1");
  EXPECT_EQ(region->source, "AWS_REGION");
}

TEST_F(RegionTest, AwsDefaultRegionComesSecond) {
  env_.Set("AWS_DEFAULT_REGION", "us-west-2");
  env_.Set("AWS_CONFIG_FILE", WriteConfig("[default]\nregion = ca-central-1\n"));
  auto region = ResolveRegion();
  ASSERT_TRUE(region.ok()) << region.error().ToString();
  EXPECT_EQ(region->region, "us-west-2");
  EXPECT_EQ(region->source, "AWS_DEFAULT_REGION");
}

TEST_F(RegionTest, TheSelectedProfilesRegion) {
  env_.Set("AWS_CONFIG_FILE", WriteConfig("[default]\nregion = ca-central-1\n\n"
                                          "[profile prod]\nregion = eu-central-1\n"));
  auto by_default = ResolveRegion();
  ASSERT_TRUE(by_default.ok()) << by_default.error().ToString();
  EXPECT_EQ(by_default->region, "ca-central-1");
  EXPECT_EQ(by_default->source, "profile default");

  env_.Set("AWS_PROFILE", "prod");
  auto prod = ResolveRegion();
  ASSERT_TRUE(prod.ok()) << prod.error().ToString();
  EXPECT_EQ(prod->region, "eu-central-1");
  EXPECT_EQ(prod->source, "profile prod");
}

TEST_F(RegionTest, ImdsWhenNothingIsConfigured) {
  LoopbackServer imds(FakeImdsRegion);
  env_.Unset("AWS_EC2_METADATA_DISABLED");
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
  env_.Set("AWS_CONFIG_FILE", WriteConfig("[default]\noutput = json\n"));
  auto region = ResolveRegion();
  ASSERT_TRUE(region.ok()) << region.error().ToString();
  EXPECT_EQ(region->region, "ap-southeast-2");
  EXPECT_EQ(region->source, "imds");
  // The token was fetched first (IMDSv2 only).
  auto requests = imds.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
}

TEST_F(RegionTest, NoSourceIsANotFoundErrorThatSaysWhatToSet) {
  auto region = ResolveRegion();  // IMDS disabled by ScopedAwsEnv, no config files
  ASSERT_FALSE(region.ok());
  EXPECT_EQ(region.error().code, ErrorCode::kNotFound);
  EXPECT_NE(region.error().message.find("AWS_REGION"), std::string::npos) << region.error().message;
}

TEST_F(RegionTest, ABrokenConfigFileIsReportedNotSkipped) {
  env_.Set("AWS_CONFIG_FILE", WriteConfig("[default\nregion = x\n"));
  auto region = ResolveRegion();
  ASSERT_FALSE(region.ok());
  EXPECT_NE(region.error().message.find("config"), std::string::npos) << region.error().message;
}

}  // namespace
}  // namespace fleetkeeper::aws
