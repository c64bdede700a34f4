#include "app/ingest_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "app/config.h"
#include "app/control.h"
#include "awsclient/http.h"
#include "consumers/normalize_json.h"
#include "consumers/sns_signature.h"

namespace fleetkeeper::app {
namespace {

// EventBridge events nest a few levels; a deeper body is not an event.
constexpr size_t kMaxJsonDepth = 64;
constexpr int kDefaultMessageTimeoutMs = 10000;

HttpServerReply Text(int status, std::string body) {
  HttpServerReply r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
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

// ---- the real seams ------------------------------------------------------------------------

Result<std::string> FetchCertificate(aws::HttpClient& http, const std::string& dir,
                                     const std::string& url) {
  if (!dir.empty()) {
    // The URL passed ValidateSigningCertUrl: its last segment is a plain *.pem file name.
    std::string file = dir + "/" + url.substr(url.rfind('/') + 1);
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::ostringstream pem;
      pem << in.rdbuf();
      return pem.str();
    }
  }
  aws::HttpRequest request;
  request.url = url;
  auto response = http.Send(request);
  if (!response.ok()) return response.error();
  if (response->status != 200) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("GET {}: HTTP {}", url, response->status), true);
  }
  if (response->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return InvalidInput("GET " + url + ": the answer is not a PEM certificate");
  }
  return std::move(response->body);
}

Result<int> VisitUrl(aws::HttpClient& http, const std::string& url) {
  aws::HttpRequest request;
  request.url = url;
  auto response = http.Send(request);
  if (!response.ok()) return response.error();
  return response->status;
}

// Produces each record and waits for its delivery report. A poll thread serves the reports.
class KafkaSink {
 public:
  static Result<std::unique_ptr<KafkaSink>> Make(const v1::WorkerConfig& config) {
    v1::WorkerConfig copy = config;
    auto& kafka = *copy.mutable_kafka();
    if (!kafka.count("message.timeout.ms")) {
      kafka["message.timeout.ms"] = std::to_string(kDefaultMessageTimeoutMs);
    }
    auto producer = MakeCommandProducer(copy, [](rd_kafka_conf_t* conf, void*) {
      rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::OnDelivery);
    });
    if (!producer.ok()) return std::move(producer).take_error();
    auto sink = std::unique_ptr<KafkaSink>(new KafkaSink());
    sink->producer_ = std::move(*producer);
    sink->topic_ = InputTopics(config).front();
    sink->wait_ms_ = std::stoi(kafka["message.timeout.ms"]) + 2000;
    sink->poller_ = std::thread([s = sink.get()] {
      while (!s->stop_.load()) rd_kafka_poll(s->producer_.get(), 100);
    });
    return sink;
  }

  ~KafkaSink() {
    rd_kafka_flush(producer_.get(), 5000);
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
  }

  const std::string& topic() const { return topic_; }

  Status Produce(const IngestRecord& record) {
    std::promise<rd_kafka_resp_err_t> delivered;
    auto done = delivered.get_future();
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [k, v] : record.headers) {
      rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
    if (err) {
      rd_kafka_headers_destroy(headers);  // not taken over on failure
      return Error(ErrorCode::kUnavailable, fmt::format("producing to {}: {}", topic_,
                                                        rd_kafka_err2str(err)), true);
    }
    // The delivery report always comes (message.timeout.ms bounds it), so `delivered` outlives
    // its use; the wait below is only a guard.
    if (done.wait_for(std::chrono::milliseconds(wait_ms_)) != std::future_status::ready) {
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE);
      done.wait();
      return Error(ErrorCode::kTimeout, "no acknowledgement from the broker for " + topic_, true);
    }
    err = done.get();
    if (err) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("{} did not take the record: {}", topic_, rd_kafka_err2str(err)),
                   true);
    }
    return Ok{};
  }

 private:
  KafkaSink() = default;

  // librdkafka calls this on the poll thread; it cannot throw.
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    auto* delivered = static_cast<std::promise<rd_kafka_resp_err_t>*>(msg->_private);
    if (delivered != nullptr) delivered->set_value(msg->err);
  }

  KafkaPtr producer_;
  std::string topic_;
  int wait_ms_ = kDefaultMessageTimeoutMs + 2000;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

std::atomic<bool> g_stop{false};
void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

Status ValidateSubscribeUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return InvalidInput("SubscribeURL: not an https:// URL");
  }
  size_t end = url.find_first_of("/?#", kScheme.size());
  std::string host = url.substr(kScheme.size(), end == std::string::npos ? std::string::npos
                                                                         : end - kScheme.size());
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

HttpServerReply IngestHandler::Handle(const HttpServerRequest& request) {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz") {
    if (request.method != "GET" && request.method != "HEAD") return Text(405, "use GET");
    return Text(200, "ok");
  }
  if (request.method != "POST") return Text(405, "use POST to deliver events");
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

HttpServerReply IngestHandler::Produce(IngestRecord record, const std::string& what) {
  Status st = sink_(record);
  if (!st.ok()) {
    spdlog::warn("ingest: {} not produced: {}", what, st.error().message);
    return Text(503, "not accepted: " + st.error().message);
  }
  spdlog::info("ingest: {} produced", what);
  return Text(200, "accepted");
}

HttpServerReply IngestHandler::HandleSns(const HttpServerRequest& request,
                                         const std::string& type) {
  auto message = consumers::ParseSnsSignedMessage(request.body);
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
  if (auto st = consumers::ValidateSigningCertUrl(message->signing_cert_url); !st.ok()) {
    return Text(403, st.error().message);
  }
  auto pem = Certificate(message->signing_cert_url);
  if (!pem.ok()) {
    spdlog::warn("ingest: signing certificate {}: {}", message->signing_cert_url,
                 pem.error().message);
    return Text(502, "cannot fetch the signing certificate: " + pem.error().message);
  }
  if (auto st = consumers::VerifySnsSignature(*message, *pem); !st.ok()) {
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
  IngestRecord record{request.body,
                      {{"content-type", "application/json"}, {"fk-ingest", "sns"}}};
  return Produce(std::move(record), "SNS notification " + message->message_id);
}

HttpServerReply IngestHandler::HandleEventBridge(const HttpServerRequest& request) {
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

int Ingest(const CommonOptions& options, const std::string& listen, IngestOptions ingest) {
  v1::WorkerConfig config;
  if (!LoadCommandConfig(options, "ingest", &config)) return 2;
  HttpServerOptions server_options;
  if (auto st = ParseListenAddress(listen, server_options); !st.ok()) {
    std::fprintf(stderr, "fleetkeeper ingest: %s\n", st.error().message.c_str());
    return 2;
  }
  if (const char* secret = std::getenv("FLEETKEEPER_INGEST_SECRET")) ingest.secret = secret;
  if (!ingest.secret_header.empty() && ingest.secret.empty()) {
    std::fprintf(stderr, "fleetkeeper ingest: --secret-header %s needs the secret in "
                         "FLEETKEEPER_INGEST_SECRET\n", ingest.secret_header.c_str());
    return 2;
  }
  for (auto& c : ingest.secret_header) c = static_cast<char>(std::tolower(c));
  auto sink = KafkaSink::Make(config);
  if (!sink.ok()) {
    std::fprintf(stderr, "fleetkeeper ingest: %s\n", sink.error().message.c_str());
    return sink.error().code == ErrorCode::kInvalidInput ? 2 : 1;
  }
  auto http = std::make_shared<aws::HttpClient>();
  KafkaSink* kafka = sink->get();
  IngestHandler handler(
      ingest, [kafka](const IngestRecord& r) { return kafka->Produce(r); },
      [http, dir = ingest.sns_certificate_dir](const std::string& url) {
        return FetchCertificate(*http, dir, url);
      },
      [http](const std::string& url) { return VisitUrl(*http, url); });
  HttpServer server(server_options,
                    [&handler](const HttpServerRequest& r) { return handler.Handle(r); });
  if (auto st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "fleetkeeper ingest: %s\n", st.error().message.c_str());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::printf("ingest listening on http://%s:%u, producing to %s\n", server_options.host.c_str(),
              server.port(), kafka->topic().c_str());
  std::fflush(stdout);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  spdlog::info("ingest stopped");
  return 0;
}

}  // namespace fleetkeeper::app
