// The app's AWS wiring against a loopback STS: which credentials sign each cell's calls, which
// role is assumed for a configured account, and what start-up says when no credentials exist.
// STS answers follow the AWS STS API Reference: GetCallerIdentity
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html) and AssumeRole
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
#include "app/aws_wiring.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/loopback_server.h"
#include "tests/testing/scoped_env.h"

namespace fleetkeeper::app {
namespace {

using aws::testing::LoopbackReply;
using aws::testing::LoopbackRequest;
using aws::testing::LoopbackServer;
using aws::testing::ScopedAwsEnv;

constexpr char kRole[] = "arn:aws:iam::111122223333:role/fleetkeeper";

std::string CallerIdentityXml(const std::string& arn) {
  return "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
         "<GetCallerIdentityResult><Arn>" +
         arn +
         "</Arn><UserId>AIDAEXAMPLE</UserId>"
         "<Account>" +
         arn.substr(13, 12) +
         "</Account></GetCallerIdentityResult>"
         "<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>"
         "</GetCallerIdentityResponse>";
}

LoopbackReply FakeSts(const LoopbackRequest& r) {
  if (r.body.find("Action=AssumeRole") != std::string::npos) {
    return {200,
            {},
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"
            "<SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token"
            "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
            "<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/fleetkeeper/fk</Arn>"
            "<AssumedRoleId>AROA:fk</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"};
  }
  if (r.body.find("Action=GetCallerIdentity") != std::string::npos) {
    bool assumed = r.Header("Authorization").find("ASIAROLE/") != std::string::npos;
    return {200,
            {},
            CallerIdentityXml(assumed ? "arn:aws:sts::111122223333:assumed-role/fleetkeeper/fk"
                                      : "arn:aws:iam::999988887777:user/base")};
  }
  return {400, {}, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>"};
}

class AwsWiringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.Set("AWS_ACCESS_KEY_ID", "AKIDBASE");
    env_.Set("AWS_SECRET_ACCESS_KEY", "base-secret");
    env_.Set("AWS_ENDPOINT_URL", server_.url());
    env_.Set("AWS_MAX_ATTEMPTS", "1");
    config_.mutable_aws()->set_region("us-east-1");
    (*config_.mutable_aws()->mutable_accounts())["111122223333"].set_role_arn(kRole);
  }

  ScopedAwsEnv env_;
  LoopbackServer server_{FakeSts};
  v1::WorkerConfig config_;
};

TEST_F(AwsWiringTest, ProcessCredentialsSignCallsOfTheDefaultCell) {
  auto provider = MakeClientProvider(config_);
  auto cell = provider->For("", "", "");
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  auto who = (*cell)->sts->GetCallerIdentity();
  ASSERT_TRUE(who.ok()) << who.error().ToString();
  EXPECT_EQ(who->arn, "arn:aws:iam::999988887777:user/base");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  // The config's region fills in an empty one, and it is in the credential scope moto routes by.
  EXPECT_NE(requests[0].Header("Authorization").find("AKIDBASE/"), std::string::npos);
  EXPECT_NE(requests[0].Header("Authorization").find("/us-east-1/sts/aws4_request"),
            std::string::npos);
}

TEST_F(AwsWiringTest, ConfiguredAccountIsReachedThroughItsRole) {
  auto provider = MakeClientProvider(config_);
  auto cell = provider->For("111122223333", "eu-west-1", "");
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  auto who = (*cell)->sts->GetCallerIdentity();
  ASSERT_TRUE(who.ok()) << who.error().ToString();
  EXPECT_EQ(who->account, "111122223333");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  // First the base credentials assume the configured role, then the cell's call is signed with
  // the role's credentials in the cell's region.
  EXPECT_NE(requests[0].body.find("Action=AssumeRole"), std::string::npos);
  EXPECT_NE(requests[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ffleetkeeper"),
            std::string::npos)
      << requests[0].body;
  EXPECT_NE(requests[0].Header("Authorization").find("AKIDBASE/"), std::string::npos);
  EXPECT_NE(requests[1].Header("Authorization").find("ASIAROLE/"), std::string::npos);
  EXPECT_NE(requests[1].Header("Authorization").find("/eu-west-1/sts/"), std::string::npos);
}

TEST_F(AwsWiringTest, UnlistedAccountUsesTheProcessCredentials) {
  auto provider = MakeClientProvider(config_);
  auto cell = provider->For("444455556666", "us-west-2", "");
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  ASSERT_TRUE((*cell)->sts->GetCallerIdentity().ok());
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].Header("Authorization").find("AKIDBASE/"), std::string::npos);
}

TEST_F(AwsWiringTest, BadCellsAreErrorsNamingWhatIsWrong) {
  auto provider = MakeClientProvider(config_);
  auto bad_account = provider->For("12345", "us-east-1", "");
  ASSERT_FALSE(bad_account.ok());
  EXPECT_NE(bad_account.error().message.find("'12345'"), std::string::npos);

  (*config_.mutable_aws()->mutable_accounts())["444455556666"].set_role_arn(kRole);
  auto mismatched = MakeClientProvider(config_)->For("444455556666", "us-east-1", "");
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("not in the cell's account 444455556666"),
            std::string::npos)
      << mismatched.error().message;
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(AwsWiringTest, ExternalIdIsSentWithTheAccountsAssumeRole) {
  auto& accounts = *config_.mutable_aws()->mutable_accounts();
  accounts["111122223333"].set_external_id("x-1");
  accounts["444455556666"].set_role_arn("arn:aws:iam::444455556666:role/no-external-id");
  auto provider = MakeClientProvider(config_);
  auto cell = provider->For("111122223333", "us-east-1", "");
  ASSERT_TRUE(cell.ok()) << cell.error().ToString();
  ASSERT_TRUE((*cell)->sts->GetCallerIdentity().ok());
  // The same role named explicitly (a request's role ARN) is the same trust policy: same id.
  auto named = provider->For("111122223333", "eu-west-1", kRole);
  ASSERT_TRUE(named.ok()) << named.error().ToString();
  ASSERT_TRUE((*named)->sts->GetCallerIdentity().ok());
  // Another account's role is assumed without it.
  auto other = provider->For("444455556666", "us-east-1", "");
  ASSERT_TRUE(other.ok()) << other.error().ToString();
  ASSERT_TRUE((*other)->sts->GetCallerIdentity().ok());
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_NE(requests[0].body.find("Action=AssumeRole"), std::string::npos);
  EXPECT_NE(requests[0].body.find("&ExternalId=x-1"), std::string::npos) << requests[0].body;
  // One AssumeRole serves both regions of the role.
  EXPECT_EQ(requests[2].body.find("Action=AssumeRole"), std::string::npos);
  EXPECT_NE(requests[3].body.find("no-external-id"), std::string::npos) << requests[3].body;
  EXPECT_EQ(requests[3].body.find("ExternalId"), std::string::npos) << requests[3].body;
}

TEST_F(AwsWiringTest, StartNamesTheCredentialSourceAndNeverTheSecret) {
  auto source = ResolveCredentialsAtStart(*MakeCredentials());
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  EXPECT_EQ(*source, "environment");

  env_.Unset("AWS_ACCESS_KEY_ID");
  env_.Unset("AWS_SECRET_ACCESS_KEY");
  auto none = ResolveCredentialsAtStart(*MakeCredentials());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message.rfind("no AWS credentials", 0), 0u) << none.error().message;
  EXPECT_EQ(none.error().message.find("base-secret"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::app
