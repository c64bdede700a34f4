// The open batch of the pipeline and its commit (DESIGN.md "Guarantees"): the offsets it consumed,
// its transaction, why it must not commit if it must not, and the commit itself.
//
// Transactional, a commit runs on a committer thread of its own while the poll thread reads the
// next batch (consumers/pipeline.h): StartCommit hands the open batch's offsets to that thread and
// opens the next batch; FinishCommit waits for it and says how it went. At least once
// (CommitAtLeastOnce), the batch's outputs are acknowledged before its offsets are committed.
//
// Poll thread only, except Fail (any thread) and what the committer thread does.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "consumers/commit_faults.h"
#include "consumers/group_consumer.h"
#include "consumers/output_producer.h"
#include "consumers/transaction.h"

namespace fleetkeeper::consumers {

// What a pipeline did, for whoever runs it: readable from any thread, also after the pipeline is
// gone.
struct BatchStats {
  std::atomic<int64_t> records_done{0};    // records whose batch committed
  std::atomic<int64_t> batches_failed{0};  // a batch could not carry an output: read again
  std::atomic<int64_t> commits_failed{0};  // commits that failed (and rewound their batch)
  std::atomic<int64_t> batches_committed{0};
  std::atomic<int64_t> commit_ms{0};       // time spent committing
  std::atomic<size_t> poisoned_inputs{0};  // inputs left to dead-letter when the pipeline stopped
  std::atomic<int64_t> producers_replaced{0};   // failed for good, not fenced (Pipeline)
  std::atomic<int64_t> backpressure_pauses{0};  // work partitions paused (Pipeline)
};

class Batch {
 public:
  using PartitionKey = std::pair<std::string, int32_t>;
  using Offsets = std::map<PartitionKey, int64_t>;  // next offset to commit per partition

  // How a commit started by StartCommit went.
  struct Finished {
    bool ok = false;
    bool fenced = false;  // with `why`: the producer is fenced, the pipeline must stop
    std::string why;      // not ok: why (not fenced: abort the batch and read it again)
    Offsets offsets;      // what the batch consumed
    int64_t records = 0;
    int64_t took_ms = 0;    // from StartCommit
    int64_t opened_ms = 0;  // when the batch started filling
  };

  // `txn`: the producer's transactions, null at least once. `faults`: a test's, else null.
  // Each outlives this.
  Batch(OutputProducer& output, Transaction* txn, GroupConsumer& consumer, const Clock& clock,
        BatchStats& stats, CommitFaults* faults)
      : output_(output),
        txn_(txn),
        consumer_(consumer),
        clock_(clock),
        stats_(stats),
        faults_(faults) {}
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  bool transactional() const { return txn_ != nullptr; }
  // Something to commit: a transaction, consumed offsets, or state held for the commit.
  bool open() const { return txn_open_ || !offsets_.empty() || output_.holding(); }
  bool in_transaction() const { return txn_open_; }
  // Begins a transaction unless one is open (or the batch is at least once). A transaction begun
  // right after a commit first re-sends one offset that commit wrote (the same value: it changes
  // nothing), so that the coordinator's CONCURRENT_TRANSACTIONS answer, given until the previous
  // transaction's markers are written, is retried after retry.backoff.ms. Without it the first
  // AddPartitionsToTxn takes that answer and librdkafka 2.0.2 retries it 20 ms later, whatever
  // the configuration: most of a light batch's commit time (bench/README.md, "Latency").
  TxnResult Begin();
  // Forgets the offset Begin re-sends (the assignment changed: it may no longer be ours).
  void ForgetCommittedOffset() { barrier_.clear(); }

  // Records come in runs per partition: the run's offset slot is kept, not looked up (and its key
  // built) for each record. The key of a record that starts a new run, else nothing; take it
  // before the record is handed on.
  std::optional<PartitionKey> RunKey(const rd_kafka_message_t* msg) const;
  // Counts a record into the batch: its partition's next offset is `next`.
  void Count(std::optional<PartitionKey> run, const rd_kafka_topic_t* rkt, int32_t partition,
             int64_t next);
  // Counts (or uncounts, `n` < 0) records that have no offset in the batch yet.
  void CountHeld(int n) { records_ += n; }
  int records() const { return records_; }
  // The offsets consumed so far. Fencing adds those of partitions it writes to.
  Offsets& offsets() { return offsets_; }
  // Forgets what the batch consumed (it was aborted, or lost).
  void Clear();
  int64_t opened_ms() const { return opened_ms_; }
  void set_opened_ms(int64_t ms) { opened_ms_ = ms; }

  // The batch cannot commit (an output it needs was not produced): its commit aborts and the
  // batch is read again. The first reason is kept. Any thread.
  void Fail(std::string why);
  bool failing() const { return failing_.load(); }
  void ClearFailure();

  // Transactional: the batch closes and commits on the committer thread, once `lane_closed` is
  // ready (every output of its inputs is produced); `done` runs there when the commit ends. A new
  // batch opens at once.
  void StartCommit(std::shared_future<void> lane_closed, std::function<void()> done);
  bool committing() const { return committer_.joinable(); }
  bool commit_done() const { return commit_done_.load(); }
  // Waits for the commit StartCommit started.
  Finished FinishCommit();
  // The commit `done` succeeded (and the pipeline still runs): its transaction is closed, its
  // outputs' tags and the poison below its offsets forgotten, and it is counted.
  void ApplyCommit(const Finished& done);

  // At least once: acknowledges the outputs, produces the state held for the commit, commits the
  // offsets. On failure the batch's partitions are in `rewind` (to read again) and false returns.
  // The batch stays as it is (Clear it after). `started_ms`: when its commit began (MonotonicMs).
  bool CommitAtLeastOnce(int64_t started_ms, std::vector<PartitionKey>* rewind);

  // Aborts the open transaction (if any; letting in-flight requests finish).
  TxnResult Abort();

  // Counts a batch of `records` records that committed.
  void Committed(int64_t records);
  // The counts of the batches so far.
  int64_t batches_committed() const { return stats_.batches_committed.load(); }
  int64_t commit_ms_total() const { return stats_.commit_ms.load(); }
  int64_t records_done() const { return stats_.records_done.load(); }
  void CountFailedCommit() { ++stats_.commits_failed; }

 private:
  struct Outcome {
    bool ok = false;
    bool fenced = false;
    std::string why;
  };
  Outcome RunCommit(const std::shared_future<void>& lane_closed);  // committer thread

  OutputProducer& output_;
  Transaction* const txn_;
  GroupConsumer& consumer_;
  const Clock& clock_;
  BatchStats& stats_;
  CommitFaults* const faults_;

  // The open batch.
  bool txn_open_ = false;
  // One offset the last commit wrote (empty: none, or the assignment changed since).
  Offsets barrier_;
  Offsets offsets_;
  // The slot in offsets_ of the partition the last record came from (nullptr after a clear).
  int64_t* last_slot_ = nullptr;
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  int32_t last_partition_ = -1;
  int records_ = 0;
  int64_t opened_ms_ = 0;  // when the open batch started filling (MonotonicMs)
  // Why the open batch must not commit ("" = it may). Written by Fail from the poll thread and
  // the ingest lane; read by the committer once the lane reached the batch's end.
  std::mutex failed_mu_;
  std::string failed_;
  std::atomic<bool> failing_{false};

  // The commit in flight: its thread, offsets and record count, and its outcome.
  std::thread committer_;
  Offsets committing_offsets_;
  int64_t committing_records_ = 0;
  int64_t commit_started_ms_ = 0;
  int64_t committing_opened_ms_ = 0;
  Outcome outcome_;  // written by the committer before it ends
  std::atomic<bool> commit_done_{false};
};

}  // namespace fleetkeeper::consumers
