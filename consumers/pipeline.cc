#include "consumers/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/log.h"
#include "common/metrics.h"
#include "consumers/runtime_records.h"

namespace fleetkeeper::consumers {
namespace {

// An empty batch ends after this long so that the runtime's timers are looked at this often,
// however long batch_max_time lets a busy batch stay open.
constexpr int64_t kIdlePumpMs = 100;

}  // namespace

Pipeline::Pipeline(PipelineClients& clients, handlers::WorkflowRuntime& runtime, PipelineStop& stop,
                   BatchStats& stats, const Clock& clock, CommitFaults* faults)
    : clients_(clients),
      options_(clients.options()),
      plan_(options_.plan),
      out_topics_(options_.outputs),
      runtime_(runtime),
      stop_(stop),
      stats_(stats),
      clock_(clock),
      faults_(faults) {
  input_topics_.insert(plan_.inputs.begin(), plan_.inputs.end());
}

Status Pipeline::Start() {
  GroupConsumer::Hooks hooks;
  hooks.on_rebalance = [this](const GroupConsumer::Change& change) { Rebalance(change); };
  if (auto st = clients_.OpenConsumer(std::move(hooks)); !st.ok()) return st;
  GroupConsumer& consumer = clients_.consumer();
  KafkaProperties reader = clients_.ReaderProperties(".reader");
  reader["enable.partition.eof"] = "true";
  restores_ = std::make_unique<PartitionRestores>(std::move(reader), consumer.client(), plan_.work,
                                                  plan_.state, clock_);
  BuildProducerSide();
  // A completed step wakes the consumer poll, so that the next step (or the result) does not wait
  // for the batch to close: the executor refills as fast as steps finish.
  runtime_.SetCompletionNotifier([c = &consumer] { c->Wake(); });
  return Ok{};
}

void Pipeline::BuildProducerSide() {
  batch_ = std::make_unique<Batch>(output(), clients_.transaction(), clients_.consumer(), clock_,
                                   stats_, faults_);
  health_ = std::make_unique<HealthReporter>(
      output().client(),
      std::vector<std::string>{plan_.work, plan_.results, plan_.dlq, plan_.state}, clock_, [this] {
        clients_.consumer().ReportLag();
        metrics::SetWorkflows(runtime_.LiveWorkflowsByState());
      });
  IngestStage::Hooks ingest;
  ingest.fail_batch = [this](std::string why) { batch_->Fail(std::move(why)); };
  ingest.stopped = [this] { return stop_.failed(); };
  ingest_ = std::make_unique<IngestStage>(output(), out_topics_, options_.normalize, clock_,
                                          std::move(ingest));
}

bool Pipeline::ReplaceProducer(const std::string& why) {
  // Some fatal errors would come back with every producer (a broken configuration): after a few
  // in a row without a commit, the pipeline stops as it did before it tried.
  constexpr int kMaxReplacements = 3;
  if (++producer_replacements_ > kMaxReplacements) return false;
  spdlog::warn(
      "the producer failed for good ({}): a new producer with transactional.id {} takes over "
      "and the batch is read again",
      why, clients_.transactional_id());
  Batch::Offsets offsets = batch_->offsets();  // to read again
  // Everything that holds the failed producer goes first; the lane is drained already.
  ingest_.reset();
  health_.reset();
  batch_.reset();
  if (Status st = clients_.ReplaceProducer(); !st.ok()) {
    stop_.Fail(kExitKafkaFatal,
               fmt::format("cannot replace the failed producer: {}", st.error().message));
    return false;
  }
  BuildProducerSide();
  batch_->offsets() = std::move(offsets);
  ++stats_.producers_replaced;
  return true;
}

void Pipeline::Run() {
  int64_t last_report = clock_.MonotonicMs();
  int64_t last_records = 0;
  int64_t last_batches = 0;
  int64_t last_commit_ms = 0;
  while (!stop_.requested()) {
    PollBatch();
    output().Poll(0);
    const int64_t now = clock_.MonotonicMs();
    // Ready: the group has given this worker its partitions (possibly none: more workers than
    // partitions) and every one of them is restored.
    health_->Report(now, assigned_once_ && restores_->in_flight() == 0,
                    clients_.control().frozen());
    if (now - last_report >= 10000) {
      const int64_t records = batch_->records_done() - last_records;
      const int64_t batches = batch_->batches_committed() - last_batches;
      spdlog::info(
          "progress: {} records done, {} in the last {} s in {} batches ({} records and {} ms of "
          "commit per batch)",
          batch_->records_done(), records, (now - last_report) / 1000, batches,
          batches ? records / batches : 0,
          batches ? (batch_->commit_ms_total() - last_commit_ms) / batches : 0);
      last_report = now;
      last_records = batch_->records_done();
      last_batches = batch_->batches_committed();
      last_commit_ms = batch_->commit_ms_total();
    }
  }
  metrics::ProcessHealth().stopping = true;
  if (!stop_.failed()) {
    // Graceful: finish the open batch, then leave the group (the revoke callback commits too).
    if (batch_->committing()) FinishCommit();
    if (batch_->open()) CommitBatch();
  }
}

void Pipeline::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // The lane must reach the committing batch's mark: before the lane goes.
  if (batch_ && batch_->committing()) FinishCommit();
  if (restores_) restores_->Stop();
  // Its metadata requests go before the producer they use.
  health_.reset();
  // Before the producer it produces with. Drained unless the pipeline failed: the revoke in the
  // consumer's close commits the open batch, which must not go without its outputs.
  if (ingest_ && !stop_.failed()) ingest_->Drain();
  ingest_.reset();
  // Records still held (the pipeline failed with a batch staged, and went with the lane) go
  // before their consumer: rd_kafka_destroy waits for every message of its handle and would hang.
  held_.clear();
  if (restores_) restores_->Close();  // before the consumer they ask for committed offsets
  stats_.poisoned_inputs = output().poisoned_inputs();
}

void Pipeline::StartRestore(int32_t partition) {
  clients_.consumer().Pause(plan_.work, partition, true);
  // The restore resumes it when done; the next commit pauses it again if it is still full.
  backpressured_.erase(partition);
  restores_->Start(partition);
}

void Pipeline::DrainRestores() {
  for (auto& done : restores_->TakeDone()) {
    runtime_.Install(done.partition, done.records);
    work_committed_[done.partition] = done.resume_offset;
    clients_.consumer().Pause(plan_.work, done.partition, false);
  }
}

size_t Pipeline::RunPump() {
  std::vector<OutRecord> outs;
  RuntimeRecords records(plan_.state, out_topics_, &outs);
  std::set<int32_t> touched;
  runtime_.Pump(clients_.control().frozen(), records, &touched);
  return ProduceStateRecords(outs, touched);
}

size_t Pipeline::ProduceStateRecords(const std::vector<OutRecord>& outs,
                                     const std::set<int32_t>& touched) {
  if (outs.empty()) return 0;
  if (!EnsureTransaction()) return 0;
  for (auto& out : outs) {
    if (rd_kafka_resp_err_t err = output().Produce(out); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A checkpoint or result the batch cannot carry: the batch must not commit without it.
      batch_->Fail(fmt::format("cannot produce a workflow record to {}: {}", out.topic,
                               rd_kafka_err2str(err)));
    }
  }
  if (batch_->transactional()) {
    // Fencing: every transaction that writes a cell's state carries an offset for its partition.
    Batch::Offsets& offsets = batch_->offsets();
    for (int32_t p : touched) {
      PartitionKey key{plan_.work, p};
      if (offsets.count(key)) continue;
      auto c = work_committed_.find(p);
      if (c != work_committed_.end() && c->second >= 0) offsets[key] = c->second;
    }
  }
  return outs.size();
}

void Pipeline::PollBatch() {
  if (batch_->committing()) OverlapCommit();
  if (stop_.failed()) return;
  DrainRestores();
  clients_.control().Poll(0);
  const int64_t opened = clock_.MonotonicMs();
  if (!batch_->open()) batch_->set_opened_ms(opened);
  // The debug line per batch: how long it waited in consumer_poll (records did not keep it busy).
  // Timed only when it is logged, not twice per record for nothing.
  const bool trace = spdlog::should_log(spdlog::level::debug);
  int64_t waited_ms = 0;
  const int64_t deadline = opened + options_.batch_max_ms;
  const int64_t idle_deadline = opened + std::min(options_.batch_max_ms, kIdlePumpMs);
  // Workflows the last commit made runnable start now, not after this batch.
  size_t pumped = stop_.failed() ? 0 : RunPump();
  while (!stop_.requested() && batch_->records() < options_.batch_max_records) {
    if (runtime_.HasCompletions()) {
      pumped += RunPump();
      if (stop_.failed()) return;
    }
    const int64_t now = clock_.MonotonicMs();
    const int64_t remaining = deadline - now;
    if (remaining <= 0) break;
    // A batch with records closes as soon as the consumer has nothing more queued. The commit
    // overlaps the next batch's reads, so under a steady rate a batch holds what arrived during
    // the previous commit (batches grow with the rate, group commit style); under a backlog the
    // prefetched queue does not run dry and batches fill to batch_max_records or batch_max_time.
    // Waiting for one more record instead (a 2 ms linger, before) kept a batch open until
    // batch_max_time whenever records came more often than that. An empty batch ends after
    // kIdlePumpMs (the pump's cadence for timers); a completed step wakes it early.
    const bool has_content = batch_->records() > 0 || pumped > 0;
    if (!has_content && now >= idle_deadline) break;
    const int64_t wait = has_content ? 0 : idle_deadline - now;
    const int64_t poll_started = trace ? clock_.MonotonicMs() : 0;
    KafkaMessagePtr msg = clients_.consumer().Poll(static_cast<int>(wait));
    if (trace) waited_ms += clock_.MonotonicMs() - poll_started;
    if (!msg) {
      if (has_content && !runtime_.HasCompletions()) break;
      continue;
    }
    if (msg->err) {
      if (!ConsumerErrorOk(msg.get())) return;
      continue;
    }
    if (!EnsureTransaction(msg.get())) return;
    Admit(msg);
    if (stop_.failed()) return;
    if (batch_->failing()) break;  // it will be read again: stop adding to it
  }
  if (!stop_.failed()) RunPump();
  if (batch_->open() && !stop_.failed()) {
    const int64_t records = batch_->records();
    const int64_t closed = clock_.MonotonicMs();
    if (batch_->transactional()) {
      StartCommit();  // finished by the next PollBatch, which reads meanwhile
      spdlog::debug("batch of {} records: filled in {} ms ({} ms waiting for records)", records,
                    closed - opened, waited_ms);
      return;
    }
    const bool committed = CommitBatch();
    spdlog::debug("batch of {} records: filled in {} ms ({} ms waiting for records), {} in {} ms",
                  records, closed - opened, waited_ms, committed ? "committed" : "not committed",
                  clock_.MonotonicMs() - closed);
  }
}

bool Pipeline::ConsumerErrorOk(const rd_kafka_message_t* msg) {
  if (std::optional<std::string> fatal = clients_.consumer().Fatal(msg)) {
    stop_.Fail(kExitKafkaFatal, fmt::format("fatal consumer error: {}", *fatal));
    return false;
  }
  return true;
}

bool Pipeline::Admit(KafkaMessagePtr& msg) {
  const rd_kafka_topic_t* rkt = msg->rkt;
  const int32_t partition = msg->partition;
  const int64_t next = msg->offset + 1;
  std::optional<PartitionKey> run = batch_->RunKey(msg.get());
  if (!Process(msg)) return false;  // an input record now belongs to the ingest lane
  batch_->Count(std::move(run), rkt, partition, next);
  return true;
}

void Pipeline::OverlapCommit() {
  // Inputs go to the lane, which stages their outputs; work items wait in held_ (processing one
  // changes memory that must not run ahead of the commit). The committer yields the consumer
  // queue when it is done, so the poll below returns at once.
  while (batch_->committing() && !batch_->commit_done() && !stop_.requested() &&
         batch_->records() < options_.batch_max_records) {
    KafkaMessagePtr msg = clients_.consumer().Poll(static_cast<int>(kIdlePumpMs));
    if (!msg) continue;
    if (msg->err) {
      if (!ConsumerErrorOk(msg.get())) break;
      continue;
    }
    // A rebalance in the poll above finished the commit and began the next batch: carry on
    // normally.
    if (!batch_->committing()) {
      if (!EnsureTransaction(msg.get())) return;
      Admit(msg);
      return;
    }
    if (rd_kafka_topic_name(msg->rkt) == plan_.work) {
      held_.push_back(std::move(msg));
      batch_->CountHeld(1);
    } else {
      Admit(msg);  // its offset goes into the next batch's offsets
    }
  }
  if (batch_->committing()) FinishCommit();
}

bool Pipeline::EnsureTransaction(const rd_kafka_message_t* msg) {
  const TxnResult begun = batch_->Begin();
  if (begun.ok()) return true;
  if (begun.kind == TxnResult::Kind::kFenced) {
    stop_.Fail(kExitFenced, begun.why);
    return false;
  }
  spdlog::error("{}", begun.why);
  // The record at hand is not in the batch: it is read again, not passed over.
  if (msg != nullptr) clients_.consumer().SeekBack(msg);
  if (begun.kind == TxnResult::Kind::kProducerFailed) AbortBatch(begun.why);
  return false;
}

bool Pipeline::Process(KafkaMessagePtr& owned) {
  const rd_kafka_message_t* msg = owned.get();
  const std::string_view topic = rd_kafka_topic_name(msg->rkt);
  if (input_topics_.count(topic)) {
    ingest_->Push(std::move(owned));
  } else if (topic == plan_.work) {
    if (!runtime_.Owns(msg->partition)) {
      // Fetched before the partition was paused for a restore: read it again afterwards.
      clients_.consumer().SeekBack(msg);
      return false;
    }
    ProcessWork(msg);
  }
  return true;
}

void Pipeline::ProcessWork(const rd_kafka_message_t* msg) {
  InputRecord in = InputOf(msg, /*with_headers=*/false);
  auto dead_letter = [&](const std::string& why) {
    const InputRecord whole = InputOf(msg);
    ProduceFor(whole, DlqRecord(whole, why, out_topics_));
  };
  if (std::optional<std::string> why = output().Poisoned(in)) {
    dead_letter(*why);
    return;
  }
  // Reused from one work item to the next: parsing into it keeps its strings' buffers.
  v1::Event& event = work_event_;
  if (in.payload.empty() ||
      !event.ParseFromArray(in.payload.data(), static_cast<int>(in.payload.size())) ||
      event.id().empty()) {
    dead_letter("work item is not a fleetkeeper.v1.Event");
    return;
  }
  LogEventScope scope(event.id());
  std::vector<OutRecord> outs;
  RuntimeRecords records(plan_.state, out_topics_, &outs);
  runtime_.OnWorkItem(in.partition, event, clients_.control().frozen(), records);
  for (auto& out : outs) ProduceFor(in, std::move(out));
}

void Pipeline::ProduceFor(const InputRecord& input, OutRecord out) {
  if (std::optional<std::string> failed = output().ProduceFor(input, std::move(out))) {
    batch_->Fail(std::move(*failed));
  }
}

bool Pipeline::CommitBatch() {
  if (batch_->transactional()) {
    if (batch_->committing()) FinishCommit();
    StartCommit();
    return FinishCommit();
  }
  const int64_t started = clock_.MonotonicMs();
  // Every output of the batch's inputs is produced before the batch commits.
  if (ingest_) ingest_->Drain();
  ProduceBatchSeen();
  std::vector<PartitionKey> rewind;
  const bool ok = batch_->CommitAtLeastOnce(started, &rewind);
  if (ok) {
    Committed(batch_->offsets());
    batch_->Committed(batch_->records());
  } else {
    RewindPartitions(rewind);
    RestoreTouched();
  }
  batch_->Clear();
  output().EndBatch();
  return ok;
}

void Pipeline::ProduceBatchSeen() {
  // The event ids the batch's work items carried, a record per partition.
  std::vector<OutRecord> outs;
  RuntimeRecords records(plan_.state, out_topics_, &outs);
  std::set<int32_t> touched;
  runtime_.EndBatch(records, &touched);
  ProduceStateRecords(outs, touched);
}

void Pipeline::Committed(const Batch::Offsets& offsets) {
  for (const auto& [tp, off] : offsets) {
    if (tp.first == plan_.work) work_committed_[tp.second] = off;
  }
  runtime_.OnCommitted();
  ApplyBackpressure();
}

void Pipeline::ApplyBackpressure() {
  const size_t high = static_cast<size_t>(options_.max_pending_per_partition);
  if (high == 0) return;
  const size_t low = high * 3 / 4;
  for (const auto& [p, committed] : work_committed_) {
    const size_t n = runtime_.UnfinishedWorkflows(p);
    const bool paused = backpressured_.count(p) > 0;
    if (!paused && n >= high) {
      clients_.consumer().Pause(plan_.work, p, true);
      backpressured_.insert(p);
      ++stats_.backpressure_pauses;
      spdlog::info(
          "{} [{}] paused: {} unfinished workflows (runtime.max_pending_per_partition {}); new "
          "work waits on the broker until they are down to {}",
          plan_.work, p, n, high, low);
    } else if (paused && n <= low) {
      clients_.consumer().Pause(plan_.work, p, false);
      backpressured_.erase(p);
      metrics::BackpressurePaused().Set(static_cast<double>(backpressured_.size()));
      spdlog::info("{} [{}] resumed: {} unfinished workflows", plan_.work, p, n);
    }
  }
  metrics::BackpressurePaused().Set(static_cast<double>(backpressured_.size()));
}

void Pipeline::StartCommit() {
  // The lane marks where the batch ends; the committer waits for the mark, so that every output
  // of the batch's inputs is in the transaction, while the poll thread goes on reading.
  std::shared_future<void> lane_closed;
  if (ingest_) {
    lane_closed = ingest_->CloseBatch();
  } else {
    std::promise<void> none;
    none.set_value();
    lane_closed = none.get_future().share();
  }
  ProduceBatchSeen();
  // The poll thread waits in a poll.
  batch_->StartCommit(std::move(lane_closed), [this] { clients_.consumer().Wake(); });
}

bool Pipeline::FinishCommit() {
  Batch::Finished done = batch_->FinishCommit();
  std::vector<KafkaMessagePtr> held;
  held.swap(held_);
  batch_->CountHeld(-static_cast<int>(held.size()));  // counted again as they are admitted
  // The partitions of the held work items (inputs read meanwhile are in the batch's offsets).
  auto held_partitions = [&held](std::vector<PartitionKey> parts) {
    for (const auto& m : held) parts.emplace_back(rd_kafka_topic_name(m->rkt), m->partition);
    return parts;
  };
  spdlog::debug("commit of {} records: {} in {} ms, {} records read meanwhile", done.records,
                done.ok ? "committed" : "failed", done.took_ms,
                batch_->records() + static_cast<int>(held.size()));
  if (done.fenced) stop_.Fail(kExitFenced, done.why);
  if (stop_.failed()) return false;  // nothing commits again; the lane's staged outputs go with it
  if (!done.ok) {
    // Both batches go: the one that did not commit and the one read meanwhile.
    batch_->CountFailedCommit();
    spdlog::warn("commit of {} records failed; the {} records read meanwhile are read again too",
                 done.records, batch_->records() + static_cast<int>(held.size()));
    std::vector<PartitionKey> committing;
    for (const auto& [tp, off] : done.offsets) committing.push_back(tp);
    AbortBatch(done.why, held_partitions(std::move(committing)));
    return false;
  }
  batch_->ApplyCommit(done);
  producer_replacements_ = 0;
  Committed(done.offsets);
  // What was read meanwhile joins a new transaction: the lane produces the staged outputs, and the
  // work items are processed now, in the order they came.
  if ((!batch_->offsets().empty() || !held.empty()) && !EnsureTransaction()) {
    AbortBatch("cannot begin the next transaction", held_partitions({}));
    return true;
  }
  if (ingest_) ingest_->OpenBatch();
  // A partition sought back (its cells are being restored) is read again from that record: the
  // held records after it are read again too, not processed now.
  std::set<std::pair<const rd_kafka_topic_t*, int32_t>> sought_back;
  for (auto& m : held) {
    const std::pair<const rd_kafka_topic_t*, int32_t> where{m->rkt, m->partition};
    if (sought_back.count(where)) continue;
    if (!Admit(m)) sought_back.insert(where);
    if (stop_.failed()) break;
  }
  return true;
}

void Pipeline::AbortBatch(const std::string& reason, const std::vector<PartitionKey>& also) {
  if (ingest_) {
    ingest_->Drain();  // nothing more is produced into the transaction it aborts
    // Outputs the lane staged for a batch read during a commit go with it (the lane is idle).
    ingest_->DropStaged();
  }
  spdlog::warn("aborting the batch: {}", reason);
  if (health_) health_->CheckOutputTopics();
  if (batch_->transactional()) metrics::Transactions(false).Increment();
  batch_->ClearFailure();
  if (TxnResult aborted = batch_->Abort(); !aborted.ok()) {
    // librdkafka turns some aborts fatal (EndTxn answered INVALID_TXN_STATE after a produce to a
    // deleted topic, docs/reliability.md): a new producer takes over, the batch is read again.
    const bool replaced =
        aborted.kind == TxnResult::Kind::kProducerFailed && ReplaceProducer(aborted.why);
    if (!replaced) {
      stop_.Fail(aborted.kind == TxnResult::Kind::kFenced ? kExitFenced : kExitKafkaFatal,
                 aborted.why);
      return;
    }
  }
  output().CollectDeliveryFailures();
  output().EndBatch();
  std::set<PartitionKey> parts(also.begin(), also.end());
  for (const auto& [tp, off] : batch_->offsets()) parts.insert(tp);
  RewindPartitions({parts.begin(), parts.end()});
  batch_->Clear();
  RestoreTouched();
}

void Pipeline::RestoreTouched() {
  // Memory is never ahead of what is committed: rebuild every cell the batch touched.
  if (stop_.failed()) return;
  for (int32_t p : runtime_.OnAborted()) StartRestore(p);
}

void Pipeline::RewindPartitions(const std::vector<PartitionKey>& partitions) {
  if (partitions.empty()) return;
  if (Status st = clients_.consumer().Rewind(partitions); !st.ok()) {
    stop_.Fail(kExitKafkaFatal, st.error().message);
  }
}

void Pipeline::Rebalance(const GroupConsumer::Change& change) {
  if (change.assigned) {
    assigned_once_ = true;
    batch_->ForgetCommittedOffset();
    // A work partition stays paused until its cells are restored from fleet.state.
    for (const auto& [topic, p] : change.partitions) {
      if (topic == plan_.work) StartRestore(p);
    }
    return;
  }
  // Revoke or lost: close the open batch first, so that after this returns nothing more is
  // written for these partitions.
  if (batch_->committing()) FinishCommit();
  if (ingest_) ingest_->Drain();
  if (stop_.failed()) {
    // The pipeline is stopping on a fatal error (its producer fenced, say): nothing can commit,
    // and the next owner reads the open batch again from the committed offsets.
  } else if (batch_->in_transaction() || (!batch_->transactional() && batch_->open())) {
    if (change.lost && batch_->transactional()) {
      AbortBatch("assignment lost");
    } else {
      CommitBatch();
    }
  } else if (change.lost) {
    batch_->Clear();
  }
  for (const auto& [topic, p] : change.partitions) {
    if (topic != plan_.work) continue;
    restores_->Cancel(p);  // a restore in flight is discarded
    runtime_.Drop(p);
    work_committed_.erase(p);
    backpressured_.erase(p);
    metrics::BackpressurePaused().Set(static_cast<double>(backpressured_.size()));
    // Every paused partition is resumed before it is unassigned.
    clients_.consumer().Pause(plan_.work, p, false);
  }
  batch_->ForgetCommittedOffset();  // the commit above may have named a revoked partition
}

}  // namespace fleetkeeper::consumers
