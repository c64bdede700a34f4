#include "consumers/kafka_clients.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <thread>

#include "common/callback.h"
#include "consumers/kafka.h"
#include "consumers/msk_iam_auth.h"

namespace fleetkeeper::consumers {
namespace {

// Properties only a producer takes.
constexpr std::array<std::string_view, 5> kProducerOnly = {
    "transactional.id", "transaction.timeout.ms", "enable.idempotence", "linger.ms", "acks"};
// Of those, what only a transactional producer takes.
constexpr std::array<std::string_view, 2> kTransactionalOnly = {"transactional.id",
                                                                "transaction.timeout.ms"};
// Properties only a consumer takes.
constexpr std::array<std::string_view, 14> kConsumerOnly = {
    "group.id",
    "partition.assignment.strategy",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "isolation.level",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "group.instance.id",
    "fetch.max.bytes",
    "max.partition.fetch.bytes",
    "queued.min.messages",
    "queued.max.messages.kbytes",
};
// Of those, what only a member of the group takes: a reader assign()s its partitions.
constexpr std::array<std::string_view, 5> kGroupMemberOnly = {
    "partition.assignment.strategy", "group.instance.id", "session.timeout.ms",
    "heartbeat.interval.ms", "max.poll.interval.ms"};

template <size_t N>
void EraseAll(KafkaProperties& props, const std::array<std::string_view, N>& names) {
  for (std::string_view name : names) props.erase(std::string(name));
}

bool IsProducer(ClientRole role) {
  return role == ClientRole::kProducer || role == ClientRole::kTransactionalProducer;
}

}  // namespace

KafkaProperties PropertiesFor(ClientRole role, const KafkaProperties& properties) {
  KafkaProperties props = properties;
  switch (role) {
    case ClientRole::kProducer:
      EraseAll(props, kConsumerOnly);
      EraseAll(props, kTransactionalOnly);
      break;
    case ClientRole::kTransactionalProducer:
      EraseAll(props, kConsumerOnly);
      break;
    case ClientRole::kGroupConsumer:
      EraseAll(props, kProducerOnly);
      break;
    case ClientRole::kReader:
      EraseAll(props, kProducerOnly);
      EraseAll(props, kGroupMemberOnly);
      break;
  }
  return props;
}

void LogKafka(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
  InvokeCallback("log", [&] {
    auto lvl = level <= 3   ? spdlog::level::err
               : level <= 4 ? spdlog::level::warn
               : level <= 6 ? spdlog::level::info
                            : spdlog::level::debug;
    spdlog::log(lvl, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, line);
  });
}

Result<KafkaPtr> NewClient(ClientRole role, const KafkaProperties& properties,
                           const ClientCallbacks& callbacks, std::string_view what) {
  const bool msk_iam = WantsMskIam(properties);
  auto conf = MakeKafkaConf(msk_iam ? MskIamProperties(properties) : properties);
  if (!conf.ok()) return std::move(conf).take_error();
  rd_kafka_conf_t* c = conf->get();
  if (msk_iam) SetMskIamCallback(c);
  if (callbacks.opaque != nullptr) rd_kafka_conf_set_opaque(c, callbacks.opaque);
  if (callbacks.delivery != nullptr) rd_kafka_conf_set_dr_msg_cb(c, callbacks.delivery);
  if (callbacks.rebalance != nullptr) rd_kafka_conf_set_rebalance_cb(c, callbacks.rebalance);
  if (callbacks.error != nullptr) rd_kafka_conf_set_error_cb(c, callbacks.error);
  if (callbacks.log_through_spdlog) rd_kafka_conf_set_log_cb(c, &LogKafka);
  if (callbacks.conf_hook != nullptr) callbacks.conf_hook(c, callbacks.conf_hook_arg);
  char errstr[512];
  KafkaPtr client(rd_kafka_new(IsProducer(role) ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                               conf->release(), errstr, sizeof(errstr)));
  if (!client) return Error(ErrorCode::kKafka, fmt::format("{}: {}", what, errstr));
  if (msk_iam) {
    if (Status st = EnableMskIamBackground(client.get()); !st.ok()) {
      return Error(ErrorCode::kKafka, fmt::format("{}: {}", what, st.error().message));
    }
  }
  return client;
}

rd_kafka_resp_err_t QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                    int64_t* low, int64_t* high, int attempts) {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, low, high, 5000);
    if (err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
        err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
        err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && err != RD_KAFKA_RESP_ERR__TRANSPORT &&
        err != RD_KAFKA_RESP_ERR__TIMED_OUT) {
      return err;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return err;
}

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(const TopicPlan& plan,
                                                              rd_kafka_mock_cluster_t* adopted) {
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  if (adopted != nullptr) {
    broker->cluster_ = adopted;
  } else {
    KafkaConfPtr conf(rd_kafka_conf_new());
    rd_kafka_conf_set_log_cb(conf.get(), &LogKafka);
    // Only the mock cluster lives in this handle; it has no brokers to talk to by design.
    (void)SetConf(conf.get(), "log_level", "3");
    // The mock cluster lives inside a client instance; a producer with no brokers is the cheapest.
    char errstr[512];
    broker->owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), errstr, sizeof(errstr)));
    if (!broker->owner_) {
      return Error(ErrorCode::kKafka, fmt::format("embedded broker: {}", errstr));
    }
    broker->cluster_ = rd_kafka_mock_cluster_new(broker->owner_.get(), 1);
    if (broker->cluster_ == nullptr) {
      return Error(ErrorCode::kKafka, "embedded broker: cannot start it");
    }
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  if (auto st = CreateMockTopics(broker->cluster_, plan); !st.ok()) {
    return std::move(st).take_error();
  }
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() {
  // librdkafka aborts when a handle is destroyed with its mock cluster still alive.
  if (owner_ && cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

}  // namespace fleetkeeper::consumers
