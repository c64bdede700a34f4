// The rolling patch workflow driven step by step like the runtime, over the fixture's in-memory
// fleet and Systems Manager (patch_fixture.h).
#include <gtest/gtest.h>

#include "tests/handlers/patch/patch_fixture.h"

namespace fleetkeeper::handlers::patch::testing {
namespace {

TEST_F(PatchWorkflow, PatchesALandingZoneInBatchesWithABackupBeforeEachCommand) {
  auto ids = LandingZone(8);
  const std::string stopped = fleet.AddInstance("ami-old", {{"Environment", "prod"}}).instance.id;
  fleet.instances.at(stopped).instance.state = {80, "stopped"};
  const std::string gone = fleet.AddInstance("ami-old", {{"Environment", "prod"}}).instance.id;
  fleet.instances.at(gone).instance.state = {48, "terminated"};
  const std::string offline = fleet.AddInstance("ami-old", {{"Environment", "prod"}}).instance.id;
  ssm.offline.insert(offline);
  fleet.AddInstance("ami-old", {{"Environment", "dev"}});  // another landing zone

  auto a = Admit(Request());
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  int most_drained = 0;
  auto o = Drive(a.workflow, [&] { most_drained = std::max(most_drained, Drained(ids)); });

  ASSERT_EQ(o.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(most_drained, 2);  // 25% of 8
  EXPECT_EQ(Drained(ids), 0);  // all back in service
  for (const auto& id : ids) {
    EXPECT_EQ(ssm.SendsTo(id), 1) << id;
    auto backup = std::find(ssm.calls.begin(), ssm.calls.end(), "CreateImage " + id);
    auto command = std::find(ssm.calls.begin(), ssm.calls.end(), "SendCommand " + id);
    EXPECT_LT(backup, command) << id << ": no AMI backup before its command";
    const v1::Action* final = FinalAction(a.workflow, id);
    ASSERT_NE(final, nullptr) << id;
    EXPECT_EQ(final->status(), "patched");
    EXPECT_NE(final->detail().find("missing 3 -> 0"), std::string::npos) << final->detail();
    EXPECT_NE(final->detail().find("rebooted"), std::string::npos) << final->detail();
  }
  EXPECT_EQ(FinalAction(a.workflow, stopped)->detail(), "stopped, and start_stopped is not set");
  EXPECT_EQ(FinalAction(a.workflow, gone)->detail(), "terminated");
  EXPECT_EQ(FinalAction(a.workflow, offline)->detail(), "SSM agent ConnectionLost, not Online");
  EXPECT_EQ(ssm.SendsTo(stopped) + ssm.SendsTo(gone) + ssm.SendsTo(offline), 0);
  // One IN_PROGRESS note per batch, and the waits listen for the command's progress events.
  int batches_done = 0;
  for (const auto& n : notes) batches_done += n.find("/4 done") != std::string::npos ? 1 : 0;
  EXPECT_EQ(batches_done, 4);
  EXPECT_TRUE(
      std::any_of(wait_signals_seen.begin(), wait_signals_seen.end(),
                  [](const std::string& s) { return s.rfind("ssm-command:cmd-", 0) == 0; }));
}

TEST_F(PatchWorkflow, NoNewBatchOnceFailuresExceedMaxErrors) {
  auto ids = LandingZone(8);
  ssm.failing = {ids[0], ids[2]};  // batch 1 and batch 2
  auto a = Admit(Request());
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  EXPECT_NE(o.reason.find("2 failure(s) exceed max_errors 1"), std::string::npos) << o.reason;
  // Batches 1 and 2 ran (the second failure came in batch 2); 3 and 4 never started.
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ssm.SendsTo(ids[k]), 1) << k;
  for (int k = 4; k < 8; ++k) {
    EXPECT_EQ(ssm.SendsTo(ids[k]), 0) << k;
    EXPECT_EQ(FinalAction(a.workflow, ids[k])->status(), "not-started");
  }
  const v1::Action* failed = FinalAction(a.workflow, ids[0]);
  EXPECT_EQ(failed->status(), "failed");
  EXPECT_NE(failed->detail().find("command cmd-1 ended Failed"), std::string::npos)
      << failed->detail();
  // rollback_policy instance (the default): the root volume is restored from the backup in place.
  EXPECT_NE(failed->detail().find("rolled back: root volume restored from backup ami-backup"),
            std::string::npos)
      << failed->detail();
  for (const std::string& id : {ids[0], ids[2]}) {
    const std::string backup = fleet.instances.at(id).instance.image_id;
    EXPECT_EQ(backup.rfind("ami-backup", 0), 0u) << id << " runs " << backup;
  }
  EXPECT_EQ(fleet.instances.at(ids[1]).instance.image_id, "ami-old");  // patched: not touched
  EXPECT_EQ(fleet.tasks.size(), 2u);
  EXPECT_EQ(Drained(ids), 0);  // failed instances went back into their groups
}

TEST_F(PatchWorkflow, AFailedRollbackIsReportedAndTheInstanceStillGoesBackIntoService) {
  auto ids = LandingZone(4);
  ssm.failing = {ids[0]};
  fleet.rrv_outcome = "failed";
  auto a = Admit(Request([](auto& r) { r.set_max_errors("2"); }));
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  const v1::Action* failed = FinalAction(a.workflow, ids[0]);
  EXPECT_NE(failed->detail().find("rollback from backup ami-backup"), std::string::npos)
      << failed->detail();
  EXPECT_NE(failed->detail().find(" failed: task replacevol-"), std::string::npos)
      << failed->detail();
  EXPECT_EQ(Drained(ids), 0);
}

TEST_F(PatchWorkflow, NoRollbackWithoutABackupOrBeforeTheCommand) {
  auto ids = LandingZone(4);
  ssm.failing = {ids[0]};
  auto a = Admit(Request([](auto& r) {
    r.set_max_errors("2");
    r.set_backup_ami(false);
  }));
  Drive(a.workflow);
  EXPECT_NE(FinalAction(a.workflow, ids[0])->detail().find("not rolled back: no AMI backup"),
            std::string::npos);
  EXPECT_TRUE(fleet.tasks.empty());
}

// A cancel runs the workflow's cancel step: instances drained at that moment are registered in
// their target groups again, and the result says where each one was.
TEST_F(PatchWorkflow, ACancelRegistersTheDrainedInstancesAgain) {
  auto ids = LandingZone(8);
  auto a = Admit(Request([](auto& r) { r.set_backup_ami(false); }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  for (int k = 0; k < 200 && Drained(ids) == 0; ++k) Drive(wf, {}, {}, 1);
  ASSERT_GT(Drained(ids), 0) << "never drained anything";
  // What the runtime does with a cancel: the handler's cancel step runs next.
  wf.set_cancel_requested(true);
  wf.set_cancel_reason("change window moved");
  wf.set_step(handler->CancelStep());
  wf.set_attempt(0);
  auto o = Drive(wf);
  ASSERT_EQ(o.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(o.status, v1::Result::CANCELLED);
  EXPECT_EQ(o.reason, "change window moved");
  EXPECT_EQ(Drained(ids), 0) << "a drained instance was left out of its target groups";
  const v1::Action* first = FinalAction(wf, ids[0]);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->status(), "cancelled");
  EXPECT_NE(first->detail().find("registered in its target groups again"), std::string::npos)
      << first->detail();
  EXPECT_EQ(FinalAction(wf, ids[7])->status(), "not-started");
  for (int k = 2; k < 8; ++k) EXPECT_EQ(ssm.SendsTo(ids[k]), 0) << k;
}

// A cancelled campaign reports as a finished one does: its CloudWatch metrics and the SNS summary
// of the request's topic, with where each instance was.
TEST_F(PatchWorkflow, ACancelPublishesTheSummaryAndTheMetrics) {
  auto ids = LandingZone(4);
  auto a = Admit(Request([](auto& r) {
    r.set_backup_ami(false);
    r.set_notify_topic_arn("arn:aws:sns:us-east-1:111122223333:patching");
  }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  for (int k = 0; k < 200 && Drained(ids) == 0; ++k) Drive(wf, {}, {}, 1);
  ASSERT_GT(Drained(ids), 0) << "never drained anything";
  std::vector<aws::PublishRequest> published;
  EXPECT_CALL(*cell.sns, Publish(_)).WillOnce([&](const aws::PublishRequest& r) {
    published.push_back(r);
    return Result<aws::PublishResponse>(aws::PublishResponse{"msg-1"});
  });
  std::vector<aws::PutMetricDataRequest> metrics;
  EXPECT_CALL(*cell.cloudwatch, PutMetricData(_)).WillOnce([&](const aws::PutMetricDataRequest& r) {
    metrics.push_back(r);
    return Status(Ok{});
  });
  wf.set_cancel_requested(true);
  wf.set_cancel_reason("change window moved");
  wf.set_step(handler->CancelStep());
  wf.set_attempt(0);
  auto o = Drive(wf);
  ASSERT_EQ(o.status, v1::Result::CANCELLED);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic_arn, "arn:aws:sns:us-east-1:111122223333:patching");
  EXPECT_EQ(published[0].subject, "fleetkeeper patch CANCELLED");
  EXPECT_NE(published[0].message.find("patch chg-1: CANCELLED (change window moved) with 4 "
                                      "instance(s)"),
            std::string::npos)
      << published[0].message;
  EXPECT_NE(published[0].message.find(ids[3] + " not-started"), std::string::npos)
      << published[0].message;
  ASSERT_EQ(metrics.size(), 1u);
  ASSERT_EQ(metrics[0].metrics.size(), 3u);
  EXPECT_EQ(metrics[0].metrics[0].metric_name, "InstancesPatched");
  EXPECT_EQ(metrics[0].metrics[1].metric_name, "PatchFailures");
}

TEST_F(PatchWorkflow, RollbackPolicyAbortStopsNewBatchesAtTheFirstFailure) {
  auto ids = LandingZone(8);
  ssm.failing = {ids[1]};
  auto a = Admit(Request([](auto& r) {
    r.set_max_errors("5");
    r.set_rollback_policy("abort");
  }));
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  EXPECT_NE(o.reason.find("rollback_policy abort: " + ids[1] + " failed"), std::string::npos)
      << o.reason;
  EXPECT_EQ(ssm.SendsTo(ids[0]) + ssm.SendsTo(ids[1]), 2);  // the first batch finished
  for (int k = 2; k < 8; ++k) EXPECT_EQ(ssm.SendsTo(ids[k]), 0) << k;
}

TEST_F(PatchWorkflow, AResumedStepFindsTheCommandInsteadOfSendingItAgain) {
  auto ids = LandingZone(4);
  auto a = Admit(Request([](auto& r) { r.set_backup_ami(false); }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  v1::WorkflowCheckpoint before_send = RunUntilFirstSend(wf);
  // The crash: the step's outcome (the command id) never committed; the worker resumes from the
  // checkpoint that holds only the token.
  wf = before_send;
  auto o = Drive(wf);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1) << id;
  EXPECT_TRUE(FoundAgain(wf));
}

TEST_F(PatchWorkflow, ACommandProgressEventEndsTheWaitWithoutAPoll) {
  auto ids = LandingZone(2);
  // Polls ten minutes apart: only the events can make the campaign end sooner.
  config.mutable_handlers()
      ->mutable_patch()
      ->mutable_defaults()
      ->mutable_poll_interval()
      ->set_seconds(600);
  auto a = Admit(Request([](auto& r) {
    r.set_backup_ami(false);
    r.set_max_concurrency("100%");
  }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  const int64_t start = clock.NowMs();
  std::vector<v1::Event> signals;
  StepOutcome o;
  for (int k = 0; k < 200; ++k) {
    handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
    ctx.mutable_signals() = std::move(signals);
    signals.clear();
    o = handler->RunStep(wf.step(), ctx);
    if (o.kind == StepOutcome::Kind::kFinish) break;
    if (o.kind == StepOutcome::Kind::kWait) {
      // What the runtime does when an "EC2 Command Status-change Notification" arrives for a
      // command the step waits on: deliver it and run the step now.
      for (const auto& key : o.wait_signals) {
        if (key.rfind("ssm-command:", 0) != 0) continue;
        // SSM sends the event once the command has ended: the fake's command ends too.
        auto& sent = ssm.Find(key.substr(12));
        sent.reads = std::max(sent.reads, 1);
        v1::Event e;
        e.mutable_command_progress()->set_command_id(key.substr(12));
        e.mutable_command_progress()->set_status("Success");
        signals.push_back(e);
      }
      clock.Advance(signals.empty() ? std::min<int64_t>(o.wait_ms, 1000) : 1000);
    }
    wf.set_step(o.next_step);
  }
  ASSERT_EQ(o.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_LT(clock.NowMs() - start, 600'000) << "the command wait ended by a poll, not the event";
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1);
}

TEST_F(PatchWorkflow, ApprovalFromTheRequesterIsIgnoredAndAnotherApproverLetsItStart) {
  auto ids = LandingZone(4);
  auto a = Admit(Request([](auto& r) { r.set_approval_required(true); }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
  auto o = handler->RunStep(wf.step(), ctx);  // discover
  ASSERT_EQ(o.next_step, kStepGate);
  wf.set_step(o.next_step);
  o = handler->RunStep(wf.step(), ctx);
  ASSERT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(o.wait_signals, std::vector<std::string>{"approval:" + wf.workflow_id()});
  EXPECT_GT(o.wait_ms, 0);  // the approval deadline

  v1::Event self;
  self.mutable_approval()->set_workflow_id(wf.workflow_id());
  self.mutable_approval()->set_approver("alice");
  ctx.mutable_signals() = {self};
  o = handler->RunStep(wf.step(), ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_NE(o.reason.find("approval by \"alice\" ignored"), std::string::npos) << o.reason;
  EXPECT_TRUE(o.publish_progress);
  EXPECT_TRUE(ssm.calls.empty());

  v1::Event other = self;
  other.mutable_approval()->set_approver("bob");
  o = Drive(wf, {}, {other});
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1);
}

void GateAfterFirstBatch(v1::PatchRequest& r) {
  r.set_approval_after_first_batch(true);
  r.set_backup_ami(false);
}

// approval_after_first_batch: the first batch runs, then the rest wait for an approval.
TEST_F(PatchWorkflow, AfterTheFirstBatchTheRestWaitForAnApproval) {
  auto ids = LandingZone(8);
  auto a = Admit(Request(GateAfterFirstBatch));
  v1::WorkflowCheckpoint& wf = a.workflow;
  StepOutcome o = DriveToApprovalWait(wf);
  ASSERT_EQ(o.kind, StepOutcome::Kind::kWait) << o.reason;
  EXPECT_NE(o.reason.find("waiting for an approval after the first batch"), std::string::npos)
      << o.reason;
  EXPECT_EQ(ssm.SendsTo(ids[0]) + ssm.SendsTo(ids[1]), 2);
  for (int k = 2; k < 8; ++k) EXPECT_EQ(ssm.SendsTo(ids[k]), 0) << k;
  EXPECT_EQ(Drained(ids), 0);

  v1::Event bob;
  bob.mutable_approval()->set_workflow_id(wf.workflow_id());
  bob.mutable_approval()->set_approver("bob");
  o = Drive(wf, {}, {bob});
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1) << id;
}

TEST_F(PatchWorkflow, ADeniedApprovalAfterTheFirstBatchStopsTheRest) {
  auto ids = LandingZone(8);
  auto a = Admit(Request(GateAfterFirstBatch));
  v1::WorkflowCheckpoint& wf = a.workflow;
  StepOutcome o = DriveToApprovalWait(wf);
  v1::Event no;
  no.mutable_approval()->set_workflow_id(wf.workflow_id());
  no.mutable_approval()->set_approver("bob");
  no.mutable_approval()->set_approved(false);
  o = Drive(wf, {}, {no});
  EXPECT_EQ(o.status, v1::Result::PARTIAL) << o.reason;
  EXPECT_NE(o.reason.find("approval after the first batch denied by bob"), std::string::npos)
      << o.reason;
  for (int k = 2; k < 8; ++k) EXPECT_EQ(FinalAction(wf, ids[k])->status(), "not-started") << k;
}

// Baseline health before the patch: an instance its load balancer already counts unhealthy is
// skipped with the reason; the others carry their baseline in the eligibility report.
TEST_F(PatchWorkflow, AnInstanceUnhealthyBeforeThePatchIsSkippedAndTheBaselineIsReported) {
  auto ids = LandingZone(4);
  fleet.target_groups.at(tg_a).targets[ids[0]] = "unhealthy";
  auto a = Admit(Request([](auto& r) { r.set_backup_ami(false); }));
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  const v1::Action* sick = FinalAction(a.workflow, ids[0]);
  EXPECT_EQ(sick->status(), "skipped");
  EXPECT_EQ(sick->detail().rfind("unhealthy before the patch: unhealthy in " + tg_a, 0), 0u)
      << sick->detail();
  EXPECT_EQ(ssm.SendsTo(ids[0]), 0);
  bool reported = false;
  for (const auto& act : a.workflow.actions()) {
    reported |= act.resource() == Resource(ids[1]) && act.action() == "eligibility" &&
                act.detail() == "baseline: healthy in 1 target group(s)";
  }
  EXPECT_TRUE(reported) << "no baseline in the eligibility report";
  EXPECT_NE(FinalAction(a.workflow, ids[1])->detail().find("baseline: healthy"), std::string::npos);
}

TEST_F(PatchWorkflow, ApprovalDeadlineFailsWithNothingTouched) {
  LandingZone(2);
  auto a = Admit(Request([](auto& r) { r.set_approval_required(true); }));
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::FAILED);
  EXPECT_NE(o.reason.find("no approval within"), std::string::npos) << o.reason;
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_TRUE(ssm.calls.empty());
}

TEST_F(PatchWorkflow, OutsideTheWindowTheBatchWaitsForItToOpen) {
  auto ids = LandingZone(2);
  // 1'700'000'000'000 is a Tuesday 22:13:20 UTC; the window opens at 23:00.
  auto a = Admit(Request([](auto& r) {
    r.mutable_maintenance_window()->set_start("23:00");
    r.mutable_maintenance_window()->set_end("23:30");
  }));
  int64_t first_send = 0;
  auto o = Drive(a.workflow, [&] {
    if (first_send == 0 && !ssm.commands.empty()) first_send = clock.NowMs();
  });
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_GE(first_send, 1'700'000'000'000 + (46 * 60 + 40) * 1000);
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("outside the maintenance window") != std::string::npos;
  }));
}

TEST_F(PatchWorkflow, DryRunPlansWithoutAnyMutatingCall) {
  auto ids = LandingZone(4);
  auto a = Admit(Request([](auto& r) { r.set_dry_run(true); }));
  a.workflow.set_dry_run(true);  // the runtime's decision at admission
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::DRY_RUN) << o.reason;
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_TRUE(ssm.calls.empty());
  const v1::Action* plan = FinalAction(a.workflow, ids[0]);
  ASSERT_NE(plan, nullptr);
  EXPECT_NE(plan->detail().find("batch 1/4: would back it up"), std::string::npos)
      << plan->detail();
  EXPECT_NE(plan->detail().find("drain it from " + tg_a), std::string::npos) << plan->detail();
}

TEST_F(PatchWorkflow, OverMaxTargetsIsRejectedWithTheCountAndNothingTouched) {
  LandingZone(6);
  config.mutable_commands()->set_max_targets(5);
  auto a = Admit(Request());
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::REJECTED);
  EXPECT_NE(o.reason.find("6"), std::string::npos) << o.reason;
  EXPECT_NE(o.reason.find("max_targets"), std::string::npos) << o.reason;
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_TRUE(ssm.calls.empty());
}

TEST_F(PatchWorkflow, AdmissionRejectsBadFieldsAndUnauthorizedAccountsInAnyCell) {
  auto bad = Admit(Request([](auto& r) { r.set_max_concurrency("lots"); }));
  EXPECT_EQ(bad.kind, Admission::Kind::kFinal);
  EXPECT_EQ(bad.status, v1::Result::REJECTED);
  EXPECT_NE(bad.reason.find("max_concurrency:"), std::string::npos) << bad.reason;

  // Another cell's targets fan out (fanout_test.cc); an account the commands rule refuses there
  // refuses the whole request.
  config.mutable_commands()->add_allowed_accounts(kAccount);
  auto spans = Admit(Request([](auto& r) {
    auto* t = r.add_targets();
    t->set_account("444455556666");
    t->set_landing_zone("prod");
  }));
  EXPECT_EQ(spans.status, v1::Result::REJECTED);
  EXPECT_NE(spans.reason.find("cell 444455556666/us-east-1"), std::string::npos) << spans.reason;
  EXPECT_NE(spans.reason.find("allowed_accounts"), std::string::npos) << spans.reason;
  config.mutable_commands()->clear_allowed_accounts();

  config.mutable_commands()->add_allowed_accounts("999999999999");
  auto denied = Admit(Request());
  EXPECT_EQ(denied.status, v1::Result::REJECTED);
  EXPECT_NE(denied.reason.find("allowed_accounts"), std::string::npos) << denied.reason;
}

TEST_F(PatchWorkflow, StartsStoppedInstancesWhenAskedAndPatchesThem) {
  auto ids = LandingZone(2);
  const std::string stopped = fleet.AddInstance("ami-old", {{"Environment", "prod"}}).instance.id;
  fleet.instances.at(stopped).instance.state = {80, "stopped"};
  auto a = Admit(Request([](auto& r) { r.set_start_stopped(true); }));
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(fleet.instances.at(stopped).instance.state.name, "running");
  EXPECT_EQ(ssm.SendsTo(stopped), 1);
  EXPECT_EQ(FinalAction(a.workflow, stopped)->status(), "patched");
}

// A guard alarm with on_guard_alarm rollback (the runtime sets guard_rollback between two steps):
// the patched instances are restored from their backups, the others are left as they are.
TEST_F(PatchWorkflow, AGuardAlarmRestoresThePatchedInstancesAndStartsNothingMore) {
  auto ids = LandingZone(8);
  auto a = Admit(Request([](auto& r) { r.set_max_errors("8"); }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  std::set<std::string> first_batch;
  auto o = Drive(wf, [&] {
    v1::PatchWorkflowState s;
    wf.state().UnpackTo(&s);
    if (!wf.guard_rollback().empty() || s.current_batch() < 1) return;
    for (const auto& i : s.instances()) {
      if (i.batch() == 0 && i.outcome() == kPatched) first_batch.insert(i.instance_id());
    }
    wf.set_guard_rollback("rolled back on guard alarm web-5xx (in ALARM since 2026-12-07T01:50Z)");
  });
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  // docs/safety.md, "The result": the reason leads with the alarm.
  EXPECT_EQ(o.reason.rfind("rolled back on guard alarm web-5xx (in ALARM since", 0), 0u)
      << o.reason;
  ASSERT_EQ(first_batch.size(), 2u);
  for (const auto& id : ids) {
    const v1::Action* final = FinalAction(wf, id);
    ASSERT_NE(final, nullptr) << id;
    const std::string image = fleet.instances.at(id).instance.image_id;
    if (first_batch.count(id)) {
      EXPECT_EQ(final->status(), "rolled-back") << final->detail();
      EXPECT_NE(final->detail().find("web-5xx"), std::string::npos) << final->detail();
      EXPECT_NE(final->detail().find("restored from backup"), std::string::npos) << final->detail();
      EXPECT_EQ(image.rfind("ami-backup", 0), 0u) << id << " runs " << image;
    } else {
      EXPECT_EQ(final->status(), "not-started") << id << ": " << final->detail();
      EXPECT_EQ(ssm.SendsTo(id), 0) << id;
      EXPECT_EQ(image, "ami-old") << id;
    }
  }
  EXPECT_EQ(fleet.tasks.size(), 2u);  // one restore per patched instance
  EXPECT_EQ(Drained(ids), 0);         // everyone back in service
}

// Without a backup (backup_ami false) a patched instance cannot be restored: the result says so
// and it stays patched. The next batch's instance, drained when the alarm comes but not yet sent
// its command, goes back into its target groups unpatched.
TEST_F(PatchWorkflow, AGuardAlarmCannotRestoreAnInstancePatchedWithoutABackup) {
  auto ids = LandingZone(4);
  auto a = Admit(Request([](auto& r) { r.set_backup_ami(false); }));
  v1::WorkflowCheckpoint& wf = a.workflow;
  v1::PatchInstanceState second_at_alarm;
  auto o = Drive(wf, [&] {
    v1::PatchWorkflowState s;
    wf.state().UnpackTo(&s);
    if (wf.guard_rollback().empty() && s.current_batch() >= 1) {
      second_at_alarm = s.instances(1);
      wf.set_guard_rollback(
          "rolled back on guard alarm web-5xx (in ALARM since 2026-12-07T01:50Z)");
    }
  });
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  const v1::Action* first = FinalAction(wf, ids[0]);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->status(), "patched") << first->detail();
  EXPECT_NE(first->detail().find("not rolled back: no AMI backup"), std::string::npos)
      << first->detail();
  EXPECT_TRUE(fleet.tasks.empty());
  EXPECT_EQ(ssm.SendsTo(ids[0]), 1);

  ASSERT_EQ(second_at_alarm.instance_id(), ids[1]);
  ASSERT_TRUE(second_at_alarm.deregistered()) << second_at_alarm.phase();
  ASSERT_TRUE(second_at_alarm.command_id().empty()) << second_at_alarm.phase();
  EXPECT_EQ(FinalAction(wf, ids[1])->status(), "not-started");
  EXPECT_EQ(ssm.SendsTo(ids[1]), 0);
  EXPECT_EQ(ssm.SendsTo(ids[3]), 0);
  EXPECT_EQ(Drained(ids), 0);  // the drained one is back in its group
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch::testing
