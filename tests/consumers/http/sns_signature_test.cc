// SNS signature verification against real signed messages and the certificates that signed them
// (../shared/testdata/sns: aws-sdk-java-v2 and aws-php-sns-message-validator fixtures).
#include "consumers/http/sns_signature.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace fleetkeeper::consumers::http {
namespace {

std::string Sns(const std::string& relative) {
  std::ifstream in(std::string(FK_SHARED_TESTDATA) + "/sns/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

const char kPhpCert[] =
    "aws-php-sns-message-validator/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";
const char kJavaCert[] =
    "aws-sdk-java-v2/sns-message-manager/"
    "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem";

SnsSignedMessage Parse(const std::string& relative) {
  Result<SnsSignedMessage> message = ParseSnsSignedMessage(Sns(relative));
  EXPECT_TRUE(message.ok()) << relative << ": " << message.error().message;
  return message.ok() ? *message : SnsSignedMessage{};
}

struct SignedCase {
  const char* message;
  const char* certificate;
};

TEST(SnsSignature, RealMessagesVerify) {
  const SignedCase cases[] = {
      {"aws-php-sns-message-validator/notification-sigv1-no-subject.json", kPhpCert},
      {"aws-php-sns-message-validator/notification-sigv1-with-subject.json", kPhpCert},
      {"aws-php-sns-message-validator/notification-sigv2-no-subject.json", kPhpCert},
      {"aws-php-sns-message-validator/notification-sigv2-with-subject.json", kPhpCert},
      {"aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json", kJavaCert},
      {"aws-sdk-java-v2/sns-message-manager/test-notification-with-subject.json", kJavaCert},
      {"aws-sdk-java-v2/sns-message-manager/test-notification-signature-v2.json", kJavaCert},
      {"aws-sdk-java-v2/sns-message-manager/test-subscription-confirmation.json", kJavaCert},
      {"aws-sdk-java-v2/sns-message-manager/test-unsubscribe-confirmation.json", kJavaCert},
      {"aws-sdk-java-v2/sns/sample-message.json", "aws-sdk-java-v2/sns/unit-test-public-cert.pem"},
  };
  for (const SignedCase& c : cases) {
    const Status verified = VerifySnsSignature(Parse(c.message), Sns(c.certificate));
    EXPECT_TRUE(verified.ok()) << c.message << ": " << verified.error().message;
  }
}

TEST(SnsSignature, TamperedMessagesFail) {
  const std::string file =
      "aws-sdk-java-v2/sns-message-manager/test-notification-with-subject.json";
  const std::string certificate = Sns(kJavaCert);
  const auto expect_mismatch = [&](const SnsSignedMessage& message, const char* what) {
    const Status verified = VerifySnsSignature(message, certificate);
    ASSERT_FALSE(verified.ok()) << what;
    EXPECT_EQ(verified.error().message,
              "Signature: does not match the message (SignatureVersion 1)")
        << what;
  };
  SnsSignedMessage message = Parse(file);
  message.message += " ";
  expect_mismatch(message, "Message");
  message = Parse(file);
  message.subject.reset();
  expect_mismatch(message, "Subject removed");
  message = Parse(file);
  message.topic_arn = "arn:aws:sns:us-west-2:131990247566:another-topic";
  expect_mismatch(message, "TopicArn");
  message = Parse(file);
  message.message_id[0] = message.message_id[0] == 'a' ? 'b' : 'a';
  expect_mismatch(message, "MessageId");
  // The same bytes under the other digest.
  message = Parse(file);
  message.signature_version = "2";
  const Status verified = VerifySnsSignature(message, certificate);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "Signature: does not match the message (SignatureVersion 2)");

  SnsSignedMessage confirmation =
      Parse("aws-sdk-java-v2/sns-message-manager/test-subscription-confirmation.json");
  confirmation.token += "0";
  EXPECT_FALSE(VerifySnsSignature(confirmation, certificate).ok());
}

TEST(SnsSignature, CertificateMustBeValidAtTheMessageTimestamp) {
  // The PHP fixtures' certificate expired in 2022; their messages are from 2022-07 and verify
  // above. A 2026 message must not verify with it, nor with the expired test certificate.
  const SnsSignedMessage message =
      Parse("aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json");
  for (const std::string& certificate :
       {std::string(kPhpCert), std::string("aws-sdk-java-v2/sns-message-manager/"
                                           "expired-cert.pem")}) {
    const Status verified = VerifySnsSignature(message, Sns(certificate));
    ASSERT_FALSE(verified.ok()) << certificate;
    EXPECT_EQ(verified.error().message,
              "certificate: not valid at the message's Timestamp 2026-03-06T19:55:38.903Z");
  }
  // A 2015 message and a certificate issued in 2016.
  const Status early = VerifySnsSignature(Parse("aws-sdk-java-v2/sns/sample-message.json"),
                                          Sns("aws-sdk-java-v2/sns/sns-public-cert.pem"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().message.rfind("certificate: not valid at the message's Timestamp", 0),
            0u);
}

TEST(SnsSignature, MalformedInputsAreNamed) {
  const std::string certificate = Sns(kJavaCert);
  SnsSignedMessage message =
      Parse("aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json");
  message.signature_version = "3";
  Status verified = VerifySnsSignature(message, certificate);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "SignatureVersion: unsupported \"3\" (expected 1 or 2)");

  message = Parse("aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json");
  message.signature = "!!!not base64!!!";
  verified = VerifySnsSignature(message, certificate);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "Signature: not valid base64");

  message = Parse("aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json");
  verified = VerifySnsSignature(message, "-----BEGIN CERTIFICATE-----\nAAAA\n");
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "certificate: not a PEM X.509 certificate");

  message.type = "Telegram";
  verified = VerifySnsSignature(message, certificate);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "Type: unknown SNS message type \"Telegram\"");

  Result<SnsSignedMessage> parsed = ParseSnsSignedMessage(R"({"Type": "Notification"})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "MessageId: missing");
  parsed = ParseSnsSignedMessage(R"({"Type": 1})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "Type: expected string, got number");
  parsed = ParseSnsSignedMessage(std::string(100'000, '['));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "SNS message: JSON nested deeper than 16 levels at byte 16");
  parsed = ParseSnsSignedMessage("{\"Type\": \"\xC3\x28\"}");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message, "SNS message: not valid UTF-8 at byte 10");
  parsed = ParseSnsSignedMessage("[]");
  EXPECT_FALSE(parsed.ok());
}

TEST(SnsSignature, StringToSignFollowsTheDocumentedOrder) {
  SnsSignedMessage message;
  message.type = "Notification";
  message.message_id = "id-1";
  message.topic_arn = "arn:aws:sns:us-east-1:111122223333:t";
  message.message = "hello";
  message.timestamp = "2024-05-14T10:00:00.000Z";
  Result<std::string> text = SnsStringToSign(message);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "Message\nhello\nMessageId\nid-1\nTimestamp\n2024-05-14T10:00:00.000Z\n"
            "TopicArn\narn:aws:sns:us-east-1:111122223333:t\nType\nNotification\n");
  message.subject = "s";
  text = SnsStringToSign(message);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("MessageId\nid-1\nSubject\ns\nTimestamp\n"), std::string::npos);

  message.type = "SubscriptionConfirmation";
  message.token = "tok";
  message.subscribe_url = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription";
  text = SnsStringToSign(message);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "Message\nhello\nMessageId\nid-1\nSubscribeURL\n"
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\n"
            "Timestamp\n2024-05-14T10:00:00.000Z\nToken\ntok\n"
            "TopicArn\narn:aws:sns:us-east-1:111122223333:t\nType\nSubscriptionConfirmation\n");
}

TEST(SnsSignature, LambdaRecordSpellingIsRead) {
  nlohmann::json sns = nlohmann::json::parse(
      Sns("aws-sdk-java-v2/sns-message-manager/test-notification-with-subject.json"));
  sns["SigningCertUrl"] = sns["SigningCertURL"];
  sns.erase("SigningCertURL");
  Result<SnsSignedMessage> message = ParseSnsSignedMessage(sns.dump());
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->signing_cert_url,
            "https://sns.us-west-2.amazonaws.com/"
            "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem");
  EXPECT_TRUE(VerifySnsSignature(*message, Sns(kJavaCert)).ok());
}

TEST(SigningCertUrl, AcceptsSnsHostsOnly) {
  for (const std::string file :
       {"aws-php-sns-message-validator/notification-sigv1-no-subject.json",
        "aws-sdk-java-v2/sns-message-manager/test-notification-no-subject.json",
        "aws-sdk-java-v2/sns/sample-message.json", "notification.body.json"}) {
    const SnsSignedMessage message = Parse(file);
    const Status valid = ValidateSigningCertUrl(message.signing_cert_url);
    EXPECT_TRUE(valid.ok()) << file << ": " << valid.error().message;
  }
  EXPECT_TRUE(ValidateSigningCertUrl("https://sns.cn-north-1.amazonaws.com.cn/cert.pem").ok());

  const std::pair<std::string, std::string> refused[] = {
      {"http://sns.us-east-1.amazonaws.com/cert.pem", "SigningCertURL: not an https:// URL"},
      {"https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
       "SigningCertURL: host \"sns.us-east-1.amazonaws.com.evil.example\" is not "
       "sns.<region>.amazonaws.com[.cn]"},
      {"https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
       "SigningCertURL: host \"evil.example\" is not sns.<region>.amazonaws.com[.cn]"},
      {"https://sns.us-east-1.amazonaws.com@evil.example/cert.pem",
       "SigningCertURL: host \"sns.us-east-1.amazonaws.com@evil.example\" is not "
       "sns.<region>.amazonaws.com[.cn]"},
      {"https://sns.us-east-1.amazonaws.com:8443/cert.pem",
       "SigningCertURL: host \"sns.us-east-1.amazonaws.com:8443\" is not "
       "sns.<region>.amazonaws.com[.cn]"},
      {"https://sns.evil.example.amazonaws.com/cert.pem",
       "SigningCertURL: host \"sns.evil.example.amazonaws.com\" is not "
       "sns.<region>.amazonaws.com[.cn]"},
      {"https://sqs.us-east-1.amazonaws.com/cert.pem",
       "SigningCertURL: host \"sqs.us-east-1.amazonaws.com\" is not "
       "sns.<region>.amazonaws.com[.cn]"},
      {"https://sns.us-east-1.amazonaws.com/cert.txt", "SigningCertURL: path is not a .pem file"},
      {"https://sns.us-east-1.amazonaws.com/cert.pem?x=1",
       "SigningCertURL: must not have a query or fragment"},
      {"https://sns.us-east-1.amazonaws.com", "SigningCertURL: no path"},
      {"EXAMPLE", "SigningCertURL: not an https:// URL"},
  };
  for (const auto& [url, reason] : refused) {
    const Status valid = ValidateSigningCertUrl(url);
    ASSERT_FALSE(valid.ok()) << url;
    EXPECT_EQ(valid.error().message, reason) << url;
  }
}

}  // namespace
}  // namespace fleetkeeper::consumers::http
