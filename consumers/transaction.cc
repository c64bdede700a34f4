#include "consumers/transaction.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/raii_kafka.h"
#include "consumers/pipeline_stop.h"

namespace fleetkeeper::consumers {

TxnResult Transaction::Failed(const char* call, const rd_kafka_error_t* err) const {
  if (rd_kafka_error_is_fatal(err)) {
    return {ProducerFenced(producer_) ? TxnResult::Kind::kFenced : TxnResult::Kind::kProducerFailed,
            fmt::format("transactional.id {}: {}", transactional_id_, rd_kafka_error_string(err))};
  }
  return {TxnResult::Kind::kAbortable, fmt::format("{}: {}", call, rd_kafka_error_string(err))};
}

Status Transaction::Init(int timeout_ms,
                         const std::function<std::optional<std::string>()>& give_up) {
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  constexpr int kSliceMs = 1000;
  const auto deadline = steady_clock::now() + milliseconds(timeout_ms);
  auto failed = [this](std::string_view why) {
    return Error(ErrorCode::kKafka, fmt::format("init_transactions for transactional.id {}: {}",
                                                transactional_id_, why));
  };
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    const auto started = steady_clock::now();
    KafkaErrorPtr err(rd_kafka_init_transactions(
        producer_, static_cast<int>(std::clamp<int64_t>(left, 1, kSliceMs))));
    if (!err) return Ok{};
    // A timed-out init_transactions resumes where it was when called again. A slice may also end
    // on an error the whole call would have retried itself, such as the coordinator still loading
    // on a broker just started: call again, after a pause if it answered at once.
    const rd_kafka_resp_err_t code = rd_kafka_error_code(err.get());
    const bool again =
        !rd_kafka_error_is_fatal(err.get()) &&
        (code == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         code == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
         code == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
         code == RD_KAFKA_RESP_ERR_NOT_COORDINATOR || rd_kafka_error_is_retriable(err.get()));
    if (!again || steady_clock::now() >= deadline) return failed(rd_kafka_error_string(err.get()));
    if (steady_clock::now() - started < milliseconds(100)) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    rd_kafka_poll(producer_, 0);  // the error callback reports what the wait is stuck on
    if (give_up == nullptr) continue;
    if (auto why = give_up()) return failed(*why);
  }
}

TxnResult Transaction::Begin() {
  KafkaErrorPtr err(rd_kafka_begin_transaction(producer_));
  if (err) return Failed("begin_transaction", err.get());
  return {};
}

TxnResult Transaction::SendOffsets(rd_kafka_t* consumer,
                                   const std::map<PartitionKey, int64_t>& offsets, int timeout_ms) {
  KafkaTopicPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, off] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
  }
  for (int attempt = 0;; ++attempt) {
    KafkaGroupMetadataPtr gmd(rd_kafka_consumer_group_metadata(consumer));
    KafkaErrorPtr err(
        rd_kafka_send_offsets_to_transaction(producer_, list.get(), gmd.get(), timeout_ms));
    if (!err) return {};
    if (timeout_ms < 0 && !rd_kafka_error_is_fatal(err.get()) &&
        rd_kafka_error_is_retriable(err.get()) && attempt < 5) {
      continue;
    }
    return Failed("send_offsets_to_transaction", err.get());
  }
}

TxnResult Transaction::Commit() {
  for (int attempt = 0;; ++attempt) {
    KafkaErrorPtr err(rd_kafka_commit_transaction(producer_, -1));
    if (!err) return {};
    if (!rd_kafka_error_is_fatal(err.get()) && rd_kafka_error_is_retriable(err.get()) &&
        attempt < 5) {
      continue;
    }
    return Failed("commit_transaction", err.get());
  }
}

TxnResult Transaction::Abort(bool open) {
  // Let in-flight produce and AddPartitionsToTxn requests finish first: purging them mid-flight
  // makes librdkafka 2.0.2's EndTxn(abort) fail with INVALID_TXN_STATE, a fatal error. In an
  // already failed transaction the flush returns at once.
  rd_kafka_flush(producer_, 10000);
  for (int attempt = 0; open; ++attempt) {
    KafkaErrorPtr err(rd_kafka_abort_transaction(producer_, -1));
    if (!err) return {};
    if (rd_kafka_error_is_fatal(err.get())) return Failed("abort_transaction", err.get());
    if (!rd_kafka_error_is_retriable(err.get()) || attempt >= 10) {
      return {TxnResult::Kind::kFailed,
              fmt::format("abort_transaction: {}", rd_kafka_error_string(err.get()))};
    }
  }
  return {};
}

}  // namespace fleetkeeper::consumers
