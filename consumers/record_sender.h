// The producer of a one-shot command (`replay`, `workflows cancel`): records sent one after the
// other, waiting for room in the queue, and each delivery counted, so that the command can say how
// many the broker acknowledged. One thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/raii_kafka.h"

namespace fleetkeeper::consumers {

class RecordSender {
 public:
  struct Tally {
    size_t sent = 0;
    size_t delivered = 0;
    size_t failed = 0;
    std::string first_error;  // librdkafka's reason for the first failed delivery
    // Why not every record sent is acknowledged ("" when all are): the first failure, or
    // librdkafka's "timed out".
    std::string Why() const;
  };

  // The conf hook (ClientCallbacks::conf_hook) of the producer a RecordSender sends with.
  static void ConfigureDelivery(rd_kafka_conf_t* conf, void* unused);

  // `producer` was made with ConfigureDelivery.
  explicit RecordSender(KafkaPtr producer) : producer_(std::move(producer)) {}

  // Queues a record (waiting while the queue is full). Returns librdkafka's reason when it cannot
  // be queued, else "".
  std::string Send(const std::string& topic, std::string_view key, std::string_view value,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Waits up to `timeout_ms` for the records sent to be acknowledged; what became of them.
  const Tally& Flush(int timeout_ms);

 private:
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);

  KafkaPtr producer_;
  Tally tally_;
};

// librdkafka's version, e.g. "2.0.2".
std::string LibrdkafkaVersion();

}  // namespace fleetkeeper::consumers
