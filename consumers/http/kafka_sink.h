// The RecordSink of `fleetkeeper ingest`: produces each accepted body to the events topic and
// waits for the broker's acknowledgement, so that a 200 is only sent for a record in Kafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/http/ingest_handler.h"

namespace fleetkeeper::consumers::http {

class KafkaSink {
 public:
  // Install on the producer's configuration before creating it (the delivery report callback).
  static void ConfigureDelivery(rd_kafka_conf_t* conf, void* unused);

  // Takes a producer configured with ConfigureDelivery; waits at most `wait_ms` for each record's
  // report (message.timeout.ms plus a margin: the report itself always comes by then).
  KafkaSink(KafkaPtr producer, std::string topic, int wait_ms);
  ~KafkaSink();  // flushes, then stops the poll thread
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  const std::string& topic() const { return topic_; }

  Status Produce(const IngestRecord& record);

 private:
  KafkaPtr producer_;
  const std::string topic_;
  const int wait_ms_;
  std::atomic<bool> stop_{false};
  std::thread poller_;  // serves the delivery reports
};

}  // namespace fleetkeeper::consumers::http
