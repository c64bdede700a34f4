// The durable workflow runtime, driven batch by batch as the worker drives it (see
// runtime_fixture.h): admission, steps, timers, signals, cancel, deadline, locks, freeze, dedup,
// restore from fleet.state records, abort, schema versions and expiry.
#include "handlers/engine/runtime.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 3;

std::string IdOf(const v1::Event& e) {
  return WorkflowId(e.account(), e.region(), "scripted", e.dedup_key());
}

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

TEST(WorkflowRuntime, ApprovalSignalWakesAWaitBeforeItsTimer) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext& c) {
    return StepOutcome::Wait("second", 3600000, {"approval:" + c.workflow().workflow_id()});
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-3", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  rig.clock().Advance(1000);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u);

  Batch b = rig.Consume(kP, ApprovalFor(IdOf(ev)));
  ASSERT_EQ(b.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_THAT(b.Results()[0].reason(), HasSubstr("approval delivered"));
  rig.Commit();
  rig.Turn();
  ASSERT_EQ(RunsOf(rig.handler(), "second"), 1u);
  EXPECT_EQ(rig.handler().runs().back().signals, 1u);  // the step sees the approval
}

// The commands rule on approvals: one from the requester, or without an approver, is REJECTED
// naming the rule and never reaches the workflow, which keeps waiting for a valid one.
TEST(WorkflowRuntime, AnApprovalFromTheRequesterIsRejectedAndTheWorkflowKeepsWaiting) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext& c) {
    return StepOutcome::Wait("second", 3600000, {"approval:" + c.workflow().workflow_id()});
  });
  rig.Own(kP);
  v1::Event ev = EcsCommand("req-own", "web");
  ev.mutable_ecs_command()->set_requested_by("alice");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();

  Batch own = rig.Consume(kP, ApprovalFor(IdOf(ev)));  // approver "alice"
  auto refused = own.Results(v1::Result::REJECTED);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_THAT(refused[0].reason(), HasSubstr("alice requested this change and cannot approve it"));
  EXPECT_THAT(refused[0].reason(), HasSubstr("still waits"));
  EXPECT_EQ(refused[0].workflow_id(), IdOf(ev));
  v1::Event anonymous = ApprovalFor(IdOf(ev));
  anonymous.set_id("approval-anonymous");
  anonymous.mutable_approval()->clear_approver();
  auto nameless = rig.Consume(kP, anonymous).Results(v1::Result::REJECTED);
  ASSERT_EQ(nameless.size(), 1u);
  EXPECT_THAT(nameless[0].reason(), HasSubstr("must name its approver"));
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u) << "a refused approval woke the workflow";

  v1::Event bob = ApprovalFor(IdOf(ev));
  bob.set_id("approval-bob");
  bob.mutable_approval()->set_approver("bob");
  ASSERT_EQ(rig.Consume(kP, bob).Results(v1::Result::SUCCEEDED).size(), 1u);
  rig.Commit();
  rig.Turn();
  ASSERT_EQ(RunsOf(rig.handler(), "second"), 1u);
  EXPECT_EQ(rig.handler().runs().back().signals, 1u);  // only bob's approval reached it
}

TEST(WorkflowRuntime, WaitForASignalWithoutTimerWaitsForTheSignal) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext& c) {
    return StepOutcome::Wait("second", 0, {"approval:" + c.workflow().workflow_id()});
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-3s", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  for (int i = 0; i < 3; ++i) {
    rig.clock().Advance(60000);
    rig.Turn();
  }
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u) << "a signal-only wait ran without its signal";
  rig.Consume(kP, ApprovalFor(IdOf(ev)));
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 1u);
}

TEST(WorkflowRuntime, ProgressEventSignalWakesOnlyTheWorkflowWaitingForIt) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext& c) {
    const std::string cmd = c.workflow().trigger().ecs_command().cluster() == "a" ? "c-a" : "c-b";
    return StepOutcome::Wait("second", 3600000, {"ssm-command:" + cmd});
  });
  rig.Own(kP);
  rig.Consume(kP, EcsCommand("req-a", "a"));
  rig.Consume(kP, EcsCommand("req-b", "b"));
  rig.Commit();
  rig.Turn();

  v1::Event progress;
  progress.set_id("progress-1");
  progress.set_dedup_key("progress-1");
  progress.mutable_command_progress()->set_command_id("c-a");
  progress.mutable_command_progress()->set_status("Success");
  Batch b = rig.Consume(kP, progress);
  ASSERT_EQ(b.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_EQ(b.Results()[0].workflow_id(), IdOf(EcsCommand("req-a", "a")));
  rig.Commit();
  rig.Turn();
  auto runs = rig.handler().runs();
  ASSERT_EQ(RunsOf(rig.handler(), "second"), 1u);
  EXPECT_EQ(runs.back().workflow_id, IdOf(EcsCommand("req-a", "a")));

  v1::Event stray = progress;
  stray.set_id("progress-2");
  stray.mutable_command_progress()->set_command_id("c-unknown");
  Batch s = rig.Consume(kP, stray);
  ASSERT_EQ(s.Results(v1::Result::SKIPPED).size(), 1u);
  EXPECT_EQ(s.Results()[0].reason(), "no matching workflow");
}

TEST(WorkflowRuntime, CancelEndsTheWorkflowAtItsNextStepBoundary) {
  RuntimeRig rig;
  auto gate = std::make_shared<Gate>();
  rig.handler().On("first", [gate](StepContext&) {
    gate->Wait();
    return StepOutcome::Next("second");
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-4", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.PumpOnce();  // "first" starts and blocks
  gate->WaitEntered();

  Batch b = rig.Consume(kP, CancelFor(IdOf(ev), "operator said stop"));
  ASSERT_EQ(b.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_THAT(b.Results()[0].reason(), HasSubstr("ends at its next step"));
  gate->Release();
  rig.Turn();
  Batch end = rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u) << "a cancelled workflow started another step";
  auto cancelled = end.Results(v1::Result::CANCELLED);
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].reason(), "operator said stop");
  EXPECT_EQ(cancelled[0].correlation_id(), "req-4");  // the final result answers the request
  EXPECT_EQ(rig.runtime().live_workflows(), 0u);

  // A cancel for a finished or unknown workflow is rejected, naming it.
  v1::Event again = CancelFor(IdOf(ev), "again");
  again.set_id("cancel-2");
  Batch late = rig.Consume(kP, again);
  ASSERT_EQ(late.Results(v1::Result::REJECTED).size(), 1u);
  EXPECT_THAT(late.Results()[0].reason(), HasSubstr("finished workflow " + IdOf(ev)));
}

// A handler with a cancel step: a cancel moves the workflow to that step at its next boundary;
// the step runs (and may wait on a timer) until it finishes the workflow.
TEST(WorkflowRuntime, ACancelRunsTheHandlersCancelStepUntilItFinishes) {
  RuntimeRig rig;
  rig.handler().cancel_step = "undo";
  rig.handler().mutating = {"undo"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 3600000); });
  rig.handler().On("undo", [](StepContext& c) {
    if (c.workflow().attempt() == 0) {
      StepOutcome o = StepOutcome::Wait("undo", 5000);
      o.retry_same_step = true;
      return o;
    }
    return StepOutcome::Finish(v1::Result::CANCELLED, "undone: " + c.workflow().cancel_reason());
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-undo", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  rig.Consume(kP, CancelFor(IdOf(ev), "change window moved"));
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "undo"), 1u);
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 0u) << "a cancelled workflow ran its next step";
  EXPECT_EQ(rig.runtime().live_workflows(), 1u) << "the cancel step's wait is respected";
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "undo"), 1u) << "ran before its timer";
  rig.clock().Advance(5000);
  auto ended = rig.Turn().Results(v1::Result::CANCELLED);
  EXPECT_EQ(RunsOf(rig.handler(), "undo"), 2u);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason(), "undone: change window moved");
  EXPECT_EQ(rig.runtime().live_workflows(), 0u);
}

// A request that came in an EventBridge envelope has the envelope's id as its event id; approvals
// and cancels that name its request_id still find it.
TEST(WorkflowRuntime, ApprovalAndCancelByRequestIdFindTheWorkflowOfAWrappedRequest) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext& c) {
    return StepOutcome::Wait("second", 3600000, {"approval:" + c.workflow().workflow_id()});
  });
  rig.handler().On("second", [](StepContext&) { return StepOutcome::Wait("third", 3600000); });
  rig.Own(kP);
  v1::Event ev = EcsCommand("req-wrapped", "web");
  ev.set_id("6a7e8feb-b491-4cf7-a9f1-bf3703467718");  // the envelope's id
  ev.set_source_format("eventbridge");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();

  v1::Event approval;
  approval.set_id("approval-by-request");
  approval.set_account(ev.account());
  approval.set_region(ev.region());
  approval.mutable_approval()->set_request_id("req-wrapped");
  approval.mutable_approval()->set_approver("alice");
  Batch approved = rig.Consume(kP, approval);
  ASSERT_EQ(approved.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_EQ(approved.Results()[0].workflow_id(), IdOf(ev));
  rig.Commit();
  rig.Turn();
  ASSERT_EQ(RunsOf(rig.handler(), "second"), 1u) << "the approval did not wake the workflow";

  // The same request id from another account is another request: not this workflow.
  v1::Event elsewhere;
  elsewhere.set_id("cancel-other-account");
  elsewhere.set_account("444455556666");
  elsewhere.set_region(ev.region());
  elsewhere.mutable_cancel()->set_request_id("req-wrapped");
  auto refused = rig.Consume(kP, elsewhere).Results(v1::Result::REJECTED);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_THAT(refused[0].reason(), HasSubstr("unknown workflow for request req-wrapped"));

  v1::Event cancel;
  cancel.set_id("cancel-by-request");
  cancel.set_account(ev.account());
  cancel.set_region(ev.region());
  cancel.mutable_cancel()->set_request_id("req-wrapped");
  cancel.mutable_cancel()->set_reason("stop it");
  Batch cancelled = rig.Consume(kP, cancel);
  ASSERT_EQ(cancelled.Results(v1::Result::SUCCEEDED).size(), 1u);
  EXPECT_EQ(cancelled.Results()[0].workflow_id(), IdOf(ev));
  rig.Commit();
  auto ended = rig.Turn().Results(v1::Result::CANCELLED);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason(), "stop it");

  // A request id no workflow has: REJECTED, with the id in the reason.
  for (const char* kind : {"approval", "cancel"}) {
    v1::Event unknown;
    unknown.set_id(std::string(kind) + "-unknown");
    if (std::string(kind) == "approval") {
      unknown.mutable_approval()->set_request_id("req-nobody");
      unknown.mutable_approval()->set_approver("alice");
    } else {
      unknown.mutable_cancel()->set_request_id("req-nobody");
    }
    auto rejected = rig.Consume(kP, unknown).Results(v1::Result::REJECTED);
    ASSERT_EQ(rejected.size(), 1u) << kind;
    EXPECT_THAT(rejected[0].reason(), HasSubstr("unknown workflow for request req-nobody"));
  }
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

TEST(WorkflowRuntime, RedeliveredEventIdProducesNothing) {
  RuntimeRig rig;
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-7", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  EXPECT_TRUE(rig.Consume(kP, ev).records.empty());
  rig.Commit();
  rig.Turn();
  EXPECT_TRUE(rig.Consume(kP, ev).records.empty()) << "after the workflow finished too";
  EXPECT_EQ(rig.handler().runs().size(), 1u);
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST(WorkflowRuntime, SameDedupKeyIsSkippedNamingTheOwner) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 5000); });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-8", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  v1::Event twin = ev;
  twin.set_id("eventbridge-envelope-2");  // another carrier of the same request
  Batch b = rig.Consume(kP, twin);
  auto skipped = b.Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].workflow_id(), IdOf(ev));
  EXPECT_THAT(skipped[0].reason(), HasSubstr("workflow " + IdOf(ev) + " owns ecs:req-8"));
  EXPECT_EQ(b.Checkpoints().size(), 0u);
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);
}

TEST(WorkflowRuntime, InstallRebuildsWorkflowsTimersLocksAndDedupFromRecords) {
  RuntimeRig rig;
  rig.handler().mutating = {"first", "second"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 5000); });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-ia", "shared");
  const v1::Event gone = EcsCommand("req-ig", "other");
  rig.Consume(kP, a);
  rig.Consume(kP, gone);
  rig.Commit();
  rig.Turn();  // a holds asg:shared and waits 5 s
  const int64_t due = rig.clock().NowMs() + 5000;
  // A finished workflow removed by tombstones (as expiry writes them) must not come back.
  auto records = rig.state(kP);
  records.emplace_back("wf:" + IdOf(gone), "");
  records.emplace_back("dedup:ecs:req-ig", "");
  rig.set_state(kP, records);

  // A new owner: drop everything and restore from the records.
  rig.runtime().Drop(kP);
  EXPECT_FALSE(rig.runtime().Owns(kP));
  rig.Restore(kP);
  EXPECT_TRUE(rig.runtime().Owns(kP));
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);

  // Event-id dedup survived: the same event produces nothing.
  EXPECT_TRUE(rig.Consume(kP, a).records.empty());
  // Dedup-key records survived: another carrier of the request is SKIPPED naming the owner.
  v1::Event twin = a;
  twin.set_id("other-carrier");
  auto skipped = rig.Consume(kP, twin).Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].workflow_id(), IdOf(a));
  // The lock survived: a new workflow on the same resource waits for the restored holder.
  const v1::Event c = EcsCommand("req-ic", "shared");
  rig.Consume(kP, c);
  rig.Commit();
  auto notes = rig.Turn().Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("held by " + IdOf(a)));
  // The timer survived: nothing runs before it is due, the step runs once it is.
  const size_t before = RunsOf(rig.handler(), "second");
  rig.clock().Advance(due - rig.clock().NowMs() - 1);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), before);
  rig.clock().Advance(1);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), before + 1);
  // The tombstoned workflow did not come back: its request is new again (under another event id:
  // ids expire by time, see EventIdsExpireByTime...).
  v1::Event gone_again = gone;
  gone_again.set_id("req-ig-again");
  Batch again = rig.Consume(kP, gone_again);
  EXPECT_EQ(again.Results(v1::Result::IN_PROGRESS).size(), 1u);
}

// Dry run belongs to the workflow: decided at admission, kept in its checkpoint, and the same after
// a restart under the other setting, either way.
TEST(WorkflowRuntime, DryRunIsTheWorkflowsOwnAcrossARestartWithTheOtherSetting) {
  for (const bool admitted_dry : {true, false}) {
    SCOPED_TRACE(admitted_dry ? "admitted dry" : "admitted for real");
    RuntimeOptions first = RuntimeRig::DefaultOptions();
    first.dry_run = admitted_dry;
    RuntimeRig before(first);
    before.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 1000); });
    before.Own(kP);
    const v1::Event ev = EcsCommand(admitted_dry ? "req-dry" : "req-real", "web");
    Batch admitted = before.Consume(kP, ev);
    ASSERT_EQ(admitted.Checkpoints().size(), 1u);
    ASSERT_TRUE(admitted.Checkpoints()[0].has_dry_run());
    EXPECT_EQ(admitted.Checkpoints()[0].dry_run(), admitted_dry);
    before.Commit();
    before.Turn();  // "first" runs and waits

    RuntimeOptions second = RuntimeRig::DefaultOptions();
    second.dry_run = !admitted_dry;
    RuntimeRig after(second);
    after.set_state(kP, before.state(kP));
    after.Restore(kP);
    after.clock().Advance(before.clock().NowMs() - after.clock().NowMs() + 1000);
    after.Turn();
    auto runs = after.handler().runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].step, "second");
    EXPECT_EQ(runs[0].dry_run, admitted_dry);
  }
}

TEST(WorkflowRuntime, ARequestsOwnDryRunMakesItsWorkflowDry) {
  RuntimeRig rig;  // the worker runs for real
  rig.Own(kP);
  v1::Event ev = EcsCommand("req-asks-dry", "web");
  ev.mutable_ecs_command()->set_dry_run(true);
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  auto runs = rig.handler().runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].dry_run);
}

// DESIGN.md: an event older (time) than the last one applied to the same resource is SKIPPED as
// stale, and the mark survives a restore.
TEST(WorkflowRuntime, AnEventOlderThanTheLastAppliedToItsResourceIsSkippedStale) {
  RuntimeRig rig(RuntimeRig::DefaultOptions(), v1::Event::kAlarm);
  rig.Own(kP);
  Batch first = rig.Consume(kP, AlarmAt("a-2", "2026-12-06T10:00:02Z", "ALARM"));
  ASSERT_EQ(first.Results(v1::Result::IN_PROGRESS).size(), 1u);
  rig.Commit();
  rig.Turn();

  // Delivered late: the state change before the one already applied.
  auto stale = rig.Consume(kP, AlarmAt("a-1", "2026-12-06T10:00:01Z", "OK")).Results();
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].status(), v1::Result::SKIPPED);
  EXPECT_THAT(stale[0].reason(), HasSubstr("stale"));
  EXPECT_THAT(stale[0].reason(),
              HasSubstr("alarm:arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-5xx"));
  // The same instant is not older; a later one is applied and moves the mark.
  Batch same = rig.Consume(kP, AlarmAt("a-2b", "2026-12-06T10:00:02Z", "OK"));
  EXPECT_EQ(same.Results(v1::Result::IN_PROGRESS).size(), 1u);
  Batch later = rig.Consume(kP, AlarmAt("a-3", "2026-12-06T10:00:03Z", "ALARM"));
  EXPECT_EQ(later.Results(v1::Result::IN_PROGRESS).size(), 1u);
  rig.Commit();
  rig.Turn();

  // A new owner restores the mark from fleet.state.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  const v1::Event late = AlarmAt("a-2c", "2026-12-06T10:00:02Z", "INSUFFICIENT_DATA");
  auto after = rig.Consume(kP, late).Results();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].status(), v1::Result::SKIPPED);
  EXPECT_THAT(after[0].reason(), HasSubstr("stale"));
  // An alarm's time is its state change time, to the millisecond: an EventBridge envelope's
  // `time` in whole seconds does not make a later change look older.
  v1::Event via_sns = AlarmAt("a-4", "2026-12-06T10:00:04.500Z", "OK");
  EXPECT_EQ(rig.Consume(kP, via_sns).Results(v1::Result::IN_PROGRESS).size(), 1u);
  v1::Event via_eventbridge = AlarmAt("a-5", "2026-12-06T10:00:04Z", "ALARM");
  via_eventbridge.mutable_alarm()->set_state_time("2026-12-06T10:00:04.700Z");
  EXPECT_EQ(rig.Consume(kP, via_eventbridge).Results(v1::Result::IN_PROGRESS).size(), 1u);
  // Another resource has a mark of its own.
  v1::Event other = AlarmAt("b-1", "2026-12-06T09:00:00Z", "ALARM");
  other.mutable_alarm()->set_alarm_arn("arn:aws:cloudwatch:us-east-1:111122223333:alarm:db-cpu");
  EXPECT_EQ(rig.Consume(kP, other).Results(v1::Result::IN_PROGRESS).size(), 1u);
}

TEST(WorkflowRuntime, AbortDropsTouchedPartitionsAndDiscardsStaleCompletions) {
  RuntimeRig rig;
  auto gate = std::make_shared<Gate>();
  std::atomic<int> gated{0};
  rig.handler().On("first", [gate, &gated](StepContext&) {
    if (gated++ == 0) gate->Wait();
    return StepOutcome::Next("second");
  });
  rig.Own(kP);
  rig.Own(kP + 1);
  const v1::Event ev = EcsCommand("req-9", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  rig.PumpOnce();  // "first" starts and blocks
  gate->WaitEntered();

  // Another event of the same partition lands in the batch, then the batch aborts.
  rig.Consume(kP, EcsCommand("req-10", "web2"));
  auto dropped = rig.Abort();
  EXPECT_EQ(dropped, (std::vector<int32_t>{kP}));
  EXPECT_FALSE(rig.runtime().Owns(kP));
  EXPECT_TRUE(rig.runtime().Owns(kP + 1)) << "an untouched partition is kept";

  rig.Restore(kP);  // what the worker does next
  EXPECT_EQ(rig.runtime().live_workflows(), 1u) << "req-10 never committed";
  gate->Release();
  rig.Settle();
  // The blocked step's completion belonged to the dropped state: discarded, no checkpoint.
  // The restored workflow runs "first" again (same attempt, so the same idempotency token).
  rig.Commit();
  rig.Turn();
  auto runs = rig.handler().runs();
  std::vector<StepRun> firsts;
  for (const auto& r : runs) {
    if (r.step == "first") firsts.push_back(r);
  }
  ASSERT_EQ(firsts.size(), 2u);
  EXPECT_EQ(firsts[0].token, firsts[1].token);
  EXPECT_EQ(rig.committed().Checkpoints().size(), 3u)  // creation, after first, final
      << "the stale completion must not write a checkpoint";
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
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

TEST(WorkflowRuntime, FinishedWorkflowsAndDedupRecordsExpireWithTombstones) {
  RuntimeOptions o = RuntimeRig::DefaultOptions();
  o.dedup_retention_ms = 3600000;
  RuntimeRig rig(o);
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-13", "web");
  const int64_t seen_at = rig.clock().NowMs();
  rig.Consume(kP, ev);
  rig.Commit();
  rig.Turn();
  ASSERT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
  rig.clock().Advance(3600000 - 1000);
  EXPECT_TRUE(rig.Turn().Tombstones().empty()) << "within retention";
  rig.clock().Advance(120000);
  auto tombstones = rig.Turn().Tombstones();
  std::sort(tombstones.begin(), tombstones.end());
  EXPECT_EQ(tombstones,
            (std::vector<std::string>{"dedup:ecs:req-13", SeenEventsRecord(seen_at, "req-13"),
                                      "wf:" + IdOf(ev)}));
  // A restore from the compacted log sees none of it: the request id is free again.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_EQ(rig.Consume(kP, ev).Results(v1::Result::IN_PROGRESS).size(), 1u);
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

// The SeenEvents records of fleet.state partition p: key -> ids, in offset order.
std::vector<std::pair<std::string, std::vector<std::string>>> SeenRecords(RuntimeRig& rig,
                                                                          int32_t p) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [key, value] : rig.state(p)) {
    if (key.rfind("seen:", 0) != 0 || value.empty()) continue;
    v1::StateRecord sr;
    EXPECT_TRUE(sr.ParseFromString(value)) << key;
    EXPECT_EQ(sr.record_case(), v1::StateRecord::kSeen) << key;
    out.emplace_back(
        key, std::vector<std::string>(sr.seen().event_ids().begin(), sr.seen().event_ids().end()));
  }
  return out;
}

TEST(WorkflowRuntime, EventIdsAreWrittenOnceARecordPerPartitionAndBatch) {
  RuntimeRig rig;
  constexpr int32_t kQ = kP + 1;
  rig.Own(kP);
  rig.Own(kQ);
  const int64_t t0 = rig.clock().NowMs();
  for (const char* w : {"a", "b", "c"}) {
    rig.Consume(kP, ApprovalFor(std::string("111122223333/us-east-1/") + w));
  }
  rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/d"));
  rig.clock().Advance(40);
  rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/e"));
  rig.Commit();

  const std::string a = ApprovalFor("111122223333/us-east-1/a").id();
  const std::string d = ApprovalFor("111122223333/us-east-1/d").id();
  auto p = SeenRecords(rig, kP);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].first, SeenEventsRecord(t0, a)) << "named by the newest time and first id";
  EXPECT_EQ(p[0].second, (std::vector<std::string>{a, ApprovalFor("111122223333/us-east-1/b").id(),
                                                   ApprovalFor("111122223333/us-east-1/c").id()}));
  auto q = SeenRecords(rig, kQ);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].first, SeenEventsRecord(t0 + 40, d));
  EXPECT_EQ(q[0].second.size(), 2u);

  // A batch without work items writes none.
  rig.Turn();
  EXPECT_EQ(SeenRecords(rig, kP).size(), 1u);
  EXPECT_EQ(SeenRecords(rig, kQ).size(), 1u);

  // Redeliveries get nothing, before and after a restore from the records.
  EXPECT_TRUE(rig.Consume(kP, ApprovalFor("111122223333/us-east-1/b")).records.empty());
  rig.runtime().Drop(kQ);
  rig.Restore(kQ);
  EXPECT_TRUE(rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/e")).records.empty());
  EXPECT_EQ(rig.Consume(kQ, ApprovalFor("111122223333/us-east-1/f")).Results().size(), 1u);
}

TEST(WorkflowRuntime, AnAbortedBatchWritesNoEventIdsAndForgetsThem) {
  RuntimeRig rig;
  rig.Own(kP);
  const v1::Event ev = ApprovalFor("111122223333/us-east-1/lost");
  rig.Consume(kP, ev);
  EXPECT_EQ(rig.Abort(), (std::vector<int32_t>{kP}));
  rig.Restore(kP);
  rig.Commit();
  EXPECT_TRUE(SeenRecords(rig, kP).empty());
  // Read again after the abort, the event gets its outcome.
  EXPECT_EQ(rig.Consume(kP, ev).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();
  ASSERT_EQ(SeenRecords(rig, kP).size(), 1u);
  EXPECT_EQ(SeenRecords(rig, kP)[0].second, std::vector<std::string>{ev.id()});
}

TEST(WorkflowRuntime, ALargeBatchsEventIdsAreSplitOverRecordsUnderTheSizeLimit) {
  RuntimeRig rig;
  rig.Own(kP);
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) {
    v1::Event ev = ApprovalFor(fmt::format("111122223333/us-east-1/{:0>120}", i));
    ids.push_back(ev.id());
    rig.Consume(kP, ev);
  }
  rig.Commit();
  auto records = SeenRecords(rig, kP);
  ASSERT_GE(records.size(), 2u) << "3000 ids of ~150 bytes";
  std::vector<std::string> all;
  for (const auto& [key, part] : records) {
    ASSERT_FALSE(part.empty());
    EXPECT_EQ(key.substr(key.find('/') + 1), part.front()) << "named by its first id";
    size_t bytes = 0;
    for (const auto& id : part) bytes += id.size();
    EXPECT_LE(bytes, 300u * 1024) << key;
    all.insert(all.end(), part.begin(), part.end());
  }
  EXPECT_EQ(all, ids) << "every id once, in order";
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.first);
  EXPECT_EQ(keys.size(), records.size()) << "distinct keys: compaction keeps each";
}

TEST(WorkflowRuntime, EventIdsExpireByTimeWhateverTheirRecordAndAnIdSeenAgainIsKept) {
  RuntimeOptions o = RuntimeRig::DefaultOptions();
  o.dedup_retention_ms = 3600000;
  RuntimeRig rig(o);
  rig.Own(kP);
  // A record of the per-id form written before SeenEvents, restored and expired like the others.
  v1::StateRecord legacy;
  legacy.mutable_dedup()->set_event_id("old-id");
  legacy.mutable_dedup()->set_at_ms(rig.clock().NowMs());
  rig.set_state(kP, {{EventIdRecord("old-id"), legacy.SerializeAsString()}});
  rig.Restore(kP);
  const v1::Event x = ApprovalFor("111122223333/us-east-1/x");
  rig.Consume(kP, x);
  rig.Commit();
  v1::Event old = ApprovalFor("111122223333/us-east-1/old");
  old.set_id("old-id");
  EXPECT_TRUE(rig.Consume(kP, old).records.empty()) << "the per-id record is still read";
  const std::string first_key = SeenRecords(rig, kP).at(0).first;

  rig.clock().Advance(3600000 + 61000);
  auto tombstones = rig.Turn().Tombstones();
  std::sort(tombstones.begin(), tombstones.end());
  EXPECT_EQ(tombstones, (std::vector<std::string>{EventIdRecord("old-id"), first_key}));
  // Past the retention the id is free again, and a new record holds it.
  EXPECT_EQ(rig.Consume(kP, x).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();

  // A restore of the log before compaction (old record, its tombstone, the new record) keeps the
  // id: the new record's time, not the old record's tombstone, decides.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_TRUE(rig.Consume(kP, x).records.empty());
  // And a restore of an expired record that has no tombstone yet forgets its ids.
  auto only_old = rig.state(kP);
  std::erase_if(only_old,
                [&](const auto& kv) { return kv.first != first_key || kv.second.empty(); });
  ASSERT_EQ(only_old.size(), 1u);
  rig.set_state(kP, only_old);
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  EXPECT_EQ(rig.Consume(kP, x).Results(v1::Result::REJECTED).size(), 1u);
  rig.Commit();
  rig.clock().Advance(61000);
  auto late = rig.Turn().Tombstones();
  EXPECT_EQ(late, std::vector<std::string>{first_key}) << "the expired record is tombstoned";
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
