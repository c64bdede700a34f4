// The worker: one consumer group over the input topics and fleet.work, one transactional producer.
// Hop 1 (inputs) runs on the ingest lane, hop 2 (work items) on the poll thread; each batch's
// outputs and consumed offsets commit in one Kafka transaction (DESIGN.md "Guarantees"), or, on
// the embedded broker, at least once.
//
// A transactional commit runs on a thread of its own while the poll thread reads the next batch:
// its input records are normalized by the lane and their outputs held (staged), its work items
// held unprocessed, and nothing is produced until the commit has succeeded and the next
// transaction begun. If the commit fails, both batches are thrown away and read again from the
// committed offsets; memory is rebuilt as after any abort.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "app/delivery_index.h"
#include "app/ingest_lane.h"
#include "common/clock.h"
#include "common/raii.h"
#include "consumers/kafka.h"
#include "consumers/normalizer.h"
#include "consumers/results.h"
#include "consumers/runtime_records.h"
#include "consumers/topics.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"
#include "common/executor.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/runtime.h"

namespace fleetkeeper::aws {
class ClientProvider;
}

namespace fleetkeeper::app {

// Exit codes of `fleetkeeper run`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitStartFailed = 2;
inline constexpr int kExitFenced = 3;      // another live process holds our transactional.id
inline constexpr int kExitKafkaFatal = 4;

struct WorkerHooks {
  // Test hooks (environment FK_TEST_*): SIGKILL the process between send_offsets_to_transaction
  // and commit_transaction of the Nth batch; treat the Nth commit as an abortable failure.
  int crash_before_commit_batch = 0;
  int abort_batch = 0;
  // The Nth commit waits a second before it starts, so that the next batch is read meanwhile.
  int slow_commit_batch = 0;
  // In-process tests: use this mock cluster (owned by the test) as the embedded broker, so that
  // faults can be injected into it.
  rd_kafka_mock_cluster_t* embedded_cluster = nullptr;
  static WorkerHooks FromEnvironment();
};

class Worker {
 public:
  explicit Worker(const v1::WorkerConfig& config, WorkerHooks hooks = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts (topics, producer, consumer), runs until stopped, closes. Returns the exit code.
  int Run();
  // Async-signal-safe.
  void RequestStop() { stop_.store(true); }

  // Bootstrap address in use (the embedded broker's once started).
  const std::string& bootstrap() const { return bootstrap_; }
  // Records whose batch committed; safe to read from another thread.
  int64_t records_done() const { return records_done_.load(); }
  // Times a batch could not carry an output and was read again; safe from another thread.
  int64_t batches_failed() const { return batches_failed_.load(); }
  // Commits that failed (and rewound their batch); safe from another thread.
  int64_t commits_failed() const { return commits_failed_.load(); }
  // Inputs waiting to be dead-lettered because their output could not be produced.
  size_t poisoned_inputs() const {
    std::lock_guard<std::mutex> lock(poison_mu_);
    return poison_.size();
  }

 private:
  using PartitionKey = std::pair<std::string, int32_t>;
  using SourceKey = std::tuple<std::string, int32_t, int64_t>;

  struct RestoreDone {
    int32_t partition = 0;
    uint64_t ticket = 0;
    std::vector<std::pair<std::string, std::string>> records;  // value "" = tombstone
    int64_t committed = -1;   // committed offset of the work partition, -1 if none
    int64_t low = 0;          // low watermark of the work partition
    std::string error;
  };

  Status Start();
  // Properties of an assign()-only consumer (control reader, state reader): no commits,
  // read_committed, its own group id `<group.id><group_suffix>`.
  std::map<std::string, std::string> ReaderProps(const std::string& group_suffix);
  Status StartControl();
  void PollControl(int timeout_ms);
  void StartRestore(int32_t partition);
  void DrainRestores();
  void PauseResume(int32_t partition, bool pause);
  // Collects finished steps and starts due ones; returns the records it produced.
  size_t RunPump();
  // Produces the runtime's records into the batch; every partition in `touched` gets an offset in
  // the transaction (fencing). Returns how many records.
  size_t ProduceStateRecords(const std::vector<consumers::OutRecord>& outs,
                             const std::set<int32_t>& touched);
  void RestoreTouched();
  Status StartEmbeddedBroker();
  Status CreateProducer();
  Status CreateConsumer();
  void Close();

  // An item of the ingest lane: an input record, or a mark that the batch before it is closing
  // (what follows is staged) or that the next transaction has begun (staged outputs go out).
  struct LaneItem {
    enum class Kind { kRecord, kCloseBatch, kOpenBatch };
    KafkaMessagePtr msg;
    Kind kind = Kind::kRecord;
  };
  // The outcome of a commit run on the committer thread.
  struct CommitOutcome {
    bool ok = false;
    int fatal_code = 0;   // with `why`: the worker must stop
    std::string why;      // not ok and not fatal: abort the batch (and the one read meanwhile)
  };

  void PollBatch();
  // While the last batch commits: reads the next one (see the class comment), then finishes the
  // commit.
  void OverlapCommit();
  // False on a fatal consumer error (the worker is stopping); true for a record or a warning.
  bool ConsumerErrorOk(const rd_kafka_message_t* msg);
  // Counts a record into the open batch and processes it (inputs go to the lane). False when it
  // was not processed: its partition was sought back to it.
  bool Admit(KafkaMessagePtr& msg);
  // False when the record was not processed (its partition is being restored).
  // An input record is handed to the ingest lane (`msg` is then empty).
  bool Process(KafkaMessagePtr& msg);
  void OnLaneItem(LaneItem& item);  // ingest lane thread
  // Why an input's output could not be produced last time, if it could not: it is dead-lettered.
  std::optional<std::string> Poisoned(const consumers::InputRecord& in) const;
  void ProcessInput(KafkaMessagePtr& msg);
  void ProcessWork(const rd_kafka_message_t* msg);
  void ProduceFor(const consumers::InputRecord& input, consumers::OutRecord out);
  // The open batch cannot commit (an output it needs was not produced): the commit aborts it and
  // the batch is read again. The first reason is kept.
  void FailBatch(std::string why);  // any thread
  void ClearBatchFailure();
  // Produces a record, or, at least once, holds a fleet.state record for the commit.
  rd_kafka_resp_err_t Produce(const consumers::OutRecord& out);
  rd_kafka_resp_err_t ProduceNow(const consumers::OutRecord& out);
  rd_kafka_topic_t* OutTopic(std::string_view topic) const;  // out_rkts_' handle, or null
  bool EnsureTransaction();
  // Something to commit: a transaction, consumed offsets, or state held for the commit.
  bool BatchOpen() const {
    return txn_open_ || !batch_offsets_.empty() || !deferred_state_.empty();
  }
  // Commits the open batch. Returns false when it had to abort (the batch is rewound).
  bool CommitBatch();
  // Produces the records of the event ids the open batch saw, before it commits.
  void ProduceBatchSeen();
  // Bookkeeping once a batch committed its `offsets` for `records` records.
  void Committed(const std::map<PartitionKey, int64_t>& offsets, int64_t records);
  // Transactional: closes the open batch and starts its commit on the committer thread.
  void StartCommit();
  bool CommitRunning() const { return committer_.joinable(); }
  // Waits for the commit started last and applies its outcome: bookkeeping, or an abort of it and
  // of whatever was read meanwhile. On success the records read meanwhile join a new transaction.
  // Returns whether the commit succeeded.
  bool FinishCommit();
  CommitOutcome RunCommit(std::shared_future<void> lane_closed);  // committer thread
  bool CommitAtLeastOnce();
  // Aborts the open transaction and rewinds every partition the open batch (and `also`) read.
  void AbortBatch(const std::string& reason, const std::vector<PartitionKey>& also = {});
  void RewindPartitions(const std::vector<PartitionKey>& partitions);
  void CollectDeliveryFailures();
  // After a commit: inputs below the committed offsets that were dead-lettered are done.
  void ForgetCommittedPoison(const std::map<PartitionKey, int64_t>& committed);
  void SetFatal(int code, const std::string& why);

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);

  v1::WorkerConfig config_;
  WorkerHooks hooks_;
  const Clock& clock_;
  std::atomic<bool> stop_{false};

  std::string bootstrap_;
  bool embedded_ = false;
  bool transactional_ = true;
  std::string transactional_id_;
  std::map<std::string, std::string> kafka_props_;
  consumers::TopicPlan plan_;
  consumers::OutputTopics out_topics_;
  std::set<std::string, std::less<>> input_topics_;
  consumers::NormalizeOptions normalize_options_;
  int batch_max_records_ = 0;  // BatchMaxRecords(config)
  int64_t batch_max_ms_ = 0;   // BatchMaxTimeMs(config)

  KafkaPtr mock_owner_;                     // the handle the embedded cluster lives in
  rd_kafka_mock_cluster_t* mock_ = nullptr; // owned by mock_owner_
  KafkaPtr producer_;
  // The producer's handles of the topics the worker writes, opened once after it: a record that
  // names its topic by string makes librdkafka find the topic under the handle's write lock, per
  // record. Fixed after CreateProducer, so the poll thread and the lane read it without a lock;
  // declared after producer_ so that they go first.
  std::vector<std::pair<std::string, KafkaTopicPtr>> out_rkts_;
  KafkaPtr consumer_;
  KafkaQueuePtr wake_queue_;                // the consumer's queue, yielded by step completions
  std::unique_ptr<handlers::Dispatcher> dispatcher_;
  std::unique_ptr<aws::ClientProvider> aws_clients_;
  std::unique_ptr<Executor> executor_;          // workflow steps (runtime.io_threads)
  std::unique_ptr<Executor> restore_executor_;  // state partition restores
  std::unique_ptr<handlers::WorkflowRuntime> runtime_;
  v1::Event work_event_;  // the work item being processed (poll thread)
  KafkaPtr control_;                            // reads fleet.control in full
  bool frozen_ = false;

  // Restores in flight, poll thread only: work partition -> ticket (a revoke cancels by erasing).
  std::map<int32_t, uint64_t> restoring_;
  uint64_t next_ticket_ = 1;
  std::mutex restores_mu_;
  std::vector<RestoreDone> restores_done_;
  std::shared_ptr<std::atomic<bool>> closing_ = std::make_shared<std::atomic<bool>>(false);
  // Committed offset of each owned work partition: sent again by transactions that write state
  // for a cell without consuming from its partition, so that a zombie is fenced.
  std::map<int32_t, int64_t> work_committed_;

  // The open batch: poll-thread only.
  bool txn_open_ = false;
  std::map<PartitionKey, int64_t> batch_offsets_;   // next offset to commit per partition
  // The slot in batch_offsets_ of the partition the last record came from (nullptr after a clear).
  int64_t* last_slot_ = nullptr;
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  int32_t last_partition_ = -1;
  int batch_records_ = 0;
  // Why the open batch must not commit ("" = it may). Written by FailBatch from the poll thread
  // and the ingest lane; read by the poll thread once the lane is drained.
  std::mutex batch_failed_mu_;
  std::string batch_failed_;
  std::atomic<bool> batch_failing_{false};
  std::vector<consumers::OutRecord> deferred_state_;  // at least once: written by the commit

  // The commit in flight (transactional): its thread, offsets and record count, and its outcome.
  std::thread committer_;
  std::map<PartitionKey, int64_t> committing_offsets_;
  int64_t committing_records_ = 0;
  int64_t commit_started_ms_ = 0;
  CommitOutcome commit_outcome_;               // written by the committer before it ends
  std::atomic<bool> commit_done_{false};
  std::promise<void> lane_closed_;             // set by the lane at the batch's close mark
  std::vector<KafkaMessagePtr> held_;          // work items read during the commit
  // Ingest lane thread only (the poll thread touches them once the lane is drained): whether
  // outputs are staged, and the staged ones with the input each belongs to.
  bool lane_staging_ = false;
  std::vector<std::pair<KafkaMessagePtr, consumers::OutRecord>> staged_;
  std::string staged_failure_;  // an input that could not be processed while staging
  int64_t queue_full_limit_ms_ = 100000;  // longest wait for room in the producer queue
  int64_t batches_committed_ = 0;
  int64_t commit_ms_total_ = 0;  // time spent committing, for the progress line
  std::atomic<int64_t> records_done_{0};
  std::atomic<int64_t> batches_failed_{0};
  std::atomic<int64_t> commits_failed_{0};

  // Delivery failures reported by librdkafka callbacks (served on the poll thread, guarded anyway).
  std::mutex failures_mu_;
  std::vector<std::pair<SourceKey, std::string>> failures_;
  // The input of each record produced since the last commit or abort.
  DeliveryIndex deliveries_;
  // Hop 1 (input -> work item, SKIPPED result, dead letter) off the poll thread.
  std::unique_ptr<Lane<LaneItem>> ingest_;
  // Inputs whose output could not be produced: next time they go to the DLQ with the error. Read
  // by the lane while a commit is applied, hence the lock (and the flag, to skip it when empty).
  mutable std::mutex poison_mu_;
  std::map<SourceKey, std::string> poison_;
  std::atomic<bool> any_poison_{false};

  std::atomic<int> fatal_code_{0};
  std::string fatal_reason_;
};

}  // namespace fleetkeeper::app
