// The credential chain with temporary files, a scoped environment and loopback servers playing
// STS (AssumeRole, AssumeRoleWithWebIdentity), the ECS credentials endpoint and IMDSv2.
// STS answers follow the AssumeRole and AssumeRoleWithWebIdentity response syntax of the AWS STS
// API Reference (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html,
// .../API_AssumeRoleWithWebIdentity.html); container and IMDS answers follow "IAM roles for
// tasks" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html) and
// "Retrieve security credentials from instance metadata"
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
//  instance-metadata-security-credentials.html).
#include "awsclient/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "awsclient/sigv4.h"
#include "awsclient/transport_factory.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/scoped_env.h"

namespace fleetkeeper::aws {
namespace {

namespace fs = std::filesystem;
using testing::LoopbackReply;
using testing::LoopbackRequest;
using testing::LoopbackServer;
using testing::ScopedAwsEnv;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fk-creds-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = (fs::path(path_) / name).string();
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

std::string StsCredentialsXml(const std::string& action, const std::string& key) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" + action +
         "Result><Credentials><AccessKeyId>" + key +
         "</AccessKeyId><SecretAccessKey>assumed-secret-" + key +
         "</SecretAccessKey><SessionToken>assumed-token-" + key +
         "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></" + action +
         "Result><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></" + action +
         "Response>";
}

LoopbackReply FakeSts(const LoopbackRequest& r) {
  if (r.body.find("Action=AssumeRoleWithWebIdentity") != std::string::npos) {
    return {200, {}, StsCredentialsXml("AssumeRoleWithWebIdentity", "ASIAWEB")};
  }
  if (r.body.find("Action=AssumeRole") != std::string::npos) {
    if (r.Header("Authorization").empty()) return {403, {}, "<ErrorResponse/>"};
    return {200, {}, StsCredentialsXml("AssumeRole", "ASIAROLE")};
  }
  return {400, {}, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>"};
}

class CredentialsTest : public ::testing::Test {
 protected:
  ScopedAwsEnv env_;
  TempDir dir_;
  ProviderContext context_ = DefaultProviderContext();
};

TEST_F(CredentialsTest, EnvironmentCredentials) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKIAENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "env-secret");
  env_.Set("AWS_SESSION_TOKEN", "env-token");
  auto creds = EnvironmentProvider().Resolve();
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->access_key_id, "AKIAENV");
  EXPECT_EQ(creds->session_token, "env-token");
  EXPECT_EQ(creds->source, "environment");
}

TEST_F(CredentialsTest, HalfConfiguredEnvironmentNamesTheMissingVariable) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKIAENV");
  auto creds = EnvironmentProvider().Resolve();
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(creds.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialsTest, ProfileStaticKeysCredentialsFileWinsOverConfig) {
  env_.Set("AWS_CONFIG_FILE", dir_.Write("config",
                                         "[default]\nregion = eu-west-1\n"
                                         "[profile prod]\naws_access_key_id = AKIACONFIG\n"
                                         "aws_secret_access_key = config-secret\n"));
  env_.Set("AWS_SHARED_CREDENTIALS_FILE",
           dir_.Write("credentials",
                      "# comment\n[prod]\naws_access_key_id = AKIACREDS\n"
                      "aws_secret_access_key = creds-secret\n"));
  env_.Set("AWS_PROFILE", "prod");
  auto creds = ProfileProvider(context_).Resolve();
  ASSERT_TRUE(creds.ok()) << creds.error().ToString();
  EXPECT_EQ(creds->access_key_id, "AKIACREDS");
  EXPECT_EQ(creds->source, "profile prod");
}

TEST_F(CredentialsTest, NamedProfileThatDoesNotExistIsAnError) {
  env_.Set("AWS_PROFILE", "missing");
  auto creds = ProfileProvider(context_).Resolve();
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(creds.error().message.find("missing"), std::string::npos);
}

TEST_F(CredentialsTest, ProfileWithRoleArnAssumesTheRoleWithSourceProfileKeys) {
  LoopbackServer sts(FakeSts);
  env_.Set("AWS_ENDPOINT_URL_STS", sts.url());
  env_.Set("AWS_CONFIG_FILE",
           dir_.Write("config",
                      "[profile base]\naws_access_key_id = AKIABASE\n"
                      "aws_secret_access_key = base-secret\n"
                      "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/ops\n"
                      "source_profile = base\nexternal_id = ext-42\n"
                      "region = eu-central-1\n"));
  env_.Set("AWS_PROFILE", "ops");
  auto creds = ProfileProvider(context_).Resolve();
  ASSERT_TRUE(creds.ok()) << creds.error().ToString();
  EXPECT_EQ(creds->access_key_id, "ASIAROLE");
  EXPECT_EQ(creds->session_token, "assumed-token-ASIAROLE");
  EXPECT_GT(creds->expiration_ms, 0);
  EXPECT_NE(creds->source.find("assume-role arn:aws:iam::111122223333:role/ops"),
            std::string::npos);
  auto requests = sts.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].Header("Authorization").find("Credential=AKIABASE/"), std::string::npos);
  EXPECT_NE(requests[0].Header("Authorization").find("/eu-central-1/sts/aws4_request"),
            std::string::npos);
  EXPECT_NE(requests[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fops"),
            std::string::npos)
      << requests[0].body;
  EXPECT_NE(requests[0].body.find("ExternalId=ext-42"), std::string::npos);
}

TEST_F(CredentialsTest, WebIdentityFromTheEnvironmentAsOnEks) {
  LoopbackServer sts(FakeSts);
  env_.Set("AWS_ENDPOINT_URL", sts.url());
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", dir_.Write("token", "eyJhbGciOi.jwt-payload.sig\n"));
  env_.Set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/eks-pod");
  env_.Set("AWS_ROLE_SESSION_NAME", "pod-1");
  auto creds = WebIdentityProvider(context_, StsOptions{}).Resolve();
  ASSERT_TRUE(creds.ok()) << creds.error().ToString();
  EXPECT_EQ(creds->access_key_id, "ASIAWEB");
  auto requests = sts.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].Header("Authorization").empty()) << "the call is anonymous";
  // The file's trailing newline is not part of the token.
  const std::string expected = "WebIdentityToken=eyJhbGciOi.jwt-payload.sig";
  EXPECT_TRUE(requests[0].body.ends_with(expected)) << requests[0].body;
  EXPECT_NE(requests[0].body.find("RoleSessionName=pod-1"), std::string::npos);
}

TEST_F(CredentialsTest, ContainerCredentialsWithAuthorizationTokenFile) {
  LoopbackServer ecs([](const LoopbackRequest& r) -> LoopbackReply {
    if (r.Header("Authorization") != "pod-identity-token") return {401, {}, "unauthorized"};
    return {200,
            {},
            R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret",)"
            R"("Token":"ecs-token","Expiration":"2099-01-01T00:00:00Z"})"};
  });
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/v2/credentials/abc");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir_.Write("ecs", "pod-identity-token\n"));
  auto creds = ContainerProvider(context_).Resolve();
  ASSERT_TRUE(creds.ok()) << creds.error().ToString();
  EXPECT_EQ(creds->access_key_id, "ASIAECS");
  EXPECT_EQ(creds->session_token, "ecs-token");
  EXPECT_EQ(ecs.requests().at(0).target, "/v2/credentials/abc");
}

TEST_F(CredentialsTest, ContainerFullUriOverPlainHttpMustBeLocal) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds");
  auto creds = ContainerProvider(context_).Resolve();
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.error().code, ErrorCode::kInvalidInput);
}

LoopbackReply FakeImds(const LoopbackRequest& r) {
  if (r.method == "PUT" && r.target == "/latest/api/token") {
    if (r.Header("X-aws-ec2-metadata-token-ttl-seconds").empty()) return {400, {}, ""};
    return {200, {}, "imds-session-token"};
  }
  if (r.Header("X-aws-ec2-metadata-token") != "imds-session-token") return {401, {}, ""};
  if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, {}, "fleet-role"};
  if (r.target == "/latest/meta-data/iam/security-credentials/fleet-role") {
    return {200,
            {},
            R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS",)"
            R"("SecretAccessKey":"imds-secret","Token":"imds-token",)"
            R"("Expiration":"2099-01-01T00:00:00Z"})"};
  }
  return {404, {}, ""};
}

TEST_F(CredentialsTest, ImdsV2TokenThenRoleCredentials) {
  LoopbackServer imds(FakeImds);
  env_.Unset("AWS_EC2_METADATA_DISABLED");
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
  auto creds = ImdsProvider(context_).Resolve();
  ASSERT_TRUE(creds.ok()) << creds.error().ToString();
  EXPECT_EQ(creds->access_key_id, "ASIAIMDS");
  EXPECT_EQ(creds->source, "imds (role fleet-role)");
}

TEST_F(CredentialsTest, ChainOrderAndReportedSource) {
  LoopbackServer imds(FakeImds);
  env_.Unset("AWS_EC2_METADATA_DISABLED");
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
  auto chain = DefaultCredentialsChain(context_);
  auto source = DescribeCredentialSource(*chain);
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  EXPECT_EQ(*source, "imds (role fleet-role)") << "nothing else configured";

  env_.Set("AWS_ACCESS_KEY_ID", "AKIAENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "env-secret-value");
  auto fresh = DefaultCredentialsChain(context_);
  auto env_source = DescribeCredentialSource(*fresh);
  ASSERT_TRUE(env_source.ok());
  EXPECT_EQ(*env_source, "environment") << "the environment comes first";
  EXPECT_EQ(env_source->find("env-secret-value"), std::string::npos);
}

TEST_F(CredentialsTest, ChainWithNothingConfiguredSaysWhatItTried) {
  auto chain = DefaultCredentialsChain(context_);
  auto creds = chain->Resolve();
  ASSERT_FALSE(creds.ok());
  // Not kNotFound: to a caller of AWS that would read as "what you asked for does not exist".
  EXPECT_EQ(creds.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(creds.error().message.rfind("no AWS credentials found", 0), 0u);
  for (const char* name : {"environment", "profile default", "web-identity", "container", "imds"}) {
    EXPECT_NE(creds.error().message.find(name), std::string::npos) << creds.error().message;
  }
}

// Off EC2, or on an instance whose metadata service is turned off, the token request is refused
// with 403: that is "no credentials here", and with nothing else configured the chain says so at
// once (kUnauthorized, never a transient error that every AWS call would retry).
TEST_F(CredentialsTest, AnImdsThatRefusesTheTokenRequestMeansNoCredentials) {
  LoopbackServer imds([](const LoopbackRequest&) { return LoopbackReply{403, {}, "Forbidden"}; });
  env_.Unset("AWS_EC2_METADATA_DISABLED");
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
  auto alone = ImdsProvider(context_).Resolve();
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().code, ErrorCode::kNotFound) << alone.error().ToString();
  auto chain = DefaultCredentialsChain(context_)->Resolve();
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().code, ErrorCode::kUnauthorized) << chain.error().ToString();
  EXPECT_FALSE(chain.error().retriable);
  EXPECT_NE(chain.error().message.find("HTTP 403"), std::string::npos) << chain.error().message;
}

class CountingProvider final : public CredentialsProvider {
 public:
  CountingProvider(const Clock& clock, int64_t lifetime_ms)
      : clock_(clock), lifetime_(lifetime_ms) {}
  Result<Credentials> Resolve() override {
    int n = ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fail) return Error(ErrorCode::kUnavailable, "sts down", true);
    return Credentials{"ASIA" + std::to_string(n), "s", "t", clock_.NowMs() + lifetime_, "count"};
  }
  std::string name() const override { return "counting"; }
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};

 private:
  const Clock& clock_;
  int64_t lifetime_;
};

TEST(CachedProviderTest, RefreshesBeforeExpiryAndOnlyOnceUnderConcurrency) {
  ManualClock clock;
  auto inner = std::make_shared<CountingProvider>(clock, 60 * 60 * 1000);
  CachedProvider cached(inner, clock, 5 * 60 * 1000);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { ASSERT_TRUE(cached.Resolve().ok()); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(inner->calls.load(), 1);

  clock.Advance(54 * 60 * 1000);
  EXPECT_EQ(cached.Resolve()->access_key_id, "ASIA1") << "still 6 minutes left";
  clock.Advance(2 * 60 * 1000);
  EXPECT_EQ(cached.Resolve()->access_key_id, "ASIA2") << "refreshed 4 minutes before expiry";
}

TEST(CachedProviderTest, ServesStillValidCredentialsWhenARefreshFails) {
  ManualClock clock;
  auto inner = std::make_shared<CountingProvider>(clock, 10 * 60 * 1000);
  CachedProvider cached(inner, clock, 5 * 60 * 1000);
  ASSERT_TRUE(cached.Resolve().ok());
  inner->fail = true;
  clock.Advance(6 * 60 * 1000);
  auto creds = cached.Resolve();
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->access_key_id, "ASIA1");
  clock.Advance(5 * 60 * 1000);
  EXPECT_FALSE(cached.Resolve().ok()) << "expired credentials are never served";
}

TEST(SharedConfigTest, ServicesSectionGivesPerServiceEndpoints) {
  SharedConfig config;
  ASSERT_TRUE(
      ParseSharedConfigText("[profile local]\nservices = moto\nregion = us-east-1\n"
                            "[services moto]\nec2 =\n  endpoint_url = http://h:1\n"
                            "auto_scaling =\n  endpoint_url = http://h:2\n",
                            true, "config", config));
  ASSERT_NE(config.Find("local"), nullptr);
  EXPECT_EQ(config.services["moto"]["EC2"], "http://h:1");
  EXPECT_EQ(config.services["moto"]["AUTO_SCALING"], "http://h:2");
  auto bad = ParseSharedConfigText("[profile x\n", true, "cfg", config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cfg:1"), std::string::npos);
}

TEST_F(CredentialsTest, FactoryGivesOneTransportPerCellAndAssumesTheCellsRole) {
  std::atomic<int> assume_calls{0};
  LoopbackServer aws([&](const LoopbackRequest& r) -> LoopbackReply {
    if (r.body.find("Action=AssumeRole") != std::string::npos) {
      ++assume_calls;
      return FakeSts(r);
    }
    return {200, {{"x-amzn-RequestId", "svc"}}, r.Header("Authorization")};
  });
  env_.Set("AWS_ENDPOINT_URL", aws.url());
  env_.Set("AWS_ACCESS_KEY_ID", "AKIABASE");
  env_.Set("AWS_SECRET_ACCESS_KEY", "base-secret");
  TransportOptions defaults;
  defaults.http = context_.http;
  TransportFactory factory(DefaultCredentialsChain(context_), defaults, context_);
  const std::string role = "arn:aws:iam::111122223333:role/fleetkeeper";

  auto a = factory.Get("111122223333", "eu-west-1", role);
  auto b = factory.Get("111122223333", "eu-west-1", role);
  auto c = factory.Get("111122223333", "us-east-1", role);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ((*c)->region(), "us-east-1");

  ServiceRequest request{"ec2",
                         "DescribeInstances",
                         Protocol::kEc2Query,
                         "POST",
                         "/",
                         {},
                         "Action=DescribeInstances&Version=2016-11-15"};
  auto first = (*a)->Call(request);
  auto second = (*c)->Call(request);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_NE(first->body.find("Credential=ASIAROLE/"), std::string::npos) << first->body;
  EXPECT_NE(second->body.find("/us-east-1/ec2/aws4_request"), std::string::npos);
  EXPECT_EQ(assume_calls.load(), 1) << "the role's credentials are cached across regions";

  auto bad = factory.Get("999999999999", "eu-west-1", role);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("role_arn"), std::string::npos);
  EXPECT_FALSE(factory.Get("12345", "eu-west-1", "").ok());
}

}  // namespace
}  // namespace fleetkeeper::aws
