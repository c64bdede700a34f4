#include "app/ingest_cmd.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/config.h"
#include "app/control.h"
#include "awsclient/http.h"
#include "consumers/http/ingest_server.h"
#include "consumers/http/kafka_sink.h"

namespace fleetkeeper::app {
namespace {

using consumers::http::IngestHandler;
using consumers::http::IngestRecord;
using consumers::http::IngestServer;
using consumers::http::IngestServerOptions;
using consumers::http::KafkaSink;

constexpr int kDefaultMessageTimeoutMs = 10000;

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
    return Error(ErrorCode::kUnavailable, fmt::format("GET {}: HTTP {}", url, response->status),
                 true);
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

Result<std::unique_ptr<KafkaSink>> MakeSink(const v1::WorkerConfig& config) {
  v1::WorkerConfig copy = config;
  auto& kafka = *copy.mutable_kafka();
  if (!kafka.count("message.timeout.ms")) {
    kafka["message.timeout.ms"] = std::to_string(kDefaultMessageTimeoutMs);
  }
  auto producer = MakeCommandProducer(copy, &KafkaSink::ConfigureDelivery);
  if (!producer.ok()) return std::move(producer).take_error();
  return std::make_unique<KafkaSink>(std::move(*producer), InputTopics(config).front(),
                                     std::stoi(kafka["message.timeout.ms"]) + 2000);
}

std::atomic<bool> g_stop{false};
void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

int Ingest(const CommonOptions& options, const std::string& listen, IngestOptions ingest) {
  v1::WorkerConfig config;
  if (!LoadCommandConfig(options, "ingest", &config)) return 2;
  auto address = consumers::http::ParseListenAddress(listen);
  if (!address.ok()) {
    std::fprintf(stderr, "fleetkeeper ingest: --listen: %s\n", address.error().message.c_str());
    return 2;
  }
  if (const char* secret = std::getenv("FLEETKEEPER_INGEST_SECRET")) ingest.secret = secret;
  if (!ingest.secret_header.empty() && ingest.secret.empty()) {
    std::fprintf(stderr,
                 "fleetkeeper ingest: --secret-header %s needs the secret in "
                 "FLEETKEEPER_INGEST_SECRET\n",
                 ingest.secret_header.c_str());
    return 2;
  }
  for (auto& c : ingest.secret_header) c = static_cast<char>(std::tolower(c));
  auto sink = MakeSink(config);
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
  IngestServerOptions server_options;
  server_options.listen = *address;
  auto server = IngestServer::Start(server_options, handler);
  if (!server.ok()) {
    std::fprintf(stderr, "fleetkeeper ingest: %s\n", server.error().message.c_str());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const std::string& host = address->host;
  const bool v6 = host.find(':') != std::string::npos;
  std::printf("ingest listening on http://%s%s%s:%d, producing to %s\n", v6 ? "[" : "",
              host.c_str(), v6 ? "]" : "", (*server)->port(), kafka->topic().c_str());
  std::fflush(stdout);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->reset();
  spdlog::info("ingest stopped");
  return 0;
}

}  // namespace fleetkeeper::app
