#include "app/control.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "app/config.h"
#include "common/log.h"
#include "consumers/kafka_clients.h"

namespace fleetkeeper::app {
namespace {

constexpr int kControlTimeoutMs = 15000;

std::string Rfc3339(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(epoch_ms % 1000));
}

std::string WhoAmI() {
  const char* user = std::getenv("USER");
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}@{}", user && *user ? user : "unknown", host[0] ? host : "unknown");
}

int WriteAndReport(const CommonOptions& options, const char* command, bool frozen,
                   const std::string& reason) {
  v1::WorkerConfig config;
  if (!LoadCommandConfig(options, command, &config)) return 2;
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  v1::ControlRecord record = MakeControlRecord(frozen, reason, WhoAmI(), now_ms);
  auto written = WriteControlRecord(config, record, kControlTimeoutMs);
  if (!written.ok()) {
    std::fprintf(stderr, "fleetkeeper %s: %s\n", command, written.error().message.c_str());
    return written.error().code == ErrorCode::kInvalidInput ? 2 : 1;
  }
  std::printf("%s by %s at %s%s%s (%s partition %d offset %lld)\n", frozen ? "frozen" : "unfrozen",
              record.by().c_str(), record.at().c_str(), reason.empty() ? "" : ": ", reason.c_str(),
              written->topic.c_str(), written->partition, static_cast<long long>(written->offset));
  return 0;
}

}  // namespace

bool LoadCommandConfig(const CommonOptions& options, const char* command, v1::WorkerConfig* out) {
  auto env = Environment::Process();
  auto loaded = options.config_path.empty() ? LoadConfigText("", env)
                                            : LoadConfigFile(options.config_path, env);
  if (!loaded.ok()) {
    std::fprintf(stderr, "fleetkeeper %s: invalid configuration:\n%s\n", command,
                 loaded.error().message.c_str());
    return false;
  }
  *out = std::move(loaded->config);
  InitLogging(out->log().format(), out->log().level());
  return true;
}

v1::ControlRecord MakeControlRecord(bool frozen, const std::string& reason, const std::string& by,
                                    int64_t at_ms) {
  v1::ControlRecord r;
  r.set_frozen(frozen);
  r.set_reason(reason);
  r.set_by(by);
  r.set_at(Rfc3339(at_ms));
  return r;
}

Result<KafkaPtr> MakeCommandProducer(const v1::WorkerConfig& config, consumers::ConfHook conf_hook,
                                     void* hook_arg) {
  if (BootstrapServers(config).empty()) {
    return InvalidInput(
        "kafka.bootstrap.servers is not set: the embedded broker lives inside `fleetkeeper run` "
        "and cannot be reached from another command; set it (or "
        "FLEETKEEPER_KAFKA_BOOTSTRAP_SERVERS)");
  }
  consumers::KafkaProperties props = consumers::PropertiesFor(
      consumers::ClientRole::kProducer, {config.kafka().begin(), config.kafka().end()});
  props["enable.idempotence"] = "true";
  props["acks"] = "all";
  props["message.max.bytes"] = std::to_string(MaxMessageBytes(config) + 64 * 1024);
  consumers::ClientCallbacks callbacks;
  callbacks.conf_hook = conf_hook;
  callbacks.conf_hook_arg = hook_arg;
  callbacks.log_through_spdlog = false;  // a command's librdkafka lines go to stderr as they are
  return consumers::NewClient(consumers::ClientRole::kProducer, props, callbacks, "producer");
}

Result<ControlWrite> WriteControlRecord(const v1::WorkerConfig& config,
                                        const v1::ControlRecord& record, int timeout_ms) {
  auto producer = MakeCommandProducer(config, &consumers::ControlProducerConf);
  if (!producer.ok()) return std::move(producer).take_error();
  return consumers::WriteControlRecord(producer->get(), ControlTopic(config), record, timeout_ms);
}

int Freeze(const CommonOptions& options, const std::string& reason) {
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::fprintf(stderr, "fleetkeeper freeze: --reason must say why (it is shown to everyone)\n");
    return 2;
  }
  return WriteAndReport(options, "freeze", true, reason);
}

int Unfreeze(const CommonOptions& options, const std::string& reason) {
  return WriteAndReport(options, "unfreeze", false, reason);
}

}  // namespace fleetkeeper::app
