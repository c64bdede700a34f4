// The transport against loopback servers: signing scope, retries on 503 / throttling / clock
// skew / timeouts with mocked backoff, the retry quota, connection reuse, a lost answer retried
// with the byte-identical body, and no secret in the debug log.
#include "awsclient/signed_transport.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <ctime>
#include <sstream>

#include "common/metrics.h"
#include "tests/awsclient/unit/fake_time.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/scoped_env.h"

namespace fleetkeeper::aws {
namespace {

using testing::ClockSleeper;
using testing::LoopbackReply;
using testing::LoopbackRequest;
using testing::LoopbackServer;
using testing::ScopedAwsEnv;

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789abcdef";

class StaticProvider final : public CredentialsProvider {
 public:
  Result<Credentials> Resolve() override {
    return Credentials{"AKIDEXAMPLE", kSecret, kToken, 0, "static"};
  }
  std::string name() const override { return "static"; }
};

std::string HttpDate(int64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

LoopbackReply Ec2Error(int status, const std::string& code) {
  return {status,
          {{"Content-Type", "text/xml;charset=UTF-8"}},
          "<Response><Errors><Error><Code>" + code +
              "</Code><Message>m</Message></Error>"
              "</Errors><RequestID>req-err</RequestID></Response>"};
}

LoopbackReply Ok() {
  return {200, {{"x-amzn-RequestId", "req-ok"}}, "<DescribeInstancesResponse/>"};
}

class SignedTransportTest : public ::testing::Test {
 protected:
  ServiceRequest Describe() {
    ServiceRequest r;
    r.service = "ec2";
    r.operation = "DescribeInstances";
    r.protocol = Protocol::kEc2Query;
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.body = "Action=RunInstances&ClientToken=fk-token-1&Version=2016-11-15";
    return r;
  }

  std::unique_ptr<SignedTransport> MakeTransport(const LoopbackServer& server,
                                                 RetryConfig retry = {}, HttpOptions http = {}) {
    env_.Set("AWS_ENDPOINT_URL", server.url());
    TransportOptions options;
    options.region = "eu-west-1";
    options.retry = retry;
    options.http = std::make_shared<HttpClient>(http);
    options.clock = &clock_;
    options.sleeper = &sleeper_;
    options.random = [] { return 0.5; };
    return std::make_unique<SignedTransport>(std::make_shared<StaticProvider>(), options);
  }

  ScopedAwsEnv env_;
  ManualClock clock_{static_cast<int64_t>(std::time(nullptr)) * 1000};
  ClockSleeper sleeper_{clock_};
};

TEST_F(SignedTransportTest, SignsWithTheServiceScopeEvenWhenTheEndpointIsOverridden) {
  LoopbackServer server([](const LoopbackRequest&) { return Ok(); });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->request_id, "req-ok");
  EXPECT_EQ(response->attempts, 1);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string auth = requests[0].Header("Authorization");
  EXPECT_NE(auth.find("Credential=AKIDEXAMPLE/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/eu-west-1/ec2/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(requests[0].Header("X-Amz-Security-Token"), kToken);
  EXPECT_EQ(requests[0].Header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].body, Describe().body);
  EXPECT_EQ(transport->quota().available(), 500);
}

// A provider of the chain that is not configured here.
class NotConfigured final : public CredentialsProvider {
 public:
  Result<Credentials> Resolve() override {
    return Error(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set");
  }
  std::string name() const override { return "environment"; }
};

TEST_F(SignedTransportTest, NoCredentialsIsUnauthorizedNamingTheCallAndNothingIsSent) {
  LoopbackServer server([](const LoopbackRequest&) { return Ok(); });
  env_.Set("AWS_ENDPOINT_URL", server.url());
  TransportOptions options;
  options.region = "eu-west-1";
  options.clock = &clock_;
  options.sleeper = &sleeper_;
  // A provider that is not configured, alone or as the last of a chain: the caller of AWS never
  // sees "not found".
  for (CredentialsProviderPtr provider :
       {CredentialsProviderPtr(std::make_shared<NotConfigured>()),
        CredentialsProviderPtr(std::make_shared<ChainProvider>(
            std::vector<CredentialsProviderPtr>{std::make_shared<NotConfigured>()}))}) {
    SignedTransport transport(provider, options);
    auto response = transport.Call(Describe());
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, ErrorCode::kUnauthorized) << response.error().ToString();
    EXPECT_FALSE(response.error().retriable);
    EXPECT_EQ(response.error().message.rfind("ec2 DescribeInstances: credentials: ", 0), 0u)
        << response.error().message;
    EXPECT_NE(response.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(SignedTransportTest, RetriesFiveHundredThreeWithJitteredBackoffAndRefundsTheQuota) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const LoopbackRequest&) {
    return ++calls <= 2 ? LoopbackReply{503, {}, "<html>Service Unavailable</html>"} : Ok();
  });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->attempts, 3);
  // random = 0.5: half of 1 s, then half of 2 s.
  EXPECT_EQ(sleeper_.sleeps(), (std::vector<int64_t>{500, 1000}));
  EXPECT_EQ(transport->quota().available(), 500) << "a retried success refunds its cost";
}

TEST_F(SignedTransportTest, CountsEveryCallByOutcomeAndEveryRetry) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const LoopbackRequest&) {
    const int n = ++calls;
    if (n == 1) return LoopbackReply{503, {}, "<html>Service Unavailable</html>"};
    if (n == 2) return Ok();
    return Ec2Error(400, "InvalidInstanceID.NotFound");
  });
  auto& ok = metrics::AwsCalls("ec2", "DescribeInstances", "ok");
  auto& not_found = metrics::AwsCalls("ec2", "DescribeInstances", "not_found");
  auto& retries = metrics::AwsRetries("ec2");
  const double ok0 = ok.Value(), missing0 = not_found.Value(), retries0 = retries.Value();
  auto transport = MakeTransport(server);
  ASSERT_TRUE(transport->Call(Describe()).ok());
  ASSERT_FALSE(transport->Call(Describe()).ok());
  EXPECT_EQ(ok.Value() - ok0, 1) << "one call, however many attempts";
  EXPECT_EQ(not_found.Value() - missing0, 1);
  EXPECT_EQ(retries.Value() - retries0, 1);
  EXPECT_EQ(metrics::AwsRetryQuota("ec2").Value(), transport->quota().available());
  EXPECT_NE(metrics::TextExposition().find(
                "fleetkeeper_aws_calls_total{operation=\"DescribeInstances\",outcome=\"ok\","
                "service=\"ec2\"}"),
            std::string::npos);
}

TEST_F(SignedTransportTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  LoopbackServer server([](const LoopbackRequest&) {
    return LoopbackReply{503, {}, "<html><h1>503 Service Unavailable</h1></html>"};
  });
  RetryConfig retry;
  retry.max_attempts = 4;
  auto transport = MakeTransport(server, retry);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(server.request_count(), 4u);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().http_status, 503);
  EXPECT_NE(response.error().message.find("gave up after 4 attempts"), std::string::npos);
  EXPECT_EQ(transport->quota().available(), 500 - 3 * 5);
  for (int64_t s : sleeper_.sleeps()) EXPECT_LE(s, 20000);
}

TEST_F(SignedTransportTest, ThrottlingIsRetriedAndReportedAsThrottled) {
  LoopbackServer server(
      [](const LoopbackRequest&) { return Ec2Error(503, "RequestLimitExceeded"); });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(response.error().code, ErrorCode::kThrottled);
  EXPECT_EQ(response.error().aws_code, "RequestLimitExceeded");
  EXPECT_EQ(response.error().request_id, "req-err");
}

TEST_F(SignedTransportTest, ClientErrorsAreNotRetried) {
  LoopbackServer server(
      [](const LoopbackRequest&) { return Ec2Error(400, "InvalidParameterValue"); });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(response.error().code, ErrorCode::kAws);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(SignedTransportTest, AlreadyExistsAnswerTellsTheCallerToReRead) {
  LoopbackServer server([](const LoopbackRequest&) {
    return Ec2Error(400, "InvalidLaunchTemplateName.AlreadyExistsException");
  });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(SignedTransportTest, ClockSkewIsCorrectedFromTheDateHeaderAndTheCallReSigned) {
  // Our clock runs an hour behind the server's.
  const int64_t server_now = clock_.NowMs() + 3600 * 1000;
  LoopbackServer server([&](const LoopbackRequest& r) {
    const std::string amz_date = r.Header("X-Amz-Date");
    if (amz_date != AmzDate(server_now).substr(0, 13) + amz_date.substr(13)) {
      LoopbackReply reply = Ec2Error(400, "AuthFailure");
      reply.headers.emplace_back("Date", HttpDate(server_now));
      return reply;
    }
    return Ok();
  });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->attempts, 2);
  EXPECT_NEAR(static_cast<double>(transport->clock_offset_ms()), 3600.0 * 1000, 2000);
  // The next call signs with the corrected time at once.
  auto again = transport->Call(Describe());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->attempts, 1);
}

TEST_F(SignedTransportTest, AuthFailureWithoutSkewIsNotRetried) {
  LoopbackServer server([&](const LoopbackRequest&) {
    LoopbackReply reply = Ec2Error(401, "AuthFailure");
    reply.headers.emplace_back("Date", HttpDate(clock_.NowMs()));
    return reply;
  });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(SignedTransportTest, TimeoutsAreRetriedAndCostTenTokens) {
  LoopbackServer server([](const LoopbackRequest&) {
    LoopbackReply reply = Ok();
    reply.delay_ms = 1500;
    return reply;
  });
  HttpOptions http;
  http.request_timeout_ms = 200;
  auto transport = MakeTransport(server, {}, http);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(transport->quota().available(), 500 - 2 * 10);
}

TEST_F(SignedTransportTest, ExhaustedQuotaStopsRetrying) {
  LoopbackServer server([](const LoopbackRequest&) { return Ec2Error(500, "InternalError"); });
  RetryConfig retry;
  retry.max_attempts = 10;
  retry.quota_capacity = 12;  // two retries' worth
  auto transport = MakeTransport(server, retry);
  auto response = transport->Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_NE(response.error().message.find("retry quota is exhausted"), std::string::npos);
  // The next call gets no retry at all until successes refill the quota.
  auto second = transport->Call(Describe());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(server.request_count(), 4u);
}

TEST_F(SignedTransportTest, LostAnswerIsRetriedWithTheByteIdenticalBody) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const LoopbackRequest&) {
    LoopbackReply reply = Ok();
    reply.drop = ++calls == 1;  // read the request, then hang up without answering
    return reply;
  });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, requests[1].body);
  EXPECT_NE(requests[1].body.find("ClientToken=fk-token-1"), std::string::npos);
}

TEST_F(SignedTransportTest, ConnectionsAreReused) {
  LoopbackServer server([](const LoopbackRequest&) { return Ok(); });
  auto transport = MakeTransport(server);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(transport->Call(Describe()).ok());
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(SignedTransportTest, AdaptiveModeSlowsDownAfterThrottling) {
  std::atomic<int> calls{0};
  LoopbackServer server([&](const LoopbackRequest&) {
    return ++calls % 2 == 1 ? Ec2Error(400, "RequestLimitExceeded") : Ok();
  });
  RetryConfig retry;
  retry.mode = RetryMode::kAdaptive;
  auto transport = MakeTransport(server, retry);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(transport->Call(Describe()).ok());
  ASSERT_NE(transport->limiter(), nullptr);
  EXPECT_TRUE(transport->limiter()->enabled());
  EXPECT_LE(transport->limiter()->fill_rate(), 10.0);
}

TEST_F(SignedTransportTest, DebugLogCarriesNoSecret) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::debug);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  LoopbackServer server([](const LoopbackRequest&) { return Ec2Error(400, "ValidationError"); });
  auto transport = MakeTransport(server);
  auto response = transport->Call(Describe());
  spdlog::set_default_logger(previous);
  ASSERT_FALSE(response.ok());
  const std::string text = log.str();
  EXPECT_NE(text.find("Authorization: [REDACTED]"), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find("Signature="), std::string::npos) << text;
  EXPECT_EQ(response.error().message.find(kToken), std::string::npos);
}

// Hands out session credentials numbered by generation; Invalidate() moves to the next one, as
// a cache that re-fetches would.
class RotatingProvider final : public CredentialsProvider {
 public:
  Result<Credentials> Resolve() override {
    return Credentials{"ASIAEXAMPLE", kSecret, "token-" + std::to_string(generation_.load()), 0,
                       "rotating"};
  }
  std::string name() const override { return "rotating"; }
  void Invalidate() override { ++generation_; }
  int generation() const { return generation_.load(); }

 private:
  std::atomic<int> generation_{1};
};

// STS's error for a session token past its expiry, in the query protocol's error form:
// https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html (ExpiredTokenException)
// and https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (ExpiredToken)
TEST_F(SignedTransportTest, ExpiredTokenRefreshesTheCredentialsAndRetriesOnce) {
  LoopbackServer server([](const LoopbackRequest& request) {
    return request.Header("X-Amz-Security-Token") == "token-1" ? Ec2Error(400, "ExpiredToken")
                                                               : Ok();
  });
  auto provider = std::make_shared<RotatingProvider>();
  env_.Set("AWS_ENDPOINT_URL", server.url());
  TransportOptions options;
  options.region = "eu-west-1";
  options.clock = &clock_;
  options.sleeper = &sleeper_;
  SignedTransport transport(provider, options);
  auto response = transport.Call(Describe());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(provider->generation(), 2);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("X-Amz-Security-Token"), "token-2");
  EXPECT_TRUE(sleeper_.sleeps().empty()) << "fresh credentials need no backoff";
  EXPECT_EQ(transport.quota().available(), 500);
}

TEST_F(SignedTransportTest, ExpiredTokenTwiceIsReportedAfterOneRefresh) {
  LoopbackServer server([](const LoopbackRequest&) { return Ec2Error(400, "ExpiredToken"); });
  auto provider = std::make_shared<RotatingProvider>();
  env_.Set("AWS_ENDPOINT_URL", server.url());
  TransportOptions options;
  options.region = "eu-west-1";
  options.clock = &clock_;
  options.sleeper = &sleeper_;
  SignedTransport transport(provider, options);
  auto response = transport.Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().aws_code, "ExpiredToken");
  EXPECT_EQ(response.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(provider->generation(), 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(SignedTransportTest, UnknownRegionIsAnInputError) {
  TransportOptions options;
  options.region = "";
  SignedTransport transport(std::make_shared<StaticProvider>(), options);
  auto response = transport.Call(Describe());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace fleetkeeper::aws
