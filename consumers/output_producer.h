// The pipeline's producer: every output record goes out tagged with the input it stands for
// (DeliveryIndex), so that a failed delivery names that input; an output that cannot be produced
// sends its input to the dead-letter topic instead, with the reason (DESIGN.md "Guarantees":
// every input gets one outcome). Inputs whose output failed are remembered ("poisoned"): when
// their batch is read again, they are dead-lettered at once.
//
// Thread-safety: Produce, ProduceFor and Poisoned may be called from the poll thread and the
// ingest lane at once; librdkafka reports deliveries on whichever thread polls the producer. The
// rest is for the poll thread (or the committer, while the poll thread waits for it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/delivery_index.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/normalizer.h"
#include "consumers/results.h"

namespace fleetkeeper::consumers {

class OutputProducer {
 public:
  using Source = DeliveryIndex::Source;  // input topic, partition, offset
  using PartitionKey = std::pair<std::string, int32_t>;

  struct Options {
    ClientRole role = ClientRole::kProducer;
    KafkaProperties properties;       // complete: PropertiesFor(role, ...) and the caller's own
    std::vector<std::string> topics;  // opened once (others are opened per record)
    OutputTopics outputs;             // the dead-letter topic and its record limit
    // At least once, records for this topic are held for the commit (TakeHeld), not produced.
    std::string held_topic;
    int64_t queue_full_limit_ms = 100000;  // longest wait for room in the producer queue
  };
  // `on_error(rk, err, reason)`: librdkafka's error callback for the client. `on_fatal(why)`: a
  // produce failed with a fatal error (the producer is fenced). `stopped()`: the owner failed for
  // good, so a failed output is not dead-lettered (nothing commits again).
  struct Hooks {
    std::function<void(rd_kafka_t*, int, const char*)> on_error;
    std::function<void(const std::string&)> on_fatal;
    std::function<bool()> stopped;
  };

  static Result<std::unique_ptr<OutputProducer>> Create(Options options, Hooks hooks,
                                                        const Clock& clock);
  OutputProducer(const OutputProducer&) = delete;
  OutputProducer& operator=(const OutputProducer&) = delete;

  rd_kafka_t* client() const { return client_.get(); }
  // Serves delivery reports (and errors) for up to `timeout_ms`.
  void Poll(int timeout_ms) { rd_kafka_poll(client_.get(), timeout_ms); }
  // Waits up to `timeout_ms` for every record produced to be acknowledged (or to fail).
  rd_kafka_resp_err_t Flush(int timeout_ms) { return rd_kafka_flush(client_.get(), timeout_ms); }

  // Produces `out`, or, at least once, holds a record of the held topic for the commit.
  rd_kafka_resp_err_t Produce(const OutRecord& out);
  // Produces `out` now.
  rd_kafka_resp_err_t ProduceNow(const OutRecord& out);
  // Produces `out`, the output of `input`; if it cannot be, a dead letter for `input` instead.
  // Returns why the batch must be read again when neither went out (or the queue was full).
  std::optional<std::string> ProduceFor(const InputRecord& input, OutRecord out);
  // The records held for the commit since the last call.
  std::vector<OutRecord> TakeHeld() { return std::exchange(held_, {}); }
  bool holding() const { return !held_.empty(); }

  // Why an input's output could not be produced last time, if it could not.
  std::optional<std::string> Poisoned(const InputRecord& in) const;
  size_t poisoned_inputs() const;
  // Delivery failures reported since the last call: those of an input poison it.
  void CollectDeliveryFailures();
  // Whether any delivery failed since the last call; forgets them.
  bool TakeFailures();
  // The batch ended (committed or aborted): its records' tags and failures are forgotten.
  void EndBatch();
  // Inputs below the committed offsets that were dead-lettered are done.
  void ForgetCommittedPoison(const std::map<PartitionKey, int64_t>& committed);

 private:
  OutputProducer(Options options, Hooks hooks, const Clock& clock)
      : options_(std::move(options)), hooks_(std::move(hooks)), clock_(clock) {}
  rd_kafka_topic_t* OutTopic(std::string_view topic) const;  // handles_' handle, or null
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  const Options options_;
  const Hooks hooks_;
  const Clock& clock_;
  KafkaPtr client_;
  // Opened once after the client, fixed after; declared after it so that they go first.
  std::vector<std::pair<std::string, KafkaTopicPtr>> handles_;
  DeliveryIndex deliveries_;
  std::mutex failures_mu_;
  std::vector<std::pair<Source, std::string>> failures_;
  // Read by the lane while the poll thread applies a commit, hence the lock (and the flag, to skip
  // it when empty).
  mutable std::mutex poison_mu_;
  std::map<Source, std::string> poison_;
  std::atomic<bool> any_poison_{false};
  std::vector<OutRecord> held_;  // poll thread only
};

}  // namespace fleetkeeper::consumers
