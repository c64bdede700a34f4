// The pipeline's at-least-once path on the embedded broker (librdkafka's mock cluster) with faults
// injected into it: failed offset commits, failed produce requests, the broker down and up again.
// Whatever happens, every input record must end with at least one outcome: a result on the results
// topic or a DLQ record (DESIGN.md "Guarantees"; duplicates are allowed at least once).
#include "tests/consumers/pipeline_mock_fixture.h"

namespace fleetkeeper::consumers {
namespace {

TEST_F(WorkerMockClusterTest, EveryInputGetsAnOutcomeThroughCommitProduceAndBrokerFaults) {
  InputProducer inputs(bootstrap_);
  GoodInputs good;
  int n = 0;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      if (n % 9 == 4) {
        const std::string& bad = kUnreadable[static_cast<size_t>(n) % kUnreadable.size()];
        inputs.Send(n % 2 ? kEvents : kCommands, bad, false);
      } else {
        auto [topic, value] = good.Make(n);
        inputs.Send(topic, value, true);
      }
    }
  };

  // 1. A backlog is waiting when the worker starts. The mock's error stacks are shared by every
  //    client, so the Produce errors are pushed once the test's own inputs are acknowledged: from
  //    then on only the worker produces (and only the worker commits offsets). Its first produce
  //    requests fail, transiently (the producer retries) and then permanently (the record whose
  //    output failed goes to the DLQ); its first two offset commits fail (the batches are re-read
  //    and produced again).
  send(300);
  inputs.Flush();
  rd_kafka_mock_push_request_errors(
      cluster_, kProduceApi, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  rd_kafka_mock_push_request_errors(cluster_, kOffsetCommitApi, 2,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
                                    RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  StartWorker();
  // Inputs and work items both count: past 300, the worker is through the first faults.
  const auto deadline = Clock::now() + std::chrono::seconds(25);
  while (worker_->records_done() < 300 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(worker_->records_done(), 300) << "the worker made no progress";

  // 2. The broker goes down in the middle of a stream of inputs and comes back 2 s later; an
  //    offset commit fails once more after that.
  send(150);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_mock_push_request_errors(cluster_, kOffsetCommitApi, 1,
                                    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
  send(150);
  inputs.Flush();

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(20));
  worker_->RequestStop();
  thread_.join();
  // Dead-lettered inputs are forgotten once their batch commits: nothing is left to remember.
  EXPECT_EQ(worker_->poisoned_inputs(), 0u) << "inputs remembered as poison after their commit";
  EXPECT_EQ(StopWorker(), kExitOk);

  ASSERT_EQ(inputs.delivered().size(), static_cast<size_t>(n));
  int missing = 0, repeated = 0, produce_failures_reported = 0;
  for (const auto& [src, is_good] : inputs.delivered()) {
    auto it = outcomes.find(src);
    if (it == outcomes.end()) {
      if (++missing <= 5) {
        ADD_FAILURE() << "no outcome for " << std::get<0>(src) << "/" << std::get<1>(src) << "@"
                      << std::get<2>(src);
      }
      continue;
    }
    if (it->second.size() > 1) ++repeated;
    for (const Outcome& o : it->second) {
      if (o.kind == "DLQ" && o.reason.find("Message size too large") != std::string::npos) {
        ++produce_failures_reported;
      }
      if (!is_good) {
        EXPECT_EQ(o.kind, "DLQ") << "an unreadable record got a result: " << o.reason;
        EXPECT_FALSE(o.reason.empty()) << "a DLQ record must say why";
      } else if (o.kind == "DLQ") {
        // Only a failed produce of its output may send a readable record to the DLQ.
        EXPECT_NE(o.reason.find("producing to"), std::string::npos) << o.reason;
      } else {
        EXPECT_TRUE(o.kind == "SKIPPED" || o.kind == "REJECTED") << o.kind << ": " << o.reason;
      }
    }
  }
  EXPECT_EQ(missing, 0) << missing << " of " << n << " inputs have no outcome";
  for (const auto& [src, list] : outcomes) {
    EXPECT_TRUE(inputs.delivered().count(src))
        << "outcome for an input never produced: " << std::get<0>(src) << "/" << std::get<1>(src)
        << "@" << std::get<2>(src);
  }
  // The faults took effect: failed commits re-read batches (repeats), and the permanent produce
  // error dead-lettered the record whose output failed, naming the error. (Which output it hits,
  // a work item, a result or a DLQ record, depends on which partition's request comes third.)
  EXPECT_GT(repeated, 0) << "no input was processed twice: the failed commits had no effect";
  EXPECT_GT(produce_failures_reported, 0)
      << "no DLQ record names the permanent produce error (MSG_SIZE_TOO_LARGE)";
}

TEST_F(WorkerMockClusterTest, AFullProducerQueueRetriesTheBatchInsteadOfStallingThePollLoop) {
  // The worker's producer queue holds 10 messages and the broker answers its first produce
  // requests after 2.5 s each, so the queue fills and stays full. The poll thread may wait for
  // room for a third of max.poll.interval.ms (2 s here); then the batch is read again from its
  // committed offsets: not dead-lettered, not committed without its outputs.
  InputProducer inputs(bootstrap_);
  inputs.SendGood(200);
  // Pushed once the test's own inputs are acknowledged: from then on only the worker produces.
  rd_kafka_mock_broker_push_request_error_rtts(
      cluster_, 1, kProduceApi, 6, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR,
      2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500,
      RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500);
  StartWorker(
      {.extra_kafka = {{"queue.buffering.max.messages", "10"}, {"max.poll.interval.ms", "6000"}}});

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(90));
  const int64_t failed = worker_->batches_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  int missing = 0;
  for (const auto& [src, is_good] : inputs.delivered()) {
    auto it = outcomes.find(src);
    if (it == outcomes.end()) {
      ++missing;
      continue;
    }
    for (const Outcome& o : it->second) {
      EXPECT_NE(o.kind, "DLQ") << "a full queue dead-lettered an input: " << o.reason;
    }
  }
  EXPECT_EQ(missing, 0) << missing << " of " << inputs.delivered().size()
                        << " inputs have no outcome";
  EXPECT_GT(failed, 0) << "the queue never stayed full past the bound: the test proved nothing";
}

TEST_F(WorkerMockClusterTest, AtLeastOnceStateIsWrittenOnlyAfterTheOutcomesItRemembers) {
  // Work items that end REJECTED at once: each writes an event-id record to fleet.state and a
  // result. The producer queue holds 9 messages and the first produce requests are answered after
  // 2.5 s, so the batch cannot carry every output and is read again. If the event-id records were
  // written with the results, one of them would be durable while its result never got into the
  // queue (outputs 1-9 are four pairs and the fifth event-id record), and the re-read item would
  // count as seen and get no outcome at all.
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, kWork, kPartitions, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  InputProducer work(bootstrap_);
  for (int i = 0; i < 12; ++i) {
    v1::Event ev;
    ev.set_id("state-order-" + std::to_string(i));
    ev.set_source_format("native");
    ev.set_account("111122223333");
    ev.set_region("us-east-1");
    ev.mutable_ecs_command()->set_request_id(ev.id());
    ev.mutable_ecs_command()->set_action("restart");
    // Offsets of an empty partition: the result names the work item as its source.
    auto* src = ev.mutable_source();
    src->set_topic(kWork);
    src->set_partition(0);
    src->set_offset(i);
    work.Send(kWork, ev.SerializeAsString(), true, 0);
  }
  work.Flush();
  rd_kafka_mock_broker_push_request_error_rtts(
      cluster_, 1, kProduceApi, 4, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR,
      2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500, RD_KAFKA_RESP_ERR_NO_ERROR, 2500);
  StartWorker(
      {.extra_kafka = {{"queue.buffering.max.messages", "9"}, {"max.poll.interval.ms", "6000"}}});

  auto outcomes = CollectOutcomes(bootstrap_, work.delivered(), std::chrono::seconds(60));
  const int64_t failed = worker_->batches_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  EXPECT_GT(failed, 0) << "the queue never stayed full past the bound: the test proved nothing";
  for (const auto& [src, good] : work.delivered()) {
    auto it = outcomes.find(src);
    EXPECT_TRUE(it != outcomes.end()) << "no outcome for work item @" << std::get<2>(src);
    if (it == outcomes.end()) continue;
    for (const Outcome& o : it->second) EXPECT_EQ(o.kind, "REJECTED") << o.reason;
  }
}

TEST_F(WorkerMockClusterTest, ABatchClosesWhenNothingIsQueuedWhileRecordsKeepArriving) {
  // Records arrive every millisecond for as long as the test runs, and a batch may stay open for a
  // minute and a million records. A batch closes as soon as the consumer has nothing more queued,
  // so the first input's outcome is committed while the others keep coming. Had a batch stayed
  // open while records kept arriving (as when it closed only after a 2 ms linger with no record),
  // the outcome would come after a minute, long past the 30 s this test waits for it.
  InputProducer first(bootstrap_);
  GoodInputs good;
  auto [topic, value] = good.Make(0);
  first.Send(topic, value, true);
  first.Flush();
  StartWorker({.extra_kafka = {}, .batch_max_records = 1000000, .batch_max_ms = 60000});
  std::atomic<bool> done{false};
  std::thread feeder([&] {
    InputProducer more(bootstrap_);
    for (int i = 1; !done.load(); ++i) {
      auto [t, v] = good.Make(i);
      more.Send(t, v, true);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    more.Flush();
  });
  auto outcomes = CollectOutcomes(bootstrap_, first.delivered(), std::chrono::seconds(30));
  done.store(true);
  feeder.join();
  EXPECT_EQ(StopWorker(), kExitOk);
  ASSERT_EQ(first.delivered().size(), 1u);
  auto it = outcomes.find(first.delivered().begin()->first);
  ASSERT_TRUE(it != outcomes.end())
      << "no outcome while records kept arriving: the batch stayed open";
  const std::string& kind = it->second.front().kind;
  EXPECT_TRUE(kind == "SKIPPED" || kind == "REJECTED") << kind << ": " << it->second.front().reason;
}

TEST_F(WorkerMockClusterTest, TimersFireOnAnIdleWorkerHoweverLongABatchMayStayOpen) {
  // A workflow of the test-only effect handler waits on two timers (300 ms, then 200 ms), then
  // fails for want of an effect URL. Nothing else arrives, so every batch is empty: an empty batch
  // ends after 100 ms and the runtime looks at its timers then, whatever batch_max_time allows a
  // busy batch. Were an empty batch to wait out batch_max_time (60 s here), the result would come
  // after two minutes, long past the 30 s this test waits for it.
  InputProducer inputs(bootstrap_);
  nlohmann::json command = nlohmann::json::parse(ReadFixture("native/ecs-command-wrapped.json"));
  command["ecs_command"]["request_id"] = "idle-timers-1";
  inputs.Send(kCommands, command.dump(), true);
  inputs.Flush();
  StartWorker({.extra_kafka = {},
               .batch_max_records = 50,
               .batch_max_ms = 60000,
               .effect_handler = true,
               .effect_await_ms = 200});

  auto outcomes = CollectOutcomes(bootstrap_, inputs.delivered(), std::chrono::seconds(30));
  const int64_t commits_failed = worker_->commits_failed();
  EXPECT_EQ(StopWorker(), kExitOk);
  ASSERT_EQ(inputs.delivered().size(), 1u);
  auto it = outcomes.find(inputs.delivered().begin()->first);
  ASSERT_TRUE(it != outcomes.end()) << "no result: the workflow's timers were not looked at";
  ASSERT_EQ(it->second.size(), 1u);
  // The batches after the input's carried only timers and steps: no offset to commit, and no
  // failure either (a commit of nothing used to count as failed, rewind and restore the cell).
  EXPECT_EQ(commits_failed, 0);
  EXPECT_EQ(it->second.front().kind, "FAILED");
  EXPECT_NE(it->second.front().reason.find("FK_TEST_EFFECT_URL is not set"), std::string::npos)
      << it->second.front().reason;
}

}  // namespace
}  // namespace fleetkeeper::consumers
