#include "app/commands.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unistd.h>

#include "app/config.h"
#include "app/worker.h"
#include "common/file.h"
#include "common/log.h"
#include "common/raii.h"
#include "consumers/kafka.h"
#include "consumers/normalizer.h"
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

// Records of a replay file: a .jsonl / .ndjson file holds one record per non-empty line; any other
// file is one record.
std::vector<std::string> RecordsOf(const std::filesystem::path& path, const std::string& data) {
  std::vector<std::string> out;
  auto ext = path.extension().string();
  if (ext == ".jsonl" || ext == ".ndjson") {
    std::istringstream lines(data);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(line);
    }
  } else {
    out.push_back(data);
  }
  return out;
}

}  // namespace

int RunWorker(const CommonOptions& options) {
  v1::WorkerConfig config;
  if (!LoadOrReport(options, &config, /*worker=*/true)) return kExitStartFailed;
  Worker worker(config, WorkerHooks::FromEnvironment());
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
  std::map<std::string, std::string> props(config.kafka().begin(), config.kafka().end());
  if (!bootstrap.empty()) props["bootstrap.servers"] = bootstrap;
  if (props["bootstrap.servers"].empty()) {
    std::fprintf(stderr,
                 "fleetkeeper replay: no broker: pass --bootstrap (the address `fleetkeeper run` "
                 "printed) or set kafka.bootstrap.servers\n");
    return 2;
  }
  for (const char* k : {"group.id", "partition.assignment.strategy", "enable.auto.commit",
                        "enable.auto.offset.store", "auto.offset.reset", "isolation.level",
                        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
                        "transactional.id", "transaction.timeout.ms"}) {
    props.erase(k);
  }
  props["enable.idempotence"] = "true";
  props["message.max.bytes"] = "16777216";
  auto conf = consumers::MakeKafkaConf(props);
  if (!conf.ok()) {
    std::fprintf(stderr, "fleetkeeper replay: %s\n", conf.error().message.c_str());
    return 2;
  }
  char errstr[512];
  KafkaPtr producer(rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), errstr, sizeof(errstr)));
  if (!producer) {
    std::fprintf(stderr, "fleetkeeper replay: %s\n", errstr);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::filesystem::path path(p);
    if (std::filesystem::is_directory(path)) {
      std::vector<std::filesystem::path> inside;
      for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".json" || ext == ".jsonl" || ext == ".ndjson")) {
          inside.push_back(e.path());
        }
      }
      std::sort(inside.begin(), inside.end());
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(path);
    }
  }
  const std::string events_topic = config.topics().inputs_size() > 0 ? config.topics().inputs(0)
                                                                     : "fleet.events";
  size_t sent = 0;
  for (const auto& f : files) {
    auto data = ReadAll(f.string());
    if (!data.ok()) {
      std::fprintf(stderr, "fleetkeeper replay: %s\n", data.error().message.c_str());
      return 1;
    }
    for (const auto& record : RecordsOf(f, *data)) {
      const std::string& t = topic.empty() ? events_topic : topic;
      for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer.get(), RD_KAFKA_V_TOPIC(t.c_str()),
            RD_KAFKA_V_VALUE(const_cast<char*>(record.data()), record.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer.get(), 100);
          continue;
        }
        if (err) {
          std::fprintf(stderr, "fleetkeeper replay: %s: %s\n", f.string().c_str(),
                       rd_kafka_err2str(err));
          return 1;
        }
        break;
      }
      ++sent;
    }
  }
  if (rd_kafka_flush(producer.get(), 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "fleetkeeper replay: not every record was acknowledged in 30 s\n");
    return 1;
  }
  std::printf("replayed %zu records from %zu files\n", sent, files.size());
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
