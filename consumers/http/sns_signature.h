// Verification of Amazon SNS message signatures, for the ingest endpoint's HTTPS subscription
// (DESIGN.md "Commands": `fleetkeeper ingest`). It follows "Verifying the signatures of Amazon SNS
// messages" in the SNS developer guide:
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
//
// Fetching the signing certificate is the caller's job: check its URL with ValidateSigningCertUrl,
// fetch it over HTTPS (verifying the TLS chain), cache it by URL, then call VerifySnsSignature.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace fleetkeeper::consumers::http {

// The members of an SNS message that its signature covers, and how it is signed.
struct SnsSignedMessage {
  std::string type;  // Notification | SubscriptionConfirmation |
                     // UnsubscribeConfirmation
  std::string message_id;
  std::string topic_arn;
  std::optional<std::string> subject;  // Notification only; signed only when present
  std::string message;
  std::string timestamp;          // as sent; also the instant the certificate must be valid
  std::string token;              // confirmations only
  std::string subscribe_url;      // confirmations only
  std::string signature_version;  // "1" = SHA1withRSA, "2" = SHA256withRSA
  std::string signature;          // base64
  std::string signing_cert_url;
};

// Reads an SNS message: the JSON body of an HTTP(S) delivery, or the "Sns" object of a Lambda
// record (which spells SigningCertUrl). Errors name the member and the problem.
Result<SnsSignedMessage> ParseSnsSignedMessage(std::string_view json);

// The string SNS signs: "Key\nvalue\n" for each signed key in byte order of the key names
// (Notification: Message, MessageId, Subject if present, Timestamp, TopicArn, Type;
// confirmations: Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
Result<std::string> SnsStringToSign(const SnsSignedMessage& message);

// Verifies the message's signature with `certificate_pem` (the PEM from SigningCertURL). Fails,
// saying why, when the certificate is unreadable, was not valid at the message's Timestamp, was not
// issued to SNS (sns.amazonaws.com, sns.amazonaws.com.cn, or the SigningCertURL host), the
// SignatureVersion is unknown, or the signature does not match.
Status VerifySnsSignature(const SnsSignedMessage& message, std::string_view certificate_pem);

// Accepts only https://sns.<region>.amazonaws.com[.cn]/<path>.pem with no port, credentials,
// query or fragment: a forged message could otherwise point at a certificate of its own.
Status ValidateSigningCertUrl(std::string_view url);

}  // namespace fleetkeeper::consumers::http
