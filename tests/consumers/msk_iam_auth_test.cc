// MSK IAM on the Kafka clients (consumers/msk_iam_auth.h): the properties librdkafka gets, the
// region option, and a client that authenticates with a token made from the credential chain.
#include "consumers/msk_iam_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "consumers/kafka_clients.h"

namespace fleetkeeper::consumers {
namespace {

TEST(MskIamAuth, AwsMskIamBecomesOauthbearerAndNothingElseChanges) {
  std::map<std::string, std::string> props = {{"sasl.mechanism", "aws_msk_iam"},
                                              {"security.protocol", "SASL_SSL"}};
  EXPECT_TRUE(WantsMskIam(props));
  auto out = MskIamProperties(props);
  EXPECT_EQ(out.at("sasl.mechanism"), "OAUTHBEARER");
  EXPECT_EQ(out.at("security.protocol"), "SASL_SSL");
  std::map<std::string, std::string> scram = {{"sasl.mechanism", "SCRAM-SHA-512"}};
  EXPECT_FALSE(WantsMskIam(scram));
  EXPECT_EQ(MskIamProperties(scram), scram);
}

TEST(MskIamAuth, RegionComesFromTheOauthbearerConfig) {
  EXPECT_EQ(RegionOfOauthbearerConfig("region=eu-west-1"), "eu-west-1");
  EXPECT_EQ(RegionOfOauthbearerConfig("principal=x region=us-east-2"), "us-east-2");
  EXPECT_EQ(RegionOfOauthbearerConfig("principal=x"), "");
  EXPECT_EQ(RegionOfOauthbearerConfig(nullptr), "");
}

struct AuthErrors {
  std::atomic<int> count{0};
  std::string last;
};

void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION) return;
  auto* seen = static_cast<AuthErrors*>(opaque);
  seen->last = reason;
  ++seen->count;
}

// Polls `client` for up to `ms`, serving the error callback.
void PollFor(rd_kafka_t* client, int ms) {
  for (int waited = 0; waited < ms; waited += 100) rd_kafka_poll(client, 100);
}

KafkaProperties MskProps() {
  // No broker is contacted: the token is made as the client starts, before any connection.
  return {{"bootstrap.servers", "127.0.0.1:1"},
          {"security.protocol", "SASL_PLAINTEXT"},
          {"sasl.mechanism", "AWS_MSK_IAM"},
          {"sasl.oauthbearer.config", "region=eu-central-1"}};
}

TEST(MskIamAuth, WithoutCredentialsTheTokenFailsNamingWhy) {
  ::setenv("AWS_CONFIG_FILE", "/nonexistent/fk-config", 1);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/fk-credentials", 1);
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  AuthErrors seen;
  ClientCallbacks callbacks;
  callbacks.opaque = &seen;
  callbacks.error = &OnError;
  auto client = NewClient(ClientRole::kProducer, MskProps(), callbacks, "producer");
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  PollFor(client->get(), 3000);
  EXPECT_GT(seen.count.load(), 0);
  EXPECT_NE(seen.last.find("credentials"), std::string::npos) << seen.last;
}

TEST(MskIamAuth, WithCredentialsTheClientGetsItsToken) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
  AuthErrors seen;
  ClientCallbacks callbacks;
  callbacks.opaque = &seen;
  callbacks.error = &OnError;
  auto client = NewClient(ClientRole::kProducer, MskProps(), callbacks, "producer");
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  PollFor(client->get(), 1500);
  EXPECT_EQ(seen.count.load(), 0) << seen.last;
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

}  // namespace
}  // namespace fleetkeeper::consumers
