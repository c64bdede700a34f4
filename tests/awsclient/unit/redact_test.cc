#include "awsclient/redact.h"

#include <gtest/gtest.h>

#include "awsclient/sigv4.h"

namespace fleetkeeper::aws {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4";

void ExpectClean(const std::string& text) {
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
}

TEST(RedactTest, SignedRequestHeadersLoseAuthorizationAndToken) {
  SignableRequest request;
  request.headers = {{"Host", "ec2.us-east-1.amazonaws.com"}};
  request.body = "Action=DescribeInstances&Version=2016-11-15";
  Credentials creds{"AKIDEXAMPLE", kSecret, kToken, 0, "test"};
  auto signed_request = SignRequest(request, creds, SigningParams{"us-east-1", "ec2", 0});
  ASSERT_TRUE(signed_request.ok());
  std::string dump;
  for (const auto& [k, v] : signed_request->added_headers) dump += k + ": " + v + "\r\n";
  std::string redacted = Redact(dump);
  ExpectClean(redacted);
  EXPECT_EQ(redacted.find(signed_request->signature), std::string::npos) << redacted;
  EXPECT_NE(redacted.find("X-Amz-Date: 19700101T000000Z"), std::string::npos)
      << "non-secret headers stay readable";
  EXPECT_NE(redacted.find("Authorization: [REDACTED]"), std::string::npos);
}

TEST(RedactTest, PresignedUrlLosesCredentialSignatureAndToken) {
  SignableRequest request;
  request.method = "GET";
  request.query = "Action=GetCallerIdentity&Version=2011-06-15";
  request.headers = {{"Host", "sts.amazonaws.com"}};
  Credentials creds{"AKIDEXAMPLE", kSecret, kToken, 0, "test"};
  auto presigned = PresignRequest(request, creds, SigningParams{"us-east-1", "sts", 0});
  ASSERT_TRUE(presigned.ok());
  std::string url = "https://sts.amazonaws.com/?" + request.query + "&" + presigned->added_query;
  std::string redacted = Redact(url);
  EXPECT_EQ(redacted.find(presigned->signature), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find("AKIDEXAMPLE"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find(UriEncode(kToken)), std::string::npos) << redacted;
  EXPECT_NE(redacted.find("Action=GetCallerIdentity"), std::string::npos);
}

TEST(RedactTest, StsXmlAndImdsJsonLoseSecrets) {
  std::string xml = std::string("<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>") +
                    "<SecretAccessKey>" + kSecret + "</SecretAccessKey><SessionToken>" + kToken +
                    "</SessionToken></Credentials>";
  ExpectClean(Redact(xml));
  EXPECT_NE(Redact(xml).find("ASIAEXAMPLE"), std::string::npos) << "key ids are not secret";
  std::string json = std::string(R"({"AccessKeyId":"ASIA","SecretAccessKey" : ")") + kSecret +
                     R"(","Token":")" + kToken + R"(","Expiration":"2030-01-01T00:00:00Z"})";
  ExpectClean(Redact(json));
  EXPECT_NE(Redact(json).find("2030-01-01"), std::string::npos);
}

TEST(RedactTest, ConfigAndEnvironmentSyntax) {
  ExpectClean(Redact(std::string("aws_secret_access_key = ") + kSecret));
  ExpectClean(Redact(std::string("AWS_SESSION_TOKEN=") + kToken + " other=1"));
}

TEST(RedactTest, RegisteredSecretsAreRedactedInAnyForm) {
  const std::string secret = "registered-secret-value-12345";
  EXPECT_NE(Redact("free text " + secret).find(secret), std::string::npos);
  RegisterSecret(secret);
  EXPECT_EQ(Redact("free text " + secret + " and again " + secret).find(secret), std::string::npos);
}

TEST(RedactTest, OrdinaryTextIsUnchanged) {
  const std::string text = "ec2 DescribeInstances: InvalidInstanceID.NotFound (HTTP 400)";
  EXPECT_EQ(Redact(text), text);
}

}  // namespace
}  // namespace fleetkeeper::aws
