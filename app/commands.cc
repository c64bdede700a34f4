#include "app/commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <unistd.h>

#include "app/config.h"
#include "app/control.h"
#include "app/observability.h"
#include "app/replay_records.h"
#include "app/run_cmd.h"
#include "common/file.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/raii_kafka.h"
#include "consumers/kafka.h"
#include "consumers/normalizer.h"
#include "consumers/record_sender.h"
#include "consumers/results.h"

namespace fleetkeeper::app {
namespace {

Worker* g_worker = nullptr;
std::atomic<int> g_signals{0};

void OnStopSignal(int) {
  if (g_signals.fetch_add(1) >= 1) _exit(130);  // a second signal: leave now
  if (g_worker != nullptr) g_worker->RequestStop();
}

// Config warnings (e.g. "the embedded broker will be used") only concern the worker.
bool LoadOrReport(const CommonOptions& options, v1::WorkerConfig* out, bool worker = false) {
  auto env = Environment::Process();
  auto loaded = options.config_path.empty() ? LoadConfigText("", env)
                                            : LoadConfigFile(options.config_path, env);
  if (!loaded.ok()) {
    std::fprintf(stderr, "fleetkeeper: invalid configuration:\n%s\n",
                 loaded.error().message.c_str());
    return false;
  }
  *out = loaded->config;
  InitLogging(out->log().format(), out->log().level());
  if (worker) {
    for (const auto& w : loaded->warnings) spdlog::warn("config: {}", w);
  }
  return true;
}

Result<std::string> ReadAll(const std::string& path) {
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return data;
  }
  return ReadFileContents(path);
}

}  // namespace

int RunWorker(const CommonOptions& options, const RunHooks& hooks) {
  v1::WorkerConfig config;
  if (!LoadOrReport(options, &config, /*worker=*/true)) return kExitStartFailed;
  std::unique_ptr<ObservabilityServer> observability;
  if (config.observability().listen() != "off") {
    auto listen = ParseListenAddress(config.observability().listen());
    ObservabilityOptions options;
    if (listen.ok()) options.listen = *listen;
    auto poll = config.kafka().find("max.poll.interval.ms");
    if (poll != config.kafka().end())
      options.max_poll_interval_ms = std::atoll(poll->second.c_str());
    auto server =
        ObservabilityServer::Start(options, SystemClock::Instance(), metrics::ProcessHealth());
    if (!listen.ok() || !server.ok()) {
      const std::string why = listen.ok() ? server.error().message : listen.error().message;
      spdlog::error("cannot start: {}", why);
      std::fprintf(stderr, "fleetkeeper: cannot start: %s\n", why.c_str());
      return kExitStartFailed;
    }
    observability = std::move(*server);
    spdlog::info("observability: /metrics, /healthz and /readyz on {}:{}", options.listen.host,
                 observability->port());
  }
  Worker worker(config, hooks);
  g_worker = &worker;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int code = worker.Run();
  g_worker = nullptr;
  return code;
}

int Replay(const CommonOptions& options, const std::vector<std::string>& paths,
           const std::string& topic, const std::string& bootstrap) {
  v1::WorkerConfig config;
  if (!LoadOrReport(options, &config)) return 2;
  if (!bootstrap.empty()) (*config.mutable_kafka())["bootstrap.servers"] = bootstrap;
  if (BootstrapServers(config).empty()) {
    std::fprintf(stderr,
                 "fleetkeeper replay: no broker: pass --bootstrap (the address `fleetkeeper run` "
                 "printed) or set kafka.bootstrap.servers\n");
    return 2;
  }
  // Every file is read before the first record is sent: a bad path replays nothing.
  auto files = ReadReplayFiles(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "fleetkeeper replay: %s\n", files.error().message.c_str());
    return 1;
  }
  auto producer = MakeCommandProducer(config, &consumers::RecordSender::ConfigureDelivery);
  if (!producer.ok()) {
    std::fprintf(stderr, "fleetkeeper replay: %s\n", producer.error().message.c_str());
    return 2;
  }
  const std::string to = topic.empty() ? InputTopics(config).front() : topic;
  consumers::RecordSender sender(std::move(*producer));
  for (const auto& file : *files) {
    for (const auto& record : file.records) {
      if (std::string err = sender.Send(to, {}, record); !err.empty()) {
        std::fprintf(stderr, "fleetkeeper replay: %s: %s\n", file.path.c_str(), err.c_str());
        sender.Flush(30000);
        return 1;
      }
    }
  }
  const consumers::RecordSender::Tally& tally = sender.Flush(30000);
  const size_t sent = tally.sent;
  if (tally.failed > 0) {
    std::fprintf(stderr, "fleetkeeper replay: %zu of %zu records not written to %s: %s\n",
                 tally.failed, sent, to.c_str(), tally.first_error.c_str());
    return 1;
  }
  if (tally.delivered < sent) {
    std::fprintf(stderr,
                 "fleetkeeper replay: %zu of %zu records not acknowledged by the broker in 30 s\n",
                 sent - tally.delivered, sent);
    return 1;
  }
  std::printf("replayed %zu records from %zu files to %s\n", sent, files->size(), to.c_str());
  return 0;
}

int Inspect(const CommonOptions& options, const std::string& path) {
  v1::WorkerConfig config;
  if (!LoadOrReport(options, &config)) return 2;
  auto data = ReadAll(path);
  if (!data.ok()) {
    std::fprintf(stderr, "fleetkeeper inspect: %s\n", data.error().message.c_str());
    return 1;
  }
  consumers::InputRecord in;
  in.payload = *data;
  in.topic = path;
  consumers::NormalizeOptions opts;
  opts.default_account = config.aws().default_account();
  opts.default_region = config.aws().region();
  auto n = consumers::Normalize(in, opts);
  switch (n.disposition) {
    case consumers::Disposition::kEvent:
      n.event.clear_source();
      std::printf("%s\n", consumers::ToJson(n.event).c_str());
      return 0;
    case consumers::Disposition::kSkipped:
      std::printf("%s: well-formed but not handled; it would be SKIPPED: %s\n",
                  n.event.origin().empty() ? "event" : n.event.origin().c_str(), n.reason.c_str());
      return 0;
    case consumers::Disposition::kUnreadable:
      std::fprintf(stderr, "fleetkeeper inspect: unreadable: %s\n", n.reason.c_str());
      return 1;
  }
  return 1;
}

int ValidateConfig(const std::string& path) {
  auto text = ReadAll(path);
  if (!text.ok()) {
    std::fprintf(stderr, "fleetkeeper validate-config: %s\n", text.error().message.c_str());
    return 1;
  }
  auto errors = ValidateConfigText(*text, Environment::Process());
  if (errors.empty()) {
    std::printf("%s: valid\n", path.c_str());
    return 0;
  }
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  return 1;
}

}  // namespace fleetkeeper::app
