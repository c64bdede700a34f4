// The Kafka clients of the pipeline and the commands, built from the `kafka:` properties. One
// filter decides which properties a client of each role takes: the map is shared by every client,
// and a property meant for another role would draw a warning from librdkafka, or, for a reader
// that only assign()s, a group setting that has no meaning there.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/topics.h"

namespace fleetkeeper::consumers {

using KafkaProperties = std::map<std::string, std::string>;

enum class ClientRole {
  kProducer,               // idempotent, not transactional: the commands; the worker at least once
  kTransactionalProducer,  // the worker's producer with transactions
  kGroupConsumer,          // the worker's consumer: subscribes and joins the group
  kReader,                 // assign() only, commits nothing: the control, state and restore readers
};

// `properties` without those a client of `role` does not take.
KafkaProperties PropertiesFor(ClientRole role, const KafkaProperties& properties);

// Sets callbacks (and an opaque) on a client's conf before the client is created.
using ConfHook = void (*)(rd_kafka_conf_t* conf, void* arg);

// librdkafka callbacks a client is created with; null ones are not set.
struct ClientCallbacks {
  void* opaque = nullptr;
  void (*delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr;
  void (*rebalance)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*,
                    void*) = nullptr;
  void (*error)(rd_kafka_t*, int, const char*, void*) = nullptr;
  // Called on the conf before creation, for anything else (a command's delivery callback).
  ConfHook conf_hook = nullptr;
  void* conf_hook_arg = nullptr;
  // librdkafka's log lines through spdlog (LogKafka), or librdkafka's own stderr logger.
  bool log_through_spdlog = true;
};

// A client of `role` (a producer for the producer roles, a consumer otherwise) with exactly
// `properties` (filter them with PropertiesFor first). `what` names it in errors: "producer:
// <librdkafka's reason>".
Result<KafkaPtr> NewClient(ClientRole role, const KafkaProperties& properties,
                           const ClientCallbacks& callbacks, std::string_view what);

// librdkafka's log lines through spdlog, at the matching level.
void LogKafka(const rd_kafka_t* rk, int level, const char* facility, const char* line);

// Watermarks, retried (`attempts` times, 250 ms apart) through the leader elections that follow
// topic creation.
rd_kafka_resp_err_t QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                    int64_t* low, int64_t* high, int attempts = 40);

// The in-memory Kafka-protocol broker `fleetkeeper run` starts when no bootstrap server is
// configured: librdkafka's mock cluster, which lives inside a client handle of its own. Nothing is
// kept across restarts. Destroy it after every client that talks to it: librdkafka aborts when a
// client outlives its cluster.
class EmbeddedBroker {
 public:
  // Starts a one-broker cluster with the plan's topics. `adopted`, when given, is a cluster a
  // test owns (so that it can inject faults): it is used instead, and not destroyed.
  static Result<std::unique_ptr<EmbeddedBroker>> Start(const TopicPlan& plan,
                                                       rd_kafka_mock_cluster_t* adopted = nullptr);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

 private:
  EmbeddedBroker() = default;

  KafkaPtr owner_;  // the handle the cluster lives in; null if adopted
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace fleetkeeper::consumers
