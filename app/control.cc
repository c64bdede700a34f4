#include "app/control.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <thread>

#include "app/config.h"
#include "common/log.h"
#include "consumers/kafka.h"
#include "consumers/topics.h"

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

struct Delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

// librdkafka calls this from rd_kafka_poll/flush on this thread; it cannot throw.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* d = static_cast<Delivery*>(msg->_private);
  if (d == nullptr) return;
  d->done = true;
  d->err = msg->err;
  d->partition = msg->partition;
  d->offset = msg->offset;
}

void SetDeliveryCallback(rd_kafka_conf_t* conf, void*) {
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
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
  std::printf("%s by %s at %s%s%s (%s partition %d offset %lld)\n",
              frozen ? "frozen" : "unfrozen", record.by().c_str(), record.at().c_str(),
              reason.empty() ? "" : ": ", reason.c_str(), written->topic.c_str(),
              written->partition, static_cast<long long>(written->offset));
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

Result<KafkaPtr> MakeCommandProducer(const v1::WorkerConfig& config,
                                     void (*conf_hook)(rd_kafka_conf_t*, void*), void* hook_arg) {
  if (BootstrapServers(config).empty()) {
    return InvalidInput(
        "kafka.bootstrap.servers is not set: the embedded broker lives inside `fleetkeeper run` "
        "and cannot be reached from another command; set it (or "
        "FLEETKEEPER_KAFKA_BOOTSTRAP_SERVERS)");
  }
  std::map<std::string, std::string> props(config.kafka().begin(), config.kafka().end());
  for (const char* k : {"group.id", "partition.assignment.strategy", "enable.auto.commit",
                        "enable.auto.offset.store", "auto.offset.reset", "isolation.level",
                        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
                        "group.instance.id", "fetch.max.bytes", "max.partition.fetch.bytes",
                        "transactional.id", "transaction.timeout.ms"}) {
    props.erase(k);
  }
  props["enable.idempotence"] = "true";
  props["acks"] = "all";
  props["message.max.bytes"] = std::to_string(MaxMessageBytes(config) + 64 * 1024);
  auto conf = consumers::MakeKafkaConf(props);
  if (!conf.ok()) return std::move(conf).take_error();
  if (conf_hook != nullptr) conf_hook(conf->get(), hook_arg);
  char errstr[512];
  KafkaPtr producer(rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), errstr, sizeof(errstr)));
  if (!producer) return Error(ErrorCode::kKafka, fmt::format("producer: {}", errstr));
  return producer;
}

Result<ControlWrite> WriteControlRecord(const v1::WorkerConfig& config,
                                        const v1::ControlRecord& record, int timeout_ms) {
  auto producer = MakeCommandProducer(config, &SetDeliveryCallback);
  if (!producer.ok()) return std::move(producer).take_error();
  rd_kafka_t* rk = producer->get();
  const std::string topic = ControlTopic(config);
  // A missing topic would only fail after message.timeout.ms, with a vaguer error.
  auto partitions = consumers::PartitionCount(rk, topic, timeout_ms);
  // A topic created moments ago may not be in every broker's metadata yet.
  for (int i = 0; i < 10 && !partitions.ok() && partitions.error().code == ErrorCode::kNotFound;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    partitions = consumers::PartitionCount(rk, topic, timeout_ms);
  }
  if (!partitions.ok()) {
    Error e = std::move(partitions).take_error();
    if (e.code == ErrorCode::kNotFound) {
      e.message = "topic " + topic + " is missing: `fleetkeeper doctor` or `run` creates it "
                  "when topics.create is true";
    }
    return e;
  }
  std::string value = record.SerializeAsString();
  Delivery delivery;
  // Partition 0: workers read the control topic's first partition in full.
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(const_cast<char*>(kControlKey), sizeof(kControlKey) - 1),
      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADER("fk-type", kControlType, -1),
      RD_KAFKA_V_HEADER("content-type", "application/x-protobuf", -1),
      RD_KAFKA_V_OPAQUE(&delivery), RD_KAFKA_V_END);
  if (err) return consumers::KafkaError(err, "producing to " + topic);
  rd_kafka_flush(rk, timeout_ms);
  if (!delivery.done) {
    return Error(ErrorCode::kTimeout, fmt::format("the broker did not acknowledge the record on "
                                                  "{} within {} ms",
                                                  topic, timeout_ms));
  }
  if (delivery.err) return consumers::KafkaError(delivery.err, "writing to " + topic);
  return ControlWrite{topic, delivery.partition, delivery.offset};
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
