// The Kafka transaction a batch commits in (DESIGN.md "Guarantees"): its outputs and the offsets it
// consumed commit together, or neither does. librdkafka's transactional producer, with the retries
// each call needs and its errors sorted into what the caller does next. Used by one thread at a
// time (the poll thread, or the committer while the poll thread waits for it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/error.h"

namespace fleetkeeper::consumers {

struct TxnResult {
  enum class Kind {
    kOk,
    kAbortable,  // this transaction cannot commit: abort it and read its batch again
    kFenced,     // the producer is fenced: another process has our transactional.id, stop
    // The producer failed for good without being fenced (librdkafka made the error fatal): a new
    // producer with the same transactional.id can take over, and the batch is read again.
    kProducerFailed,
    kFailed,  // the abort itself failed for good: the process must stop
  };
  Kind kind = Kind::kOk;
  std::string why;  // not kOk: what failed, e.g. "commit_transaction: <librdkafka's reason>"
  bool ok() const { return kind == Kind::kOk; }
};

class Transaction {
 public:
  using PartitionKey = std::pair<std::string, int32_t>;

  // `producer` was made with `transactional.id` = `transactional_id` and outlives this.
  Transaction(rd_kafka_t* producer, std::string transactional_id)
      : producer_(producer), transactional_id_(std::move(transactional_id)) {}

  // Registers the transactional.id with the coordinator, fencing any older producer with it.
  // Waits up to `timeout_ms` in slices of up to a second, calling again after a slice that timed
  // out or ended on a retriable error (a coordinator still loading), and serving the producer's
  // callbacks in between; `give_up`, asked after each slice, ends the wait early with the reason
  // it returns (a failed authentication never heals by waiting).
  Status Init(int timeout_ms, const std::function<std::optional<std::string>()>& give_up = nullptr);
  // The caller keeps whether a transaction is open: Begin when none is, Commit or Abort one.
  TxnResult Begin();
  // Adds the consumed `offsets` (next offset per partition) to the transaction, with the group
  // metadata `consumer` has now (a cached generation would not fence a zombie).
  // `timeout_ms` >= 0: one attempt, waiting that long at most (else retried until it is answered).
  TxnResult SendOffsets(rd_kafka_t* consumer, const std::map<PartitionKey, int64_t>& offsets,
                        int timeout_ms = -1);
  TxnResult Commit();
  // Lets in-flight requests finish, then aborts the transaction if one is `open`.
  TxnResult Abort(bool open);

 private:
  TxnResult Failed(const char* call, const rd_kafka_error_t* err) const;

  rd_kafka_t* const producer_;
  const std::string transactional_id_;
};

}  // namespace fleetkeeper::consumers
