// The durable workflow runtime and what reaches a running workflow: approvals (and the rule on
// who may approve), progress signals and cancels, by workflow id or by request id.
#include <gtest/gtest.h>

#include "handlers/engine/runtime.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 3;

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

}  // namespace
}  // namespace fleetkeeper::handlers::testing
