#include "consumers/http/sns_signature.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <exception>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/raii_openssl.h"
#include "consumers/json_screen.h"

namespace fleetkeeper::consumers::http {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxSnsMessageDepth = 16;  // an SNS message is one flat object

Result<std::optional<std::string>> Member(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return InvalidInput(std::string(key) + ": expected string, got " + it->type_name());
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::vector<unsigned char>> DecodeBase64(std::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max() / 2)) {
    return InvalidInput("Signature: too long");
  }
  std::vector<unsigned char> bytes(text.size() / 4 * 3 + 3);
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(),
                                                                      EVP_ENCODE_CTX_free);
  if (!ctx) return Internal("EVP_ENCODE_CTX_new failed");
  EVP_DecodeInit(ctx.get());
  int written = 0;
  int final_written = 0;
  if (EVP_DecodeUpdate(ctx.get(), bytes.data(), &written,
                       reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0 ||
      EVP_DecodeFinal(ctx.get(), bytes.data() + written, &final_written) != 1) {
    return InvalidInput("Signature: not valid base64");
  }
  bytes.resize(static_cast<size_t>(written + final_written));
  return bytes;
}

bool IssuedTo(X509* certificate, std::string_view host) {
  return !host.empty() && X509_check_host(certificate, host.data(), host.size(), 0, nullptr) == 1;
}

// The host of an https:// URL, or "".
std::string_view HostOf(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return "";
  url.remove_prefix(kScheme.size());
  return url.substr(0, url.find('/'));
}

bool IsRegionLabel(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  for (const char c : label) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

Result<SnsSignedMessage> ParseSnsSignedMessage(std::string_view json) {
  if (std::string why = ScreenJsonText(json, kMaxSnsMessageDepth, "SNS message"); !why.empty()) {
    return InvalidInput(std::move(why));
  }
  Json document;
  try {
    document = Json::parse(json.begin(), json.end());
  } catch (const std::exception& e) {
    return InvalidInput(std::string("SNS message: invalid JSON: ") + e.what());
  }
  if (!document.is_object()) {
    return InvalidInput(std::string("SNS message: expected object, got ") + document.type_name());
  }
  SnsSignedMessage message;
  struct Binding {
    const char* key;
    const char* alternative_key;  // the Lambda record's spelling
    std::string* target;
    bool required;
  };
  const Binding bindings[] = {
      {"Type", nullptr, &message.type, true},
      {"MessageId", nullptr, &message.message_id, true},
      {"TopicArn", nullptr, &message.topic_arn, true},
      {"Message", nullptr, &message.message, true},
      {"Timestamp", nullptr, &message.timestamp, true},
      {"Token", nullptr, &message.token, false},
      {"SubscribeURL", "SubscribeUrl", &message.subscribe_url, false},
      {"SignatureVersion", nullptr, &message.signature_version, true},
      {"Signature", nullptr, &message.signature, true},
      {"SigningCertURL", "SigningCertUrl", &message.signing_cert_url, true},
  };
  for (const Binding& binding : bindings) {
    Result<std::optional<std::string>> value = Member(document, binding.key);
    if (value.ok() && !value->has_value() && binding.alternative_key != nullptr) {
      value = Member(document, binding.alternative_key);
    }
    if (!value.ok()) return value.error();
    if (!value->has_value()) {
      if (binding.required) return InvalidInput(std::string(binding.key) + ": missing");
      continue;
    }
    *binding.target = std::move(**value);
  }
  Result<std::optional<std::string>> subject = Member(document, "Subject");
  if (!subject.ok()) return subject.error();
  message.subject = std::move(*subject);
  return message;
}

Result<std::string> SnsStringToSign(const SnsSignedMessage& message) {
  std::string text;
  const auto add = [&text](std::string_view key, std::string_view value) {
    text.append(key).append("\n").append(value).append("\n");
  };
  if (message.type == "Notification") {
    add("Message", message.message);
    add("MessageId", message.message_id);
    if (message.subject) add("Subject", *message.subject);
    add("Timestamp", message.timestamp);
    add("TopicArn", message.topic_arn);
    add("Type", message.type);
    return text;
  }
  if (message.type == "SubscriptionConfirmation" || message.type == "UnsubscribeConfirmation") {
    if (message.token.empty()) return InvalidInput("Token: missing");
    if (message.subscribe_url.empty()) return InvalidInput("SubscribeURL: missing");
    add("Message", message.message);
    add("MessageId", message.message_id);
    add("SubscribeURL", message.subscribe_url);
    add("Timestamp", message.timestamp);
    add("Token", message.token);
    add("TopicArn", message.topic_arn);
    add("Type", message.type);
    return text;
  }
  return InvalidInput("Type: unknown SNS message type \"" + message.type + "\"");
}

Status VerifySnsSignature(const SnsSignedMessage& message, std::string_view certificate_pem) {
  const EVP_MD* digest = nullptr;
  if (message.signature_version == "1") {
    digest = EVP_sha1();
  } else if (message.signature_version == "2") {
    digest = EVP_sha256();
  } else {
    return InvalidInput("SignatureVersion: unsupported \"" + message.signature_version +
                        "\" (expected 1 or 2)");
  }
  Result<std::string> string_to_sign = SnsStringToSign(message);
  if (!string_to_sign.ok()) return string_to_sign.error();
  Result<std::vector<unsigned char>> signature = DecodeBase64(message.signature);
  if (!signature.ok()) return signature.error();

  if (certificate_pem.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return InvalidInput("certificate: too large");
  }
  BioPtr pem(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  if (!pem) return Internal("BIO_new_mem_buf failed");
  X509Ptr certificate(PEM_read_bio_X509(pem.get(), nullptr, nullptr, nullptr));
  if (!certificate) {
    ERR_clear_error();
    return InvalidInput("certificate: not a PEM X.509 certificate");
  }

  // Judged at the message's own time: a message signed while its certificate was valid stays
  // verifiable (replays from DLQ, recorded events), and a fresh message cannot use an old one.
  const int64_t signed_at_ms = ParseRfc3339Ms(message.timestamp);
  if (signed_at_ms == -1) {
    return InvalidInput("Timestamp: expected an RFC 3339 timestamp, got \"" + message.timestamp +
                        "\"");
  }
  time_t signed_at = static_cast<time_t>(signed_at_ms / 1000);
  const int not_before = X509_cmp_time(X509_get0_notBefore(certificate.get()), &signed_at);
  const int not_after = X509_cmp_time(X509_get0_notAfter(certificate.get()), &signed_at);
  if (not_before == 0 || not_after == 0) {
    return InvalidInput("certificate: unreadable validity period");
  }
  if (not_before > 0 || not_after < 0) {
    return InvalidInput("certificate: not valid at the message's Timestamp " + message.timestamp);
  }
  if (!IssuedTo(certificate.get(), "sns.amazonaws.com") &&
      !IssuedTo(certificate.get(), "sns.amazonaws.com.cn") &&
      !IssuedTo(certificate.get(), HostOf(message.signing_cert_url))) {
    return InvalidInput("certificate: not issued to Amazon SNS");
  }

  EVP_PKEY* public_key = X509_get0_pubkey(certificate.get());
  if (public_key == nullptr || !EVP_PKEY_is_a(public_key, "RSA")) {
    return InvalidInput("certificate: expected an RSA public key");
  }
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  if (!context) return Internal("EVP_MD_CTX_new failed");
  if (EVP_DigestVerifyInit(context.get(), nullptr, digest, nullptr, public_key) != 1) {
    return Internal("EVP_DigestVerifyInit failed");
  }
  const int verified = EVP_DigestVerify(
      context.get(), signature->data(), signature->size(),
      reinterpret_cast<const unsigned char*>(string_to_sign->data()), string_to_sign->size());
  ERR_clear_error();  // a mismatch leaves RSA padding errors on the thread's queue
  if (verified != 1) {
    return InvalidInput("Signature: does not match the message (SignatureVersion " +
                        message.signature_version + ")");
  }
  return Ok{};
}

Status ValidateSigningCertUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return InvalidInput("SigningCertURL: not an https:// URL");
  if (url.find_first_of("?#") != std::string_view::npos) {
    return InvalidInput("SigningCertURL: must not have a query or fragment");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return InvalidInput("SigningCertURL: no path");
  std::string_view host = rest.substr(0, slash);
  const std::string_view path = rest.substr(slash);

  constexpr std::string_view kPrefix = "sns.";
  std::string_view region;
  for (const std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"}) {
    if (host.size() > kPrefix.size() + suffix.size() && host.starts_with(kPrefix) &&
        host.ends_with(suffix)) {
      region = host.substr(kPrefix.size(), host.size() - kPrefix.size() - suffix.size());
    }
  }
  if (!IsRegionLabel(region)) {
    return InvalidInput("SigningCertURL: host \"" + std::string(host) +
                        "\" is not sns.<region>.amazonaws.com[.cn]");
  }
  if (path.size() <= 5 || !path.ends_with(".pem")) {
    return InvalidInput("SigningCertURL: path is not a .pem file");
  }
  return Ok{};
}

}  // namespace fleetkeeper::consumers::http
