// The Kafka clients of `fleetkeeper run`, built in order from the resolved options: the embedded
// broker when no bootstrap server is configured, the producer (transactional unless the pipeline
// runs at least once) and its topics, the control log read in full, then the group consumer. Closed
// in reverse. Everything here is for the thread that builds and runs the pipeline.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "consumers/control_log.h"
#include "consumers/group_consumer.h"
#include "consumers/kafka_clients.h"
#include "consumers/output_producer.h"
#include "consumers/pipeline_options.h"
#include "consumers/pipeline_stop.h"
#include "consumers/transaction.h"

namespace fleetkeeper::consumers {

class PipelineClients {
 public:
  // Starts the broker (when needed), the producer, the topics (created when the plan says so)
  // and the control log. `adopted`: a mock cluster a test owns, used as the embedded broker.
  // `transactional_id` names the producer (transactions only). A fatal client error fails `stop`.
  static Result<std::unique_ptr<PipelineClients>> Open(PipelineOptions options,
                                                       std::string transactional_id,
                                                       PipelineStop& stop, const Clock& clock,
                                                       rd_kafka_mock_cluster_t* adopted = nullptr);
  ~PipelineClients() { Close(false); }
  PipelineClients(const PipelineClients&) = delete;
  PipelineClients& operator=(const PipelineClients&) = delete;

  // The group member, subscribed to the inputs and the work topic; `hooks.on_error` is set here.
  Status OpenConsumer(GroupConsumer::Hooks hooks);
  // Properties of an assign()-only consumer (control reader, state reader): no commits,
  // read_committed, its own group id `<group.id><group_suffix>`.
  KafkaProperties ReaderProperties(const std::string& group_suffix) const;

  // The options, with the work topic's partition count.
  const PipelineOptions& options() const { return options_; }
  bool embedded() const { return embedded_; }
  bool transactional() const { return transactional_; }
  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& transactional_id() const { return transactional_id_; }
  OutputProducer& output() { return *output_; }
  Transaction* transaction() { return txn_.get(); }  // null at least once
  GroupConsumer& consumer() { return *consumer_; }
  ControlLog& control() { return *control_; }

  // Transactional: the producer failed for good without being fenced (TxnResult::kProducerFailed).
  // A new one with the same transactional.id replaces it: init_transactions fences the old one
  // and aborts its open transaction. Whatever held the old producer must be rebuilt.
  Status ReplaceProducer();

  // Leaves the group (its revoke hook runs when `graceful`), then flushes the producer (when
  // `graceful`) and destroys it, then the broker.
  void Close(bool graceful);

 private:
  PipelineClients(PipelineOptions options, PipelineStop& stop, const Clock& clock)
      : options_(std::move(options)), stop_(stop), clock_(clock) {}
  Status StartBroker(rd_kafka_mock_cluster_t* adopted);
  Status CreateProducer();
  // The producer's fatal error `why`: a fence stops the pipeline; anything else, with
  // transactions, waits for the failed transaction call and ReplaceProducer.
  void ProducerFatal(rd_kafka_t* rk, const std::string& why);

  PipelineOptions options_;
  PipelineStop& stop_;
  const Clock& clock_;
  bool embedded_ = false;
  bool transactional_ = true;
  std::string bootstrap_;
  std::string transactional_id_;
  // The producer's last authentication failure (SASL, MSK IAM), from its error callback, and when
  // the first one came: the producer's start gives up once they have lasted kAuthGraceMs rather
  // than wait out its timeout.
  std::mutex auth_mu_;
  std::string auth_failure_;
  int64_t auth_failing_since_ms_ = 0;
  // Declared before the clients: it must outlive every client that talks to it.
  std::unique_ptr<EmbeddedBroker> embedded_broker_;
  std::unique_ptr<OutputProducer> output_;
  std::unique_ptr<Transaction> txn_;
  std::unique_ptr<ControlLog> control_;
  std::unique_ptr<GroupConsumer> consumer_;
};

}  // namespace fleetkeeper::consumers
