#include "consumers/http/ingest_handler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "consumers/http/sns_signature.h"
#include "consumers/normalize_json.h"

namespace fleetkeeper::consumers::http {
namespace {

// EventBridge events nest a few levels; a deeper body is not an event.
constexpr size_t kMaxJsonDepth = 64;

IngestReply Text(int status, std::string body) {
  return IngestReply{status, std::move(body) + "\n"};
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

bool IsRegionName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-';
  });
}

}  // namespace

std::string IngestRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Status ValidateSubscribeUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return InvalidInput("SubscribeURL: not an https:// URL");
  }
  size_t end = url.find_first_of("/?#", kScheme.size());
  std::string host = url.substr(
      kScheme.size(), end == std::string::npos ? std::string::npos : end - kScheme.size());
  if (host.find_first_of("@:") != std::string::npos) {
    return InvalidInput("SubscribeURL: credentials or a port are not allowed");
  }
  std::string_view h = host;
  for (std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"}) {
    if (h.size() > suffix.size() && h.compare(0, 4, "sns.") == 0 &&
        h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string_view region = h.substr(4, h.size() - 4 - suffix.size());
      if (IsRegionName(region)) return Ok{};
    }
  }
  return InvalidInput("SubscribeURL: host " + host + " is not sns.<region>.amazonaws.com");
}

IngestHandler::IngestHandler(IngestOptions options, RecordSink sink,
                             CertificateFetcher fetch_certificate, UrlVisitor visit)
    : options_(std::move(options)),
      sink_(std::move(sink)),
      fetch_certificate_(std::move(fetch_certificate)),
      visit_(std::move(visit)) {}

size_t IngestHandler::cached_certificates() const {
  std::lock_guard lock(mu_);
  return certificates_.size();
}

IngestReply IngestHandler::Handle(const IngestRequest& request) {
  if (request.path == "/healthz") {
    if (request.method != "GET" && request.method != "HEAD") return Text(405, "use GET");
    return Text(200, "ok");
  }
  if (request.method != "POST") return Text(405, "use POST to deliver events");
  if (request.Header("content-length").empty() && request.Header("transfer-encoding").empty()) {
    return Text(411, "a POST needs Content-Length or Transfer-Encoding: chunked");
  }
  std::string sns_type = request.Header("x-amz-sns-message-type");
  if (!sns_type.empty()) return HandleSns(request, sns_type);
  return HandleEventBridge(request);
}

Result<std::string> IngestHandler::Certificate(const std::string& url) {
  {
    std::lock_guard lock(mu_);
    if (auto it = certificates_.find(url); it != certificates_.end()) return it->second;
  }
  auto pem = fetch_certificate_(url);
  if (!pem.ok()) return pem;
  std::lock_guard lock(mu_);
  certificates_[url] = *pem;
  return pem;
}

IngestReply IngestHandler::Produce(IngestRecord record, const std::string& what) {
  Status st = sink_(record);
  if (!st.ok()) {
    spdlog::warn("ingest: {} not produced: {}", what, st.error().message);
    return Text(503, "not accepted: " + st.error().message);
  }
  spdlog::info("ingest: {} produced", what);
  return Text(200, "accepted");
}

IngestReply IngestHandler::HandleSns(const IngestRequest& request, const std::string& type) {
  auto message = ParseSnsSignedMessage(request.body);
  if (!message.ok()) return Text(400, "SNS message: " + message.error().message);
  if (message->type != type) {
    return Text(400, fmt::format("x-amz-sns-message-type is {} but the body's Type is {}", type,
                                 message->type));
  }
  if (!options_.sns_topic_arns.empty() && !options_.sns_topic_arns.count(message->topic_arn)) {
    spdlog::warn("ingest: SNS {} from topic {} refused: not an allowed topic", type,
                 message->topic_arn);
    return Text(403, "topic " + message->topic_arn + " is not allowed");
  }
  if (auto st = ValidateSigningCertUrl(message->signing_cert_url); !st.ok()) {
    return Text(403, st.error().message);
  }
  auto pem = Certificate(message->signing_cert_url);
  if (!pem.ok()) {
    spdlog::warn("ingest: signing certificate {}: {}", message->signing_cert_url,
                 pem.error().message);
    return Text(502, "cannot fetch the signing certificate: " + pem.error().message);
  }
  if (auto st = VerifySnsSignature(*message, *pem); !st.ok()) {
    spdlog::warn("ingest: SNS {} {} refused: {}", type, message->message_id, st.error().message);
    return Text(403, st.error().message);
  }
  if (type == "SubscriptionConfirmation") {
    if (auto st = ValidateSubscribeUrl(message->subscribe_url); !st.ok()) {
      return Text(403, st.error().message);
    }
    auto status = visit_(message->subscribe_url);
    if (!status.ok() || *status < 200 || *status >= 300) {
      std::string why = status.ok() ? "HTTP " + std::to_string(*status) : status.error().message;
      spdlog::warn("ingest: confirming the subscription to {} failed: {}", message->topic_arn, why);
      return Text(502, "confirming the subscription failed: " + why);
    }
    spdlog::info("ingest: subscription to {} confirmed", message->topic_arn);
    return Text(200, "subscription confirmed");
  }
  if (type == "UnsubscribeConfirmation") {
    spdlog::info("ingest: unsubscribed from {}", message->topic_arn);
    return Text(200, "acknowledged");
  }
  if (type != "Notification") return Text(400, "SNS message type " + type + " is unknown");
  IngestRecord record{request.body, {{"content-type", "application/json"}, {"fk-ingest", "sns"}}};
  return Produce(std::move(record), "SNS notification " + message->message_id);
}

IngestReply IngestHandler::HandleEventBridge(const IngestRequest& request) {
  if (!options_.secret_header.empty() && !options_.secret.empty() &&
      !ConstantTimeEquals(request.Header(options_.secret_header), options_.secret)) {
    return Text(401, "missing or wrong " + options_.secret_header + " header");
  }
  auto json = consumers::ParseJsonText(request.body, kMaxJsonDepth, "body");
  if (!json.ok()) return Text(400, json.error().message);
  if (!json->is_object()) return Text(400, "body: expected a JSON object (an EventBridge event)");
  std::string id;
  if (auto it = json->find("id"); it != json->end() && it->is_string()) id = it->get<std::string>();
  IngestRecord record{request.body,
                      {{"content-type", "application/json"}, {"fk-ingest", "eventbridge"}}};
  return Produce(std::move(record), "EventBridge event " + (id.empty() ? "(no id)" : id));
}

}  // namespace fleetkeeper::consumers::http
