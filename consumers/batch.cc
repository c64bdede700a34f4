#include "consumers/batch.h"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"

namespace fleetkeeper::consumers {

Batch::~Batch() {
  if (committer_.joinable()) committer_.join();
}

namespace {
constexpr int kBarrierTimeoutMs = 1000;
}  // namespace

TxnResult Batch::Begin() {
  if (txn_ == nullptr || txn_open_) return {};
  TxnResult begun = txn_->Begin();
  if (!begun.ok()) return begun;
  txn_open_ = true;
  if (!barrier_.empty()) {
    // On the poll thread, so bounded (a broker outage must not hold it). A failure leaves the
    // transaction failed or not: if failed, its commit reports it and the batch is aborted and
    // read again, as for any failed transaction.
    if (TxnResult sent = txn_->SendOffsets(consumer_.client(), barrier_, kBarrierTimeoutMs);
        !sent.ok()) {
      spdlog::debug("re-sending the last committed offset: {}", sent.why);
    }
    barrier_.clear();
  }
  return begun;
}

std::optional<Batch::PartitionKey> Batch::RunKey(const rd_kafka_message_t* msg) const {
  if (last_slot_ != nullptr && msg->rkt == last_rkt_ && msg->partition == last_partition_) {
    return std::nullopt;
  }
  return PartitionKey(rd_kafka_topic_name(msg->rkt), msg->partition);
}

void Batch::Count(std::optional<PartitionKey> run, const rd_kafka_topic_t* rkt, int32_t partition,
                  int64_t next) {
  if (run) {
    last_slot_ = &offsets_[std::move(*run)];
    last_rkt_ = rkt;
    last_partition_ = partition;
  }
  *last_slot_ = next;
  ++records_;
}

void Batch::Clear() {
  offsets_.clear();
  last_slot_ = nullptr;
  records_ = 0;
}

void Batch::Fail(std::string why) {
  spdlog::error("{}; the batch will be retried", why);
  ++stats_.batches_failed;
  std::lock_guard<std::mutex> lock(failed_mu_);
  if (failed_.empty()) failed_ = std::move(why);
  failing_.store(true);
}

void Batch::ClearFailure() {
  std::lock_guard<std::mutex> lock(failed_mu_);
  failed_.clear();
  failing_.store(false);
}

void Batch::StartCommit(std::shared_future<void> lane_closed, std::function<void()> done) {
  commit_started_ms_ = clock_.MonotonicMs();
  committing_offsets_ = std::move(offsets_);
  offsets_.clear();
  last_slot_ = nullptr;
  committing_records_ = records_;
  committing_opened_ms_ = opened_ms_;
  opened_ms_ = commit_started_ms_;  // what is read meanwhile belongs to the next batch
  records_ = 0;
  commit_done_.store(false);
  committer_ = std::thread([this, lane_closed = std::move(lane_closed), done = std::move(done)] {
    pthread_setname_np(pthread_self(), "fk:commit");
    outcome_ = RunCommit(lane_closed);
    commit_done_.store(true);
    done();
  });
}

Batch::Outcome Batch::RunCommit(const std::shared_future<void>& lane_closed) {
  lane_closed.wait();
  Outcome outcome;
  {
    std::lock_guard<std::mutex> lock(failed_mu_);
    if (!failed_.empty()) {
      outcome.why = failed_;
      return outcome;
    }
  }
  if (!txn_open_) {  // nothing was read or produced
    outcome.ok = true;
    return outcome;
  }
  auto failed = [&](const TxnResult& result) {
    outcome.fenced = result.kind == TxnResult::Kind::kFenced;
    outcome.why = result.why;
    return outcome;
  };
  const int64_t batch_no = stats_.batches_committed.load() + 1;
  if (faults_ != nullptr) {
    if (std::optional<std::string> why = faults_->BeforeOffsets(batch_no)) {
      outcome.why = std::move(*why);
      return outcome;
    }
  }
  if (TxnResult sent = txn_->SendOffsets(consumer_.client(), committing_offsets_); !sent.ok()) {
    return failed(sent);
  }
  if (faults_ != nullptr) faults_->BeforeCommit(batch_no);
  if (TxnResult committed = txn_->Commit(); !committed.ok()) return failed(committed);
  outcome.ok = true;
  return outcome;
}

Batch::Finished Batch::FinishCommit() {
  committer_.join();
  Outcome outcome = std::exchange(outcome_, Outcome());
  Finished done;
  done.ok = outcome.ok;
  done.fenced = outcome.fenced;
  done.why = std::move(outcome.why);
  done.offsets = std::exchange(committing_offsets_, {});
  done.records = committing_records_;
  done.opened_ms = committing_opened_ms_;
  done.took_ms = clock_.MonotonicMs() - commit_started_ms_;
  stats_.commit_ms += done.took_ms;
  return done;
}

void Batch::ApplyCommit(const Finished& done) {
  ClearFailure();
  txn_open_ = false;
  barrier_.clear();
  if (!done.offsets.empty()) barrier_.insert(*done.offsets.begin());
  metrics::Transactions(true).Increment();
  metrics::CommitDuration().Observe(static_cast<double>(done.took_ms) / 1000.0);
  metrics::BatchDuration().Observe(static_cast<double>(clock_.MonotonicMs() - done.opened_ms) /
                                   1000.0);
  output_.EndBatch();
  output_.ForgetCommittedPoison(done.offsets);
  Committed(done.records);
}

void Batch::Committed(int64_t records) {
  ++stats_.batches_committed;
  stats_.records_done += records;
}

bool Batch::CommitAtLeastOnce(int64_t started, std::vector<PartitionKey>* rewind) {
  // Outputs first, then the state that remembers them (see OutputProducer::Produce), then the
  // offsets.
  auto acknowledged = [this] {
    rd_kafka_resp_err_t ferr = output_.Flush(30000);
    output_.CollectDeliveryFailures();
    const bool delivered = !output_.TakeFailures();
    std::lock_guard<std::mutex> lock(failed_mu_);
    return ferr == RD_KAFKA_RESP_ERR_NO_ERROR && failed_.empty() && delivered;
  };
  auto done = [&](bool ok) {
    const int64_t took = clock_.MonotonicMs() - started;
    stats_.commit_ms += took;
    if (ok) {
      metrics::CommitDuration().Observe(static_cast<double>(took) / 1000.0);
      metrics::BatchDuration().Observe(static_cast<double>(clock_.MonotonicMs() - opened_ms_) /
                                       1000.0);
    } else {
      for (const auto& [tp, off] : offsets_) rewind->push_back(tp);
    }
    return ok;
  };
  std::vector<OutRecord> state = output_.TakeHeld();
  bool failed = !acknowledged();
  if (!failed && !state.empty()) {
    for (const auto& record : state) {
      if (rd_kafka_resp_err_t err = output_.ProduceNow(record); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Fail(fmt::format("cannot produce a state record to {}: {}", record.topic,
                         rd_kafka_err2str(err)));
        break;
      }
    }
    failed = !acknowledged();
  }
  ClearFailure();
  if (failed) {
    spdlog::warn("batch not fully acknowledged; re-reading it");
    return done(false);
  }
  // A batch that consumed no input (a timer fired, a step finished) has no offset to commit:
  // its outputs are acknowledged, and that is all it needs. librdkafka answers a commit of an
  // empty list with __NO_OFFSET, which is not a failure of this batch.
  if (offsets_.empty()) return done(true);
  rd_kafka_resp_err_t err = consumer_.Commit(offsets_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // The records are acknowledged; a failed commit means they may be processed again.
    spdlog::warn("offset commit failed: {}; the batch may be repeated", rd_kafka_err2str(err));
    ++stats_.commits_failed;
    return done(false);
  }
  output_.ForgetCommittedPoison(offsets_);
  return done(true);
}

TxnResult Batch::Abort() {
  if (txn_ != nullptr) {
    if (TxnResult aborted = txn_->Abort(txn_open_); !aborted.ok()) return aborted;
  }
  txn_open_ = false;
  return {};
}

}  // namespace fleetkeeper::consumers
