// The actions' steps, run the way the runtime runs them (RunToEnd over a checkpoint, a manual
// clock), against the stateful fake fleet: what the fleet looks like afterwards, what the result
// says, and that redelivery, dry run and failures behave. scale_out, replace_instance and
// reboot_instance here; ECS and CodeDeploy in steps_deploy_test.cc; notify, metrics and repeats in
// steps_repeat_test.cc.
#include <gtest/gtest.h>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/steps.h"
#include "tests/handlers/self_healing/steps_fixture.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

using handlers::testing::FakeStepContext;
using handlers::testing::RunToEnd;
using testing::AddRule;
using testing::AlarmEvent;
using testing::ApiAlarm;
using testing::BaseConfig;
using testing::kTopic;
using testing::kWebAsg;
using testing::Secs;
using testing::StepsTest;

// ---- scale_out -----------------------------------------------------------------------------

TEST_F(StepsTest, ScaleOutByOneReachesTheTargetAndVerifiesIt) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 3);
  EXPECT_NE(Final(out).reason.find("from 2 to 3"), std::string::npos) << Final(out).reason;
  const v1::Action* verify = FindAction(wf, "verify", "ok");
  ASSERT_NE(verify, nullptr);
  EXPECT_NE(verify->detail().find("3 InService"), std::string::npos);
  // RecoveryActions +1 in the configured namespace.
  ASSERT_EQ(fleet_.metrics.size(), 1u);
  EXPECT_EQ(fleet_.metrics[0].metric_namespace, "FleetKeeper/SelfHealing");
  EXPECT_EQ(fleet_.metrics[0].metrics[0].metric_name, "RecoveryActions");
}

TEST_F(StepsTest, ScaleOutIsCappedAtMaxSizeAndNeverLowers) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(5);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  auto wf = Admit(Cpu(0));
  Run(wf);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 4);

  // "to: 3" on a group already at 4 does not lower it.
  v1::WorkerConfig to_config = BaseConfig();
  AddRule(to_config, "cpu-to", "*HighCPU*", "scale_out")->mutable_action()->set_to(3);
  config_ = to_config;
  auto wf2 = Admit(Cpu(1));
  auto out = Run(wf2);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 4);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_NE(Final(out).reason.find("no change"), std::string::npos) << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 1);
}

TEST_F(StepsTest, ScaleOutAtMaxSizeChangesNothing) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 4, 4);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_NE(Final(out).reason.find("already at MaxSize 4"), std::string::npos);
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 0);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 4);
}

TEST_F(StepsTest, RedeliveredSetStepDoesNotScaleTwice) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  auto wf = Admit(Cpu(0));
  RunUntil(wf, "scale_out.set");
  // The checkpoint taken before SetDesiredCapacity, as the runtime would have committed it.
  const v1::WorkflowCheckpoint checkpoint = wf;
  v1::HealingWorkflowState s;
  ASSERT_TRUE(checkpoint.state().UnpackTo(&s));
  EXPECT_EQ(s.actions(0).target_capacity(), 3);

  SelfHealingHandler handler(config_);
  {
    FakeStepContext ctx(&wf, &cell_.clients, &clock_);
    handler.RunStep("scale_out.set", ctx);  // acted, then "crashed" before its checkpoint
  }
  ASSERT_EQ(fleet_.group("web-asg").desired_capacity, 3);
  // Resume from the checkpoint: the same step runs again, and a redelivered plan step too.
  v1::WorkflowCheckpoint resumed = checkpoint;
  auto out = Run(resumed);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 3);
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 1);
}

TEST_F(StepsTest, ScaleOutVerificationTimesOutAsFailed) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  *r->mutable_verify_timeout() = Secs(60);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.groups_launch = false;  // the group never gets its third instance
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("verification timed out after 60 s"), std::string::npos)
      << Final(out).reason;
  EXPECT_NE(Final(out).reason.find("2 InService"), std::string::npos);
  ASSERT_EQ(fleet_.metrics.size(), 1u);
  EXPECT_EQ(fleet_.metrics[0].metrics[0].metric_name, "RecoveryFailures");
}

TEST_F(StepsTest, AwsErrorFailsTheWorkflowWithIt) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  Error denied(ErrorCode::kAws, "User is not authorized to perform autoscaling:SetDesiredCapacity");
  denied.aws_code = "AccessDenied";
  denied.request_id = "req-123";
  fleet_.FailOn("SetDesiredCapacity", denied, handlers::testing::FakeAccount::kAlways);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("AccessDenied"), std::string::npos) << Final(out).reason;
  const v1::Action* failed = FindAction(wf, "scale_out", "failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->aws_request_id(), "req-123");
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 2);
}

TEST_F(StepsTest, RetriableErrorsAreRetriedThenSucceed) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  Error throttled(ErrorCode::kThrottled, "Rate exceeded", /*retry=*/true);
  fleet_.FailOn("DescribeAutoScalingGroups", throttled, handlers::testing::FakeAccount::kAlways);
  auto wf = Admit(Cpu(0));
  SelfHealingHandler handler(config_);
  FakeStepContext ctx(&wf, &cell_.clients, &clock_);
  StepOutcome o = handler.RunStep("scale_out.plan", ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_TRUE(o.retry_same_step);
  fleet_.failures.clear();
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 3);
}

TEST_F(StepsTest, DryRunListsWhatWouldBeDoneAndMutatesNothing) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  EXPECT_CALL(*cell_.autoscaling, SetDesiredCapacity(::testing::_)).Times(0);
  EXPECT_CALL(*cell_.cloudwatch, PutMetricData(::testing::_)).Times(0);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf, /*dry_run=*/true);
  EXPECT_EQ(Final(out).status, v1::Result::DRY_RUN);
  EXPECT_NE(Final(out).reason.find("would set desired capacity of web-asg from 2 to 3"),
            std::string::npos)
      << Final(out).reason;
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 2);
}

// A workflow admitted for real stays real when the worker restarts with dry run on: the
// checkpoint's setting wins over the worker's.
TEST_F(StepsTest, AWorkflowAdmittedForRealDoesNotTurnDryUnderADryWorker) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  auto wf = Admit(Cpu(0));
  wf.set_dry_run(false);  // as the runtime records it at admission
  SelfHealingHandler handler(config_);
  auto out = RunToEnd(handler, wf, cell_.clients, clock_, /*worker dry_run=*/true);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 3);
}

TEST_F(StepsTest, ConfigDryRunIsCarriedInTheWorkflow) {
  config_.set_dry_run(true);
  AddRule(config_, "fail", "*StatusCheck*", "reboot_instance");
  fleet_.AddStandalone("i-0standalone");
  EXPECT_CALL(*cell_.ec2, RebootInstances(::testing::_)).Times(0);
  auto wf = Admit(AlarmEvent("x-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0standalone"}}));
  auto out = Run(wf);  // the step context says no dry run; the workflow does
  EXPECT_EQ(Final(out).status, v1::Result::DRY_RUN);
  EXPECT_NE(Final(out).reason.find("would reboot instance i-0standalone"), std::string::npos);
}

TEST_F(StepsTest, ExcludeTagOnTheGroupRejects) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.groups["web-asg"].tags["fleetkeeper:exclude"] = "true";
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::REJECTED);
  EXPECT_NE(Final(out).reason.find("fleetkeeper:exclude=true"), std::string::npos);
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 0);
}

// ---- replace_instance ----------------------------------------------------------------------

TEST_F(StepsTest, ReplaceInGroupTerminatesWithoutDecrementAndVerifiesTheReplacement) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddGroup("web-asg", 1, 2, 4);
  const std::string sick = fleet_.InstanceIds("web-asg")[0];
  fleet_.instances.at(sick).instance_status = "impaired";
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", {{"InstanceId", sick}}, "t1",
                             "StatusCheckFailed"));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  const auto ids = fleet_.InstanceIds("web-asg");
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sick), 0);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 2);
  EXPECT_EQ(fleet_.instances.at(sick).instance.state.name, "terminated");
  EXPECT_NE(FindAction(wf, "verify", "ok"), nullptr);
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 0);
}

TEST_F(StepsTest, ReplaceAtMinimumHealthyLaunchesFirstThenTerminatesWithDecrement) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddGroup("web-asg", 2, 2, 4);  // at MinSize: terminating first would go below it
  const std::string sick = fleet_.InstanceIds("web-asg")[1];
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", {{"InstanceId", sick}}, "t1",
                             "StatusCheckFailed"));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 1);        // raised to 3 for the surge
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 2);  // and decremented back
  const auto ids = fleet_.InstanceIds("web-asg");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sick), 0);
  EXPECT_EQ(ids.size(), 2u);
  // The replacement was InService before the old instance was terminated.
  std::vector<std::string> order;
  for (const auto& a : wf.actions()) order.push_back(a.action());
  auto wait_it = std::find(order.begin(), order.end(), "wait InService");
  auto term_it = std::find(order.begin(), order.end(), "TerminateInstanceInAutoScalingGroup");
  ASSERT_NE(wait_it, order.end());
  ASSERT_NE(term_it, order.end());
  EXPECT_LT(wait_it - order.begin(), term_it - order.begin());
}

TEST_F(StepsTest, ReplaceWithOnlyTheGroupDimensionPicksTheImpairedInstance) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddGroup("web-asg", 1, 3, 4);
  const std::string sick = fleet_.InstanceIds("web-asg")[2];
  fleet_.instances.at(sick).system_status = "impaired";
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", kWebAsg, "t1", "StatusCheckFailed"));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.instances.at(sick).instance.state.name, "terminated");
  EXPECT_EQ(fleet_.InstanceIds("web-asg").size(), 3u);
}

TEST_F(StepsTest, StandaloneInstanceIsRebootedAndVerified) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddStandalone("i-0solo");
  fleet_.instances.at("i-0solo").instance_status = "impaired";
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.rebooted, std::vector<std::string>{"i-0solo"});
  EXPECT_EQ(fleet_.Calls("StopInstances"), 0);
}

TEST_F(StepsTest, NoCredentialsFailsTheActionNamingTheCallNotAVanishedInstance) {
  auto out = ReplaceSoloWith(*handlers::testing::UnreachableCell(/*credentials=*/false));
  EXPECT_EQ(Final(out).status, v1::Result::FAILED) << Final(out).reason;
  EXPECT_THAT(Final(out).reason,
              ::testing::HasSubstr("ec2 DescribeInstances: credentials: no AWS credentials found"));
  EXPECT_THAT(Final(out).reason, ::testing::Not(::testing::HasSubstr("no longer exists")));
}

TEST_F(StepsTest, AnUnreachableEndpointFailsTheActionNamingTheCallAfterRetries) {
  auto out = ReplaceSoloWith(*handlers::testing::UnreachableCell(/*credentials=*/true));
  EXPECT_EQ(Final(out).status, v1::Result::FAILED) << Final(out).reason;
  EXPECT_THAT(Final(out).reason,
              ::testing::HasSubstr("ec2 DescribeInstances: POST http://127.0.0.1:1/"));
  EXPECT_GT(out.size(), 1u) << "a refused connection is retried before the action fails";
}

TEST_F(StepsTest, StandaloneStillFailingAfterRebootIsStoppedAndStarted) {
  auto* r = AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  *r->mutable_verify_timeout() = Secs(120);
  fleet_.AddStandalone("i-0solo");
  fleet_.instances.at("i-0solo").system_status = "impaired";
  fleet_.reboot_heals = false;
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("RebootInstances"), 1);
  EXPECT_EQ(fleet_.Calls("StopInstances"), 1);
  EXPECT_EQ(fleet_.Calls("StartInstances"), 1);
  EXPECT_EQ(fleet_.instances.at("i-0solo").instance.state.name, "running");
  EXPECT_NE(Final(out).reason.find("stopped and started"), std::string::npos);
}

TEST_F(StepsTest, StandaloneDryRunMutatesNothing) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddStandalone("i-0solo");
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  auto out = Run(wf, true);
  EXPECT_EQ(Final(out).status, v1::Result::DRY_RUN);
  EXPECT_TRUE(fleet_.rebooted.empty());
}

// ---- reboot_instance -----------------------------------------------------------------------

TEST_F(StepsTest, RebootInstanceRebootsAndVerifiesStatusChecks) {
  AddRule(config_, "hang", "*Hung*", "reboot_instance");
  fleet_.AddStandalone("i-0app");
  auto wf = Admit(AlarmEvent("app-Hung", "ALARM", {{"InstanceId", "i-0app"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.rebooted, std::vector<std::string>{"i-0app"});
  EXPECT_NE(FindAction(wf, "verify", "ok"), nullptr);
}

TEST_F(StepsTest, RebootOfAStoppedInstanceFails) {
  AddRule(config_, "hang", "*Hung*", "reboot_instance");
  fleet_.AddStandalone("i-0app");
  fleet_.instances.at("i-0app").instance.state.name = "stopped";
  auto wf = Admit(AlarmEvent("app-Hung", "ALARM", {{"InstanceId", "i-0app"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("is stopped"), std::string::npos);
  EXPECT_TRUE(fleet_.rebooted.empty());
}

// ---- several actions, the step table -------------------------------------------------------

TEST_F(StepsTest, SeveralActionsReportPartialWhenOneFails) {
  config_.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(kTopic);
  auto* first = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  first->mutable_action()->set_by(1);
  first->set_continue_(true);
  AddRule(config_, "tell", "*HighCPU*", "notify");
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.FailOn("SetDesiredCapacity", Error(ErrorCode::kAws, "ValidationError"),
                handlers::testing::FakeAccount::kAlways);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::PARTIAL) << Final(out).reason;
  EXPECT_FALSE(fleet_.published.empty());
}

TEST_F(StepsTest, MutatingStepsAndLocks) {
  SelfHealingHandler handler(config_);
  EXPECT_TRUE(handler.StepMutates("scale_out.set"));
  EXPECT_TRUE(handler.StepMutates("replace.terminate"));
  EXPECT_TRUE(handler.StepMutates("ecs.force"));
  EXPECT_FALSE(handler.StepMutates("scale_out.plan"));
  EXPECT_FALSE(handler.StepMutates("scale_out.verify"));
  EXPECT_FALSE(handler.StepMutates("notify.publish"));

  AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
  auto wf = Admit(ApiAlarm());
  EXPECT_THAT(SelfHealingHandler(config_).LockedResources(wf),
              ::testing::ElementsAre("ecs:prod/api"));
}

TEST_F(StepsTest, UnknownStepFailsTheWorkflowInsteadOfCrashing) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  auto wf = Admit(Cpu(0));
  SelfHealingHandler handler(config_);
  FakeStepContext ctx(&wf, &cell_.clients, &clock_);
  StepOutcome o = handler.RunStep("scale_out.v9", ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(o.status, v1::Result::FAILED);
  EXPECT_NE(o.reason.find("scale_out.v9"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
