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

#include "common/clock.h"
#include "common/executor.h"
#include "common/raii_kafka.h"
#include "consumers/control_log.h"
#include "consumers/group_consumer.h"
#include "consumers/ingest_stage.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/normalizer.h"
#include "consumers/output_producer.h"
#include "consumers/results.h"
#include "consumers/runtime_records.h"
#include "consumers/state_restore.h"
#include "consumers/topics.h"
#include "consumers/transaction.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/runtime.h"

namespace fleetkeeper::aws {
class ClientProvider;
}

namespace fleetkeeper::app {

// Exit codes of `fleetkeeper run`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitStartFailed = 2;
inline constexpr int kExitFenced = 3;  // another live process holds our transactional.id
inline constexpr int kExitKafkaFatal = 4;

struct WorkerHooks {
  // Test hooks (environment FK_TEST_*): SIGKILL the process between send_offsets_to_transaction
  // and commit_transaction of the Nth batch; treat the Nth commit as an abortable failure.
  int crash_before_commit_batch = 0;
  int abort_batch = 0;
  // The Nth commit waits a second before it starts, so that the next batch is read meanwhile.
  int slow_commit_batch = 0;
  // The Nth commit holds 5 s between send_offsets_to_transaction and commit_transaction, after
  // logging so: the broker fault tests restart the transaction coordinator right then.
  int hold_before_commit_batch = 0;
  // A fenced worker waits this long before it exits, its operator listener still answering.
  int linger_after_fence_ms = 0;
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
  size_t poisoned_inputs() const { return output_ ? output_->poisoned_inputs() : 0; }

 private:
  using PartitionKey = std::pair<std::string, int32_t>;

  Status Start();
  // Properties of an assign()-only consumer (control reader, state reader): no commits,
  // read_committed, its own group id `<group.id><group_suffix>`.
  consumers::KafkaProperties ReaderProps(const std::string& group_suffix);
  Status StartControl();
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

  // The outcome of a commit run on the committer thread.
  struct CommitOutcome {
    bool ok = false;
    int fatal_code = 0;  // with `why`: the worker must stop
    std::string why;     // not ok and not fatal: abort the batch (and the one read meanwhile)
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
  void ProcessWork(const rd_kafka_message_t* msg);
  void ProduceFor(const consumers::InputRecord& input, consumers::OutRecord out);
  // The open batch cannot commit (an output it needs was not produced): the commit aborts it and
  // the batch is read again. The first reason is kept.
  void FailBatch(std::string why);  // any thread
  void ClearBatchFailure();
  bool EnsureTransaction();
  // Something to commit: a transaction, consumed offsets, or state held for the commit.
  bool BatchOpen() const {
    return txn_open_ || !batch_offsets_.empty() || (output_ && output_->holding());
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
  void SetFatal(int code, const std::string& why);

  // librdkafka's error callback of the consumer and the producer: a fatal error stops the worker.
  void ClientError(rd_kafka_t* rk, int err, const char* reason);
  // The group assigned partitions (their restores start) or is taking them (the open batch
  // commits, or aborts when they are lost, and their state is dropped).
  void Rebalance(const consumers::GroupConsumer::Change& change);
  // /healthz and /readyz (common/metrics.h Health), and the freeze gauge; each loop turn.
  void ReportHealth(int64_t now_ms);
  // After an abort, at most every 10 s: names an output topic the broker does not have.
  void ReportMissingOutputTopics();

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

  // Declared before the clients: it must outlive every client that talks to it.
  std::unique_ptr<consumers::EmbeddedBroker> embedded_broker_;
  // The producer, with the DLQ fallback, the delivery index and the inputs poisoned.
  std::unique_ptr<consumers::OutputProducer> output_;
  std::unique_ptr<consumers::Transaction> txn_;  // transactional: the producer's transactions
  std::unique_ptr<consumers::GroupConsumer> consumer_;  // woken by step completions
  std::unique_ptr<handlers::Dispatcher> dispatcher_;
  std::unique_ptr<aws::ClientProvider> aws_clients_;
  std::unique_ptr<Executor> executor_;  // workflow steps (runtime.io_threads)
  std::unique_ptr<handlers::WorkflowRuntime> runtime_;
  v1::Event work_event_;                            // the work item being processed (poll thread)
  std::unique_ptr<consumers::ControlLog> control_;  // the freeze state, read in full at start
  std::unique_ptr<consumers::PartitionRestores> restores_;  // of the work partitions assigned
  // Committed offset of each owned work partition: sent again by transactions that write state
  // for a cell without consuming from its partition, so that a zombie is fenced.
  std::map<int32_t, int64_t> work_committed_;

  // The open batch: poll-thread only.
  bool txn_open_ = false;
  bool assigned_once_ = false;  // the group has assigned this worker its partitions once
  int64_t last_broker_probe_ms_ = 0;
  int64_t last_topic_check_ms_ = 0;  // ReportMissingOutputTopics' last metadata request  //
                                     // ReportHealth's last look for a broker, after all were down
  std::map<PartitionKey, int64_t> batch_offsets_;  // next offset to commit per partition
  // The slot in batch_offsets_ of the partition the last record came from (nullptr after a clear).
  int64_t* last_slot_ = nullptr;
  const rd_kafka_topic_t* last_rkt_ = nullptr;
  int32_t last_partition_ = -1;
  int batch_records_ = 0;
  int64_t batch_opened_ms_ = 0;  // when the open batch started filling (MonotonicMs)
  // Why the open batch must not commit ("" = it may). Written by FailBatch from the poll thread
  // and the ingest lane; read by the poll thread once the lane is drained.
  std::mutex batch_failed_mu_;
  std::string batch_failed_;
  std::atomic<bool> batch_failing_{false};

  // The commit in flight (transactional): its thread, offsets and record count, and its outcome.
  std::thread committer_;
  std::map<PartitionKey, int64_t> committing_offsets_;
  int64_t committing_records_ = 0;
  int64_t commit_started_ms_ = 0;
  int64_t committing_opened_ms_ = 0;  // batch_opened_ms_ of the batch committing
  CommitOutcome commit_outcome_;      // written by the committer before it ends
  std::atomic<bool> commit_done_{false};
  std::vector<KafkaMessagePtr> held_;  // work items read during the commit
  int64_t batches_committed_ = 0;
  int64_t commit_ms_total_ = 0;  // time spent committing, for the progress line
  std::atomic<int64_t> records_done_{0};
  std::atomic<int64_t> batches_failed_{0};
  std::atomic<int64_t> commits_failed_{0};

  // Hop 1 (input -> work item, SKIPPED result, dead letter) off the poll thread.
  std::unique_ptr<consumers::IngestStage> ingest_;

  int64_t gauges_reported_ms_ = 0;  // ReportHealth's last lag and workflow gauges

  std::atomic<int> fatal_code_{0};
  std::string fatal_reason_;
};

}  // namespace fleetkeeper::app
