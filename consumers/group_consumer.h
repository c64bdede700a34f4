// The worker's member of the consumer group: subscribed to the input topics and fleet.work, with
// the offset operations the batch needs (pause, seek back, rewind to the committed offsets,
// commit) and the group's rebalances handed to the owner. One poll thread (DESIGN.md; STYLE.md
// "Kafka"): everything here is for it, except Wake.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/kafka_clients.h"

namespace fleetkeeper::consumers {

class GroupConsumer {
 public:
  using PartitionKey = std::pair<std::string, int32_t>;

  // A rebalance: partitions assigned, or revoked (lost when the group moved on without us).
  struct Change {
    bool assigned = false;
    bool lost = false;
    std::vector<PartitionKey> partitions;
  };
  struct Hooks {
    // Runs inside librdkafka's rebalance callback, on the thread that polls: after the partitions
    // are assigned, or before they are unassigned (so that the open batch can commit first).
    std::function<void(const Change&)> on_rebalance;
    // librdkafka's error callback.
    std::function<void(rd_kafka_t*, int, const char*)> on_error;
  };

  // `properties`: PropertiesFor(kGroupConsumer, ...) with the owner's settings.
  static Result<std::unique_ptr<GroupConsumer>> Create(const KafkaProperties& properties,
                                                       const std::vector<std::string>& topics,
                                                       Hooks hooks);
  ~GroupConsumer() { Close(false); }
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  rd_kafka_t* client() const { return client_.get(); }

  // The next record, or an error (see Fatal), or null after `timeout_ms`.
  KafkaMessagePtr Poll(int timeout_ms) {
    return KafkaMessagePtr(rd_kafka_consumer_poll(client_.get(), timeout_ms));
  }
  // Wakes a Poll in progress. Any thread, until Close.
  void Wake() {
    if (queue_) rd_kafka_queue_yield(queue_.get());
  }
  // For an error `msg` from Poll: the reason when it is fatal (the consumer is unusable), nothing
  // when it can be passed over (logged, unless it is the end of a partition).
  std::optional<std::string> Fatal(const rd_kafka_message_t* msg);
  // Stops (or restarts) fetching `topic`/`partition`.
  void Pause(const std::string& topic, int32_t partition, bool pause);
  // `msg` and what follows it on its partition are read again.
  void SeekBack(const rd_kafka_message_t* msg);
  // `partitions` are read again from their committed offsets (their start when none). Fails only
  // when the committed offsets cannot be read.
  Status Rewind(const std::vector<PartitionKey>& partitions);
  // Commits `offsets` (next offset per partition) outside a transaction.
  rd_kafka_resp_err_t Commit(const std::map<PartitionKey, int64_t>& offsets);
  // Sets fleetkeeper_consumer_lag (common/metrics.h) for every assigned partition the consumer has
  // read from: librdkafka's cached high watermark minus the position, no request to the broker.
  // Series of partitions no longer assigned are dropped.
  void ReportLag();
  // Leaves the group, after the revoke's hook when `graceful`, and destroys the client. Destroying
  // a consumer that was not closed runs the rebalance callback too: the hook may run either way.
  void Close(bool graceful);

 private:
  explicit GroupConsumer(Hooks hooks) : hooks_(std::move(hooks)) {}
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);

  const Hooks hooks_;
  KafkaPtr client_;
  KafkaQueuePtr queue_;                  // the consumer's queue, which Wake yields
  std::set<PartitionKey> lag_reported_;  // ReportLag's series
};

}  // namespace fleetkeeper::consumers
