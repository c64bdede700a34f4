// A transaction whose abort librdkafka makes fatal (EndTxn answered INVALID_TXN_STATE, as after a
// produce to a deleted DLQ topic: docs/reliability.md) does not stop the pipeline: a new producer
// with the same transactional.id takes over and the batch is read again.
#include "tests/consumers/pipeline_mock_fixture.h"

namespace fleetkeeper::consumers {
namespace {

constexpr int16_t kEndTxnApi = 26;

// The first batch's commit fails as an abortable error would, so that the batch aborts.
class AbortFirstBatch final : public CommitFaults {
 public:
  std::optional<std::string> BeforeOffsets(int64_t batch_no) override {
    if (batch_no != 1 || aborted_.exchange(true)) return std::nullopt;
    return "injected abortable error (test)";
  }
  void BeforeCommit(int64_t) override {}

 private:
  std::atomic<bool> aborted_{false};
};

class ProducerReplacementTest : public WorkerMockClusterTest {};

TEST_F(ProducerReplacementTest, AFatalAbortReplacesTheProducerAndEveryInputStillGetsAnOutcome) {
  InputProducer inputs(bootstrap_);
  inputs.SendGood(40);
  // The abort of the first batch is answered INVALID_TXN_STATE, which librdkafka makes fatal.
  rd_kafka_mock_push_request_errors(cluster_, kEndTxnApi, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
  AbortFirstBatch faults;
  StartWorker({.extra_kafka = {},
               .batch_max_records = 50,
               .batch_max_ms = 300,
               .effect_handler = false,
               .effect_await_ms = 1500,
               .transactions = "on",
               .faults = &faults});

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(60));
  const int64_t replaced = worker_->producers_replaced();
  EXPECT_EQ(StopWorker(), kExitOk) << "the worker stopped on the fatal abort";
  EXPECT_EQ(replaced, 1) << "the failed producer was not replaced";
  ASSERT_EQ(inputs.delivered().size(), 40u);
  int missing = 0;
  for (const auto& [src, is_good] : inputs.delivered()) {
    if (!outcomes.count(src)) ++missing;
  }
  EXPECT_EQ(missing, 0) << "inputs without an outcome after the producer was replaced";
}

}  // namespace
}  // namespace fleetkeeper::consumers
