// Reading fleet.state back (DESIGN.md "Guarantees"): a state partition from its start to its last
// stable offset, which is what the committed transactions wrote. The worker restores a work
// partition it is assigned from it (PartitionRestores); `fleetkeeper workflows` reads every
// partition to list the workflows (ReadStateLog).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/executor.h"
#include "consumers/kafka_clients.h"

namespace fleetkeeper::consumers {

// One record of the state log, valid during the call: `value` is null for a tombstone.
using StateVisitor =
    std::function<void(int32_t partition, std::string_view key, const char* value, size_t size)>;

// Reads `partitions` of `topic` through `reader` (a reader client with enable.partition.eof) from
// their start to their last stable offset (the high watermark, under read_committed), calling
// `visit` for each record in offset order. Returns the partitions not read to their end within
// `timeout_ms`, or before `stop` (when given) was set; an error when their end cannot be known.
Result<std::set<int32_t>> ReadStateLog(rd_kafka_t* reader, const std::string& topic,
                                       const std::vector<int32_t>& partitions, int64_t timeout_ms,
                                       int watermark_attempts, const std::atomic<bool>* stop,
                                       const StateVisitor& visit);

// Reads every partition of `topic` through `reader` (an assign()-only consumer with
// enable.partition.eof, closed after) to its last stable offset, calling `visit` for each record.
// Fails when a partition is not read to its end within `timeout_ms`.
Status ReadWholeStateLog(KafkaPtr reader, const std::string& topic, int timeout_ms,
                         const StateVisitor& visit);

// Restores of the work partitions the worker is assigned, each on a thread of its own while the
// poll thread goes on. Poll thread only, except where noted.
class PartitionRestores {
 public:
  struct Restored {
    int32_t partition = 0;
    std::vector<std::pair<std::string, std::string>> records;  // in offset order; "" = tombstone
    // Where the work partition resumes: its committed offset, else its low watermark.
    int64_t resume_offset = 0;
  };

  // `reader_properties`: a reader's, with enable.partition.eof. `consumer` is the worker's group
  // consumer, which the restores ask for the work partition's committed offset and watermarks; it
  // must outlive this.
  PartitionRestores(KafkaProperties reader_properties, rd_kafka_t* consumer, std::string work_topic,
                    std::string state_topic, const Clock& clock);
  ~PartitionRestores() { Close(); }

  // Starts restoring work partition p; a restore of p in flight is superseded.
  void Start(int32_t partition);
  // Forgets p: a restore of p in flight is discarded when it ends.
  void Cancel(int32_t partition) { restoring_.erase(partition); }
  // Restores started and not yet taken with TakeDone.
  size_t in_flight() const { return restoring_.size(); }
  // The restores that ended since the last call and still stand; those that failed are started
  // again instead.
  std::vector<Restored> TakeDone();
  // Restores in flight stop reading and end early. Any thread.
  void Stop() { stopping_.store(true); }
  // Stop(), and waits for the restores in flight; nothing starts after.
  void Close();

 private:
  struct Done {
    Restored restored;
    uint64_t ticket = 0;
    std::string error;
  };
  Done Run(int32_t partition, uint64_t ticket) const;  // a restore thread

  const KafkaProperties properties_;
  rd_kafka_t* const consumer_;
  const std::string work_topic_;
  const std::string state_topic_;
  const Clock& clock_;
  std::map<int32_t, uint64_t> restoring_;  // work partition -> ticket of its restore in flight
  uint64_t next_ticket_ = 1;
  std::atomic<bool> stopping_{false};
  std::mutex done_mu_;
  std::vector<Done> done_;
  // Declared last: its threads finish (its destructor joins them) before the rest goes.
  std::unique_ptr<Executor> executor_ = std::make_unique<Executor>(2);
};

}  // namespace fleetkeeper::consumers
