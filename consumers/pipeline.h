// The pipeline loop of `fleetkeeper run`: one consumer group over the input topics and fleet.work,
// one transactional producer. Hop 1 (inputs) runs on the ingest lane (consumers/ingest_stage.h),
// hop 2 (work items) on the poll thread, which feeds the workflow runtime and turns its outputs
// into records; each batch's outputs and consumed offsets commit in one Kafka transaction
// (DESIGN.md "Guarantees"), or, on the embedded broker, at least once (consumers/batch.h).
//
// A transactional commit runs on a thread of its own while the poll thread reads the next batch:
// its input records are normalized by the lane and their outputs held (staged), its work items
// held unprocessed, and nothing is produced until the commit has succeeded and the next
// transaction begun. If the commit fails, both batches are thrown away and read again from the
// committed offsets; memory is rebuilt as after any abort.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/raii_kafka.h"
#include "consumers/batch.h"
#include "consumers/commit_faults.h"
#include "consumers/health_reporter.h"
#include "consumers/ingest_stage.h"
#include "consumers/pipeline_clients.h"
#include "consumers/pipeline_stop.h"
#include "consumers/results.h"
#include "consumers/state_restore.h"
#include "fleetkeeper/v1/event.pb.h"
#include "handlers/engine/runtime.h"

namespace fleetkeeper::consumers {

class Pipeline {
 public:
  using PartitionKey = std::pair<std::string, int32_t>;

  // Each argument outlives this; `faults` (a test's) may be null. `stats` counts what it did.
  Pipeline(PipelineClients& clients, handlers::WorkflowRuntime& runtime, PipelineStop& stop,
           BatchStats& stats, const Clock& clock, CommitFaults* faults = nullptr);
  ~Pipeline() { Stop(); }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Joins the group (the clients' consumer), starts the restore readers and the ingest lane.
  Status Start();
  // Polls, routes and commits until the stop is requested; then, unless it failed, commits the
  // open batch.
  void Run();
  // Waits for the commit in flight, stops the restores and the lane (counting the inputs left
  // poisoned). Before the workflow executor and the clients go: the clients' close still hands
  // the revoke to this pipeline. Once is enough.
  void Stop();

 private:
  void PollBatch();
  // While the last batch commits: reads the next one (see the class comment), then finishes the
  // commit.
  void OverlapCommit();
  // False on a fatal consumer error (the pipeline is stopping); true for a record or a warning.
  bool ConsumerErrorOk(const rd_kafka_message_t* msg);
  // Counts a record into the open batch and processes it (inputs go to the lane). False when it
  // was not processed: its partition was sought back to it.
  bool Admit(KafkaMessagePtr& msg);
  // False when the record was not processed (its partition is being restored).
  // An input record is handed to the ingest lane (`msg` is then empty).
  bool Process(KafkaMessagePtr& msg);
  void ProcessWork(const rd_kafka_message_t* msg);
  void ProduceFor(const InputRecord& input, OutRecord out);
  // Begins the batch's transaction unless one is open. False when it cannot: the pipeline is
  // stopping, or the batch was aborted (and `msg`, the record at hand, if any, is read again).
  bool EnsureTransaction(const rd_kafka_message_t* msg = nullptr);
  // Collects finished steps and starts due ones; returns the records it produced.
  size_t RunPump();
  // Produces the runtime's records into the batch; every partition in `touched` gets an offset in
  // the transaction (fencing). Returns how many records.
  size_t ProduceStateRecords(const std::vector<OutRecord>& outs, const std::set<int32_t>& touched);
  // Produces the records of the event ids the open batch saw, before it commits.
  void ProduceBatchSeen();
  // Commits the open batch. Returns false when it had to abort (the batch is rewound).
  bool CommitBatch();
  // Transactional: closes the open batch and starts its commit on the committer thread.
  void StartCommit();
  // Waits for the commit started last and applies its outcome: bookkeeping, or an abort of it and
  // of whatever was read meanwhile. On success the records read meanwhile join a new transaction.
  // Returns whether the commit succeeded.
  bool FinishCommit();
  // Bookkeeping once a batch committed its `offsets` for `records` records.
  void Committed(const Batch::Offsets& offsets);
  // Aborts the open transaction and rewinds every partition the open batch (and `also`) read.
  void AbortBatch(const std::string& reason, const std::vector<PartitionKey>& also = {});
  void RewindPartitions(const std::vector<PartitionKey>& partitions);
  // The producer failed for good without being fenced (`why`): a new one with the same
  // transactional.id takes over, with a new batch, lane and health reporter around it. False
  // when it cannot (or failed too often without a commit in between).
  bool ReplaceProducer(const std::string& why);
  // The batch, the health reporter and the ingest lane: around the clients' producer.
  void BuildProducerSide();
  OutputProducer& output() { return clients_.output(); }
  void RestoreTouched();
  // After a commit: pauses the work partitions at options_.max_pending_per_partition unfinished
  // workflows and resumes those down to three quarters of it.
  void ApplyBackpressure();
  void StartRestore(int32_t partition);
  void DrainRestores();
  // The group assigned partitions (their restores start) or is taking them (the open batch
  // commits, or aborts when they are lost, and their state is dropped).
  void Rebalance(const GroupConsumer::Change& change);

  PipelineClients& clients_;
  const PipelineOptions& options_;
  const TopicPlan& plan_;
  const OutputTopics& out_topics_;
  handlers::WorkflowRuntime& runtime_;
  PipelineStop& stop_;
  BatchStats& stats_;
  const Clock& clock_;
  CommitFaults* const faults_;
  std::set<std::string, std::less<>> input_topics_;

  std::unique_ptr<Batch> batch_;                 // after Start
  std::unique_ptr<PartitionRestores> restores_;  // of the work partitions assigned
  std::unique_ptr<HealthReporter> health_;
  // Hop 1 (input -> work item, SKIPPED result, dead letter) off the poll thread.
  std::unique_ptr<IngestStage> ingest_;
  v1::Event work_event_;  // the work item being processed (poll thread)
  // Committed offset of each owned work partition: sent again by transactions that write state
  // for a cell without consuming from its partition, so that a zombie is fenced.
  std::map<int32_t, int64_t> work_committed_;
  std::set<int32_t> backpressured_;    // work partitions paused by ApplyBackpressure
  bool assigned_once_ = false;         // the group has assigned this worker its partitions once
  std::vector<KafkaMessagePtr> held_;  // work items read during the commit
  bool stopped_ = false;
  int producer_replacements_ = 0;  // since the last commit
};

}  // namespace fleetkeeper::consumers
