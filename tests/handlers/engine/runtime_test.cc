// The durable workflow runtime, driven batch by batch as the worker drives it (see
// runtime_fixture.h): admission, steps, timers, deadline, locks, freeze, retries, schema versions.
// Signals, approvals and cancels are in runtime_signals_test.cc; dedup, restore, abort and expiry
// in runtime_state_test.cc.
#include <gtest/gtest.h>

#include <algorithm>

#include "handlers/engine/runtime.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 3;

TEST(WorkflowRuntime, AdmissionWritesCheckpointAndProgressAndRunsNothingBeforeCommit) {
  RuntimeRig rig;
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-1", "web");
  Batch b = rig.Consume(kP, ev);

  auto cps = b.Checkpoints();
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].workflow_id(), IdOf(ev));
  EXPECT_EQ(cps[0].step(), "first");
  EXPECT_EQ(cps[0].schema_version(), kCheckpointSchemaVersion);
  EXPECT_EQ(cps[0].cell(), "111122223333/us-east-1");
  EXPECT_GT(cps[0].deadline_ms(), rig.clock().NowMs());
  for (const auto& r : b.records) {
    if (r.topic == kStateTopic) {
      EXPECT_EQ(r.partition, kP) << r.key;  // explicit partition
    }
  }
  // The event id is written when the batch closes (EndBatch), with the batch's other ids.
  EXPECT_EQ(b.StateKeys(), (std::set<std::string>{"dedup:ecs:req-1", "wf:" + IdOf(ev)}));
  auto results = b.Results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status(), v1::Result::IN_PROGRESS);
  EXPECT_EQ(results[0].workflow_id(), IdOf(ev));
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);

  // Until the creation commits, no step may run (a crash would redo the admission).
  rig.Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  rig.Settle();
  EXPECT_TRUE(rig.handler().runs().empty());

  rig.Commit();
  Batch after = rig.Turn();
  ASSERT_EQ(rig.handler().runs().size(), 1u);
  EXPECT_EQ(rig.handler().runs()[0].step, "first");
  ASSERT_EQ(after.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_EQ(after.Results(v1::Result::SUCCEEDED)[0].correlation_id(), "req-1");
  EXPECT_EQ(rig.runtime().live_workflows(), 0u);
}

TEST(WorkflowRuntime, NextWaitFinishWithTimersOnTheClock) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("second"); });
  rig.handler().On("second", [](StepContext&) { return StepOutcome::Wait("third", 1000); });
  rig.handler().On("third", [](StepContext&) {
    return StepOutcome::Finish(v1::Result::SUCCEEDED, "all three done");
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-2", "web");
  rig.Consume(kP, ev);
  rig.Commit();

  Batch b1 = rig.Settle();
  ASSERT_EQ(b1.Checkpoints().size(), 1u);
  EXPECT_EQ(b1.Checkpoints()[0].step(), "second");
  // "second" waits for the checkpoint of "first" to commit.
  rig.Settle();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u);
  rig.Commit();

  Batch b2 = rig.Turn();
  ASSERT_EQ(b2.Checkpoints().size(), 1u);
  const v1::WorkflowCheckpoint waiting = b2.Checkpoints()[0];
  EXPECT_EQ(waiting.step(), "third");
  EXPECT_EQ(waiting.due_at_ms(), rig.clock().NowMs() + 1000);
  EXPECT_THAT(waiting.waiting_on(), HasSubstr("timer"));

  rig.clock().Advance(999);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "third"), 0u);
  rig.clock().Advance(2);
  Batch done = rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "third"), 1u);
  auto finals = done.Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].reason(), "all three done");
  EXPECT_EQ(finals[0].workflow_id(), IdOf(ev));
  ASSERT_EQ(done.Checkpoints().size(), 1u);
  EXPECT_TRUE(done.Checkpoints()[0].has_final_result());
  // Nothing runs any more.
  rig.clock().Advance(100000);
  rig.Turn();
  EXPECT_EQ(rig.handler().runs().size(), 3u);
}

TEST(WorkflowRuntime, DeadlineFailsAWaitingWorkflow) {
  RuntimeOptions o = RuntimeRig::DefaultOptions();
  o.workflow_deadline_ms = 10000;
  RuntimeRig rig(o);
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 60000); });
  rig.Own(kP);
  rig.Consume(kP, EcsCommand("req-5", "web"));
  rig.Commit();
  rig.Turn();
  rig.clock().Advance(10000);
  EXPECT_TRUE(rig.Turn().Results(v1::Result::FAILED).empty());
  rig.clock().Advance(1);
  auto failed = rig.Turn().Results(v1::Result::FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason(), "deadline");
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u);
}

TEST(WorkflowRuntime, LockedResourceSerializesMutatingStepsAndSaysWhoHoldsIt) {
  RuntimeRig rig;
  rig.handler().mutating = {"first", "second"};
  rig.handler().On("first", [](StepContext&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return StepOutcome::Wait("second", 1000);
  });
  rig.handler().On("second", [](StepContext&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return StepOutcome::Finish(v1::Result::SUCCEEDED, "done");
  });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-la", "shared");
  const v1::Event b = EcsCommand("req-lb", "shared");
  const v1::Event other = EcsCommand("req-lc", "elsewhere");
  rig.Consume(kP, a);
  rig.Consume(kP, b);
  rig.Consume(kP, other);
  rig.Commit();

  Batch first = rig.Turn();
  // One of a/b holds "asg:shared" for its whole life; the other waits and says for whom.
  auto notes = first.Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("waiting for asg:shared (held by "));
  const std::string holder = notes[0].workflow_id() == IdOf(a) ? IdOf(b) : IdOf(a);
  EXPECT_THAT(notes[0].reason(), HasSubstr(holder));
  ASSERT_EQ(first.Checkpoints().size(), 3u);      // two that ran, and the waiter's hold
  EXPECT_EQ(RunsOf(rig.handler(), "first"), 2u);  // the holder and the unrelated workflow

  for (int i = 0; i < 6; ++i) {
    rig.clock().Advance(1000);
    rig.Turn();
  }
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 3u);
  EXPECT_EQ(rig.handler().max_active("asg:shared"), 1);
  // The waiter started only after the holder finished.
  auto runs = rig.handler().runs();
  auto holder_done = std::find_if(runs.begin(), runs.end(), [&](const StepRun& r) {
    return r.workflow_id == holder && r.step == "second";
  });
  auto waiter_start = std::find_if(runs.begin(), runs.end(), [&](const StepRun& r) {
    return r.workflow_id != holder && r.step == "first" && r.workflow_id != IdOf(other);
  });
  EXPECT_LT(holder_done - runs.begin(), waiter_start - runs.begin());
  // The note is published once, not at every pump.
  size_t waiting_notes = 0;
  for (const auto& r : rig.committed().Results(v1::Result::IN_PROGRESS)) {
    waiting_notes += r.reason().find("waiting for asg:shared") != std::string::npos;
  }
  EXPECT_EQ(waiting_notes, 1u);
}

TEST(WorkflowRuntime, FreezeHoldsMutatingStepsOnly) {
  RuntimeRig rig;
  rig.handler().mutating = {"act"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.Own(kP);
  rig.Consume(kP, EcsCommand("req-6", "web"), /*frozen=*/true);
  rig.Commit();
  rig.Turn(/*frozen=*/true);
  EXPECT_EQ(RunsOf(rig.handler(), "first"), 1u) << "a read-only step runs while frozen";
  Batch held = rig.Turn(/*frozen=*/true);
  rig.Turn(/*frozen=*/true);
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 0u);
  auto notes = held.Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].reason(), "frozen: mutating step act held");
  // The hold is in fleet.state too, where `fleetkeeper workflows` reads it.
  ASSERT_EQ(held.Checkpoints().size(), 1u);
  EXPECT_EQ(held.Checkpoints()[0].waiting_on(), "frozen: mutating step act held");
  EXPECT_EQ(held.Checkpoints()[0].step(), "act");

  auto done = rig.Turn(/*frozen=*/false).Results(v1::Result::SUCCEEDED);
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u);
  EXPECT_EQ(done.size(), 1u);
}

TEST(WorkflowRuntime, AHandlerExemptFromFreezeRunsItsMutatingStepsWhileFrozen) {
  RuntimeRig rig;
  rig.handler().mutating = {"act"};
  rig.handler().exempt_from_freeze = true;
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.Own(kP);
  rig.Consume(kP, EcsCommand("req-exempt", "web"), /*frozen=*/true);
  rig.Commit();
  rig.Turn(/*frozen=*/true);
  rig.Turn(/*frozen=*/true);
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u);
}

TEST(WorkflowRuntime, UnknownHandlerAndNewerSchemaFailWithAReason) {
  RuntimeRig rig;
  v1::WorkflowCheckpoint orphan =
      NewWorkflow(EcsCommand("req-11", "web"), "retired", "retired_handler", "first",
                  google::protobuf::StringValue(), rig.clock().NowMs());
  v1::WorkflowCheckpoint future =
      NewWorkflow(EcsCommand("req-12", "web"), "scripted", "scripted", "first",
                  google::protobuf::StringValue(), rig.clock().NowMs());
  future.set_schema_version(kCheckpointSchemaVersion + 1);
  std::vector<std::pair<std::string, std::string>> records;
  for (const auto& cp : {orphan, future}) {
    v1::StateRecord sr;
    *sr.mutable_workflow() = cp;
    records.emplace_back("wf:" + cp.workflow_id(), sr.SerializeAsString());
  }
  records.emplace_back("wf:garbage", "\xff\xff not a record");
  rig.runtime().Install(kP, records);
  auto failed = rig.Turn().Results(v1::Result::FAILED);
  ASSERT_EQ(failed.size(), 2u);
  std::map<std::string, std::string> why;
  for (const auto& r : failed) why[r.correlation_id()] = r.reason();
  EXPECT_EQ(why["req-11"], "no workflow handler named retired_handler in this worker");
  EXPECT_THAT(why["req-12"], HasSubstr("schema version 2 is newer than this worker's 1"));
  EXPECT_TRUE(rig.handler().runs().empty());
}

TEST(WorkflowRuntime, RetrySameStepBumpsTheAttemptAndTheToken) {
  RuntimeRig rig;
  std::atomic<int> calls{0};
  rig.handler().On("first", [&calls](StepContext&) {
    if (calls++ < 2) {
      StepOutcome o = StepOutcome::Wait("first", 100);
      o.retry_same_step = true;
      return o;
    }
    return StepOutcome::Finish(v1::Result::SUCCEEDED, "third time");
  });
  rig.Own(kP);
  rig.Consume(kP, EcsCommand("req-14", "web"));
  rig.Commit();
  for (int i = 0; i < 4; ++i) {
    rig.Turn();
    rig.clock().Advance(100);
  }
  auto runs = rig.handler().runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].attempt, 0u);
  EXPECT_EQ(runs[2].attempt, 2u);
  EXPECT_NE(runs[0].token, runs[1].token);
  EXPECT_NE(runs[1].token, runs[2].token);
}

TEST(WorkflowRuntime, WorkItemForAPartitionNotRestoredFailsInsteadOfGuessing) {
  RuntimeRig rig;
  auto results = rig.Consume(7, EcsCommand("req-15", "web")).Results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status(), v1::Result::FAILED);
  EXPECT_THAT(results[0].reason(), HasSubstr("not restored"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
