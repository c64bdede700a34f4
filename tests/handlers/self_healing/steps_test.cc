// The actions' steps, run the way the runtime runs them (RunToEnd over a checkpoint, a manual
// clock), against the stateful fake fleet: what the fleet looks like afterwards, what the result
// says, and that redelivery, dry run and failures behave.
#include <gtest/gtest.h>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/steps.h"
#include "tests/handlers/self_healing/events.h"
#include "tests/handlers/self_healing/fake_fleet.h"
#include "tests/handlers/step_harness.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

using handlers::testing::FakeStepContext;
using handlers::testing::MockCell;
using handlers::testing::RunToEnd;
using testing::AddRule;
using testing::AlarmEvent;
using testing::BaseConfig;
using testing::FakeFleet;
using testing::MemoryCellStore;
using testing::Secs;

const std::map<std::string, std::string> kWebAsg = {{"AutoScalingGroupName", "web-asg"}};
constexpr const char* kTopic = "arn:aws:sns:us-east-1:111122223333:ops";

v1::Event ApiAlarm() {
  return AlarmEvent("api-5xx", "ALARM", {{"ClusterName", "prod"}, {"ServiceName", "api"}});
}

class StepsTest : public ::testing::Test {
 protected:
  // Admits `e` and returns its workflow checkpoint (the test fails if it is not admitted).
  v1::WorkflowCheckpoint Admit(const v1::Event& e) {
    SelfHealingHandler handler(config_);
    AdmissionContext ctx{config_, clock_, false, &store_};
    Admission a = handler.Admit(e, ctx);
    EXPECT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
    return a.workflow;
  }
  // `dry_run`: the workflow was admitted dry, as the runtime records it in the checkpoint.
  std::vector<StepOutcome> Run(v1::WorkflowCheckpoint& wf, bool dry_run = false) {
    return RunWith(wf, cell_.clients, dry_run);
  }
  // The same over other clients (the real transport, say).
  std::vector<StepOutcome> RunWith(v1::WorkflowCheckpoint& wf, aws::CellClients& clients,
                                   bool dry_run = false) {
    SelfHealingHandler handler(config_);
    if (dry_run) wf.set_dry_run(true);
    return RunToEnd(handler, wf, clients, clock_, dry_run);
  }
  // A replace_instance workflow for an alarm on i-0solo, run to its end over `clients`.
  std::vector<StepOutcome> ReplaceSoloWith(aws::CellClients& clients) {
    AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
    auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
    return RunWith(wf, clients);
  }
  // Runs single steps until `step` is next (not running it).
  void RunUntil(v1::WorkflowCheckpoint& wf, const std::string& step) {
    SelfHealingHandler handler(config_);
    for (int i = 0; i < 50 && wf.step() != step; ++i) {
      FakeStepContext ctx(&wf, &cell_.clients, &clock_);
      StepOutcome o = handler.RunStep(wf.step(), ctx);
      for (const auto& a : o.actions) *wf.add_actions() = a;
      ASSERT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason;
      wf.set_step(o.next_step);
    }
    ASSERT_EQ(wf.step(), step);
  }
  // Like RunToEnd, and, as the runtime does on the poll thread, hands each outcome to
  // OnStepOutcome with the cell store before it is applied.
  std::vector<StepOutcome> RunWithStore(v1::WorkflowCheckpoint& wf, int max_steps = 200) {
    SelfHealingHandler handler(config_);
    std::vector<StepOutcome> outcomes;
    for (int i = 0; i < max_steps; ++i) {
      FakeStepContext ctx(&wf, &cell_.clients, &clock_);
      StepOutcome o = handler.RunStep(wf.step(), ctx);
      handler.OnStepOutcome(wf.step(), wf, o, store_, clock_.NowMs());
      for (const auto& a : o.actions) *wf.add_actions() = a;
      outcomes.push_back(o);
      if (o.kind == StepOutcome::Kind::kFinish) break;
      if (o.kind == StepOutcome::Kind::kWait) clock_.Advance(o.wait_ms > 0 ? o.wait_ms : 1000);
      wf.set_step(o.next_step);
    }
    return outcomes;
  }
  // Rule "cpu": scale web-asg (desired 2, MaxSize `max_size`) out by one, cooldown 60 s,
  // repeat_while_alarm, with an alarm that stays in ALARM; a breaker of `max_actions` per
  // `within_s`.
  void RepeatingScaleOut(int max_actions, int within_s, int64_t max_size) {
    auto* b = config_.mutable_handlers()->mutable_self_healing()->mutable_circuit_breaker();
    b->set_max_actions(max_actions);
    *b->mutable_within() = Secs(within_s);
    auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
    r->mutable_action()->set_by(1);
    *r->mutable_cooldown() = Secs(60);
    r->set_repeat_while_alarm(true);
    fleet_.AddGroup("web-asg", 1, 2, max_size);
    fleet_.alarm_states["web-HighCPU"] = "ALARM";
  }
  static const StepOutcome& Final(const std::vector<StepOutcome>& outcomes) {
    return outcomes.back();
  }
  static const v1::Action* FindAction(const v1::WorkflowCheckpoint& wf, const std::string& action,
                                      const std::string& status = "") {
    for (const auto& a : wf.actions()) {
      if (a.action() == action && (status.empty() || a.status() == status)) return &a;
    }
    return nullptr;
  }
  v1::Event Cpu(int n, const std::map<std::string, std::string>& dims = kWebAsg) {
    return AlarmEvent("web-HighCPU", "ALARM", dims,
                      "2024-05-01T10:00:" + std::to_string(10 + n) + ".000+0000");
  }

  v1::WorkerConfig config_ = BaseConfig();
  ManualClock clock_;
  MemoryCellStore store_;
  MockCell cell_;
  FakeFleet fleet_{cell_};
};

// ---- scale_out ------------------------------------------------------------------------------

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
  fleet_.failures["SetDesiredCapacity"] = denied;
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
  fleet_.failures["DescribeAutoScalingGroups"] = throttled;
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

// ---- replace_instance -----------------------------------------------------------------------

TEST_F(StepsTest, ReplaceInGroupTerminatesWithoutDecrementAndVerifiesTheReplacement) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddGroup("web-asg", 1, 2, 4);
  const std::string sick = fleet_.InstanceIds("web-asg")[0];
  fleet_.health[sick].instance_status = "impaired";
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", {{"InstanceId", sick}}, "t1",
                             "StatusCheckFailed"));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  const auto ids = fleet_.InstanceIds("web-asg");
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sick), 0);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 2);
  EXPECT_EQ(fleet_.instances[sick].state.name, "terminated");
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
  fleet_.health[sick].system_status = "impaired";
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", kWebAsg, "t1", "StatusCheckFailed"));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.instances[sick].state.name, "terminated");
  EXPECT_EQ(fleet_.InstanceIds("web-asg").size(), 3u);
}

TEST_F(StepsTest, StandaloneInstanceIsRebootedAndVerified) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddStandalone("i-0solo");
  fleet_.health["i-0solo"].instance_status = "impaired";
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
  fleet_.health["i-0solo"].system_status = "impaired";
  fleet_.reboot_heals = false;
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("RebootInstances"), 1);
  EXPECT_EQ(fleet_.Calls("StopInstances"), 1);
  EXPECT_EQ(fleet_.Calls("StartInstances"), 1);
  EXPECT_EQ(fleet_.instances["i-0solo"].state.name, "running");
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

// ---- reboot_instance, ecs_force_deploy, stop_deployment, notify -------------------------------

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
  fleet_.instances["i-0app"].state.name = "stopped";
  auto wf = Admit(AlarmEvent("app-Hung", "ALARM", {{"InstanceId", "i-0app"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("is stopped"), std::string::npos);
  EXPECT_TRUE(fleet_.rebooted.empty());
}

aws::EcsService Service(const std::string& name) {
  aws::EcsService s;
  s.name = name;
  s.desired_count = 2;
  s.running_count = 2;
  aws::EcsDeployment d;
  d.id = "ecs-svc/old";
  d.status = "PRIMARY";
  d.desired_count = 2;
  d.running_count = 2;
  d.rollout_state = "COMPLETED";
  s.deployments.push_back(d);
  return s;
}

TEST_F(StepsTest, EcsForceDeployWaitsForTheNewDeploymentToComplete) {
  AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
  fleet_.services["api"] = Service("api");
  fleet_.ecs_completes = false;
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.verify");
  {
    SelfHealingHandler handler(config_);
    FakeStepContext ctx(&wf, &cell_.clients, &clock_);
    EXPECT_EQ(handler.RunStep("ecs.verify", ctx).kind, StepOutcome::Kind::kWait)
        << "IN_PROGRESS is not done";
  }
  fleet_.ecs_completes = true;
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_NE(Final(out).reason.find("ecs-svc/1 rolloutState COMPLETED"), std::string::npos)
      << Final(out).reason;
  EXPECT_EQ(fleet_.Calls("UpdateService"), 1);
}

TEST_F(StepsTest, EcsForceDeployIsNotRepeatedWhenResumed) {
  AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
  fleet_.services["api"] = Service("api");
  fleet_.ecs_completes = false;
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.force");
  const auto checkpoint = wf;
  SelfHealingHandler handler(config_);
  FakeStepContext ctx(&wf, &cell_.clients, &clock_);
  handler.RunStep("ecs.force", ctx);
  v1::WorkflowCheckpoint resumed = checkpoint;
  fleet_.ecs_completes = true;
  auto out = Run(resumed);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_EQ(fleet_.Calls("UpdateService"), 1);
}

TEST_F(StepsTest, EcsFailedRolloutFails) {
  AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
  fleet_.services["api"] = Service("api");
  fleet_.ecs_completes = false;
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, "ecs.verify");
  auto& dep = fleet_.services["api"].deployments.front();
  dep.rollout_state = "FAILED";
  dep.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.";
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("tasks failed to start"), std::string::npos);
}

TEST_F(StepsTest, StopDeploymentStopsWithRollbackAndVerifies) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  aws::DeploymentInfo d;
  d.deployment_id = "d-ABC";
  d.status = "InProgress";
  fleet_.deployments["d-ABC"] = d;
  EXPECT_CALL(*cell_.codedeploy,
              StopDeployment(::testing::Field(&aws::StopDeploymentRequest::auto_rollback_enabled,
                                              std::optional<bool>(true))));
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {{"DeploymentId", "d-ABC"}}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(fleet_.deployments["d-ABC"].status, "Stopped");
  EXPECT_NE(Final(out).reason.find("rolled back by d-ROLLBACK"), std::string::npos);
}

// CodeDeploy's alarms carry no DeploymentId: the deployment is the active one of the groups whose
// alarm configuration lists the alarm (shapes as in
// https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentGroupInfo.html).
class StopDeploymentTest : public StepsTest {
 protected:
  void SetUp() override {
    Group("shop", "prod", {"shop-Errors"});
    Group("shop", "canary", {});
    Group("billing", "main", {"billing-Errors"});
    Deployment("d-OLD", "shop", "prod", "Succeeded");
    Deployment("d-PROD", "shop", "prod", "InProgress");
    Deployment("d-CANARY", "shop", "canary", "Queued");
    Deployment("d-BILL", "billing", "main", "InProgress");
  }
  void Group(const std::string& app, const std::string& name, std::vector<std::string> alarms) {
    aws::DeploymentGroupInfo g;
    g.application_name = app;
    g.deployment_group_name = name;
    g.alarms_enabled = false;
    g.alarm_names = std::move(alarms);
    fleet_.deployment_groups[app].push_back(g);
  }
  void Deployment(const std::string& id, const std::string& app, const std::string& group,
                  const std::string& status) {
    aws::DeploymentInfo d;
    d.deployment_id = id;
    d.application_name = app;
    d.deployment_group_name = group;
    d.status = status;
    fleet_.deployments[id] = d;
  }
  std::string Status(const std::string& id) { return fleet_.deployments[id].status; }
};

TEST_F(StopDeploymentTest, FindsTheGroupThatListsTheAlarmAndStopsItsActiveDeployment) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  EXPECT_CALL(*cell_.codedeploy,
              StopDeployment(::testing::Field(&aws::StopDeploymentRequest::auto_rollback_enabled,
                                              std::optional<bool>(true))));
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-PROD"), "Stopped");
  EXPECT_EQ(Status("d-CANARY"), "Queued");  // its group does not list the alarm
  EXPECT_EQ(Status("d-BILL"), "InProgress");
  EXPECT_NE(Final(out).reason.find("deployment d-PROD Stopped, rolled back by d-ROLLBACK"),
            std::string::npos)
      << Final(out).reason;
  const v1::Action* found = FindAction(wf, "ListDeployments", "ok");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->detail(), "active in shop/prod: d-PROD");
}

TEST_F(StopDeploymentTest, TheRulesDeploymentGroupNeedsNoLookup) {
  auto* r = AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  r->mutable_action()->set_application("shop");
  r->mutable_action()->set_deployment_group("canary");
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto dry = wf;
  auto preview = Run(dry, /*dry_run=*/true);
  EXPECT_EQ(Final(preview).status, v1::Result::DRY_RUN);
  EXPECT_NE(Final(preview).reason.find("would stop d-CANARY (shop/canary, Queued) with automatic "
                                       "rollback"),
            std::string::npos)
      << Final(preview).reason;
  EXPECT_EQ(Status("d-CANARY"), "Queued");
  EXPECT_EQ(fleet_.Calls("StopDeployment"), 0);

  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-CANARY"), "Stopped");
  EXPECT_EQ(Status("d-PROD"), "InProgress");
  EXPECT_EQ(fleet_.Calls("ListApplications"), 0);
  EXPECT_EQ(fleet_.Calls("BatchGetDeploymentGroups"), 0);
}

TEST_F(StopDeploymentTest, AnApplicationWhoseGroupsListNoAlarmMeansAllOfItsGroups) {
  AddRule(config_, "deploy", "*Latency*", "stop_deployment")
      ->mutable_action()
      ->set_application("shop");
  auto wf = Admit(AlarmEvent("shop-Latency", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_EQ(Status("d-PROD"), "Stopped");
  EXPECT_EQ(Status("d-CANARY"), "Stopped");
  EXPECT_EQ(Status("d-BILL"), "InProgress");
}

TEST_F(StopDeploymentTest, NoGroupListingTheAlarmFailsNamingItAndNoActiveDeploymentIsNothingToDo) {
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  auto wf = Admit(AlarmEvent("search-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::FAILED);
  EXPECT_NE(Final(out).reason.find("no CodeDeploy deployment group in this account and region "
                                   "lists alarm search-Errors"),
            std::string::npos)
      << Final(out).reason;

  fleet_.deployments["d-BILL"].status = "Succeeded";
  auto idle = Admit(AlarmEvent("billing-Errors", "ALARM", {}));
  auto done = Run(idle);
  EXPECT_EQ(Final(done).status, v1::Result::SUCCEEDED) << Final(done).reason;
  EXPECT_NE(Final(done).reason.find("no active deployment in billing/main: nothing to stop"),
            std::string::npos)
      << Final(done).reason;
  EXPECT_EQ(fleet_.Calls("StopDeployment"), 0);
}

TEST_F(StopDeploymentTest, ExcludedDeploymentGroupsAreLeftRunning) {
  config_.mutable_handlers()->mutable_self_healing()->add_excluded_resources("shop/prod");
  AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  auto wf = Admit(AlarmEvent("shop-Errors", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Status("d-PROD"), "InProgress");
  const v1::Action* skipped = FindAction(wf, "StopDeployment", "skipped");
  ASSERT_NE(skipped, nullptr);
  EXPECT_NE(skipped->detail().find("excluded_resources entry \"shop/prod\""), std::string::npos);
}

TEST_F(StepsTest, NotifyPublishesOnlyToSns) {
  config_.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(kTopic);
  AddRule(config_, "tell", "*", "notify");
  auto wf = Admit(AlarmEvent("billing-High", "ALARM", {}));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  ASSERT_EQ(fleet_.published.size(), 1u);
  EXPECT_EQ(fleet_.published[0].topic_arn, kTopic);
  EXPECT_NE(fleet_.published[0].message.find("billing-High"), std::string::npos);
  EXPECT_TRUE(fleet_.rebooted.empty());
}

TEST_F(StepsTest, NotifyTopicGetsOneMessagePerActionAndMetricsCarryDimensions) {
  auto* heal = config_.mutable_handlers()->mutable_self_healing();
  heal->set_notify_topic_arn(kTopic);
  heal->mutable_metrics()->set_namespace_("Ops/Heal");
  (*heal->mutable_metrics()->mutable_dimensions())["Rule"] = "{rule}";
  (*heal->mutable_metrics()->mutable_dimensions())["Team"] = "web";
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  auto wf = Admit(Cpu(0));
  Run(wf);
  ASSERT_EQ(fleet_.published.size(), 1u);
  EXPECT_NE(fleet_.published[0].subject.find("succeeded"), std::string::npos);
  ASSERT_EQ(fleet_.metrics.size(), 1u);
  EXPECT_EQ(fleet_.metrics[0].metric_namespace, "Ops/Heal");
  std::map<std::string, std::string> dims;
  for (const auto& d : fleet_.metrics[0].metrics[0].dimensions) dims[d.name] = d.value;
  EXPECT_EQ(dims["Rule"], "cpu");
  EXPECT_EQ(dims["Team"], "web");
}

TEST_F(StepsTest, MetricFailureDoesNotFailTheRecovery) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.failures["PutMetricData"] = Error(ErrorCode::kUnauthorized, "no cloudwatch:PutMetricData");
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_NE(FindAction(wf, "PutMetricData", "failed"), nullptr);
}

// ---- repeat_while_alarm, several actions ----------------------------------------------------

TEST_F(StepsTest, RepeatWhileAlarmActsAgainAfterTheCooldownWhileStillInAlarm) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  *r->mutable_cooldown() = Secs(120);
  r->set_repeat_while_alarm(true);
  fleet_.AddGroup("web-asg", 1, 2, 5);
  fleet_.alarm_states["web-HighCPU"] = "ALARM";
  auto wf = Admit(Cpu(0));
  SelfHealingHandler handler(config_);
  // Run until the first repeat check, then let the alarm recover.
  int checks = 0;
  for (int i = 0; i < 100; ++i) {
    FakeStepContext ctx(&wf, &cell_.clients, &clock_);
    StepOutcome o = handler.RunStep(wf.step(), ctx);
    for (const auto& a : o.actions) *wf.add_actions() = a;
    if (o.kind == StepOutcome::Kind::kFinish) {
      EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
      break;
    }
    if (o.kind == StepOutcome::Kind::kWait) {
      if (o.next_step == "repeat.check") {
        EXPECT_EQ(o.wait_ms, 120'000);
        if (++checks == 2) fleet_.alarm_states["web-HighCPU"] = "OK";
      }
      clock_.Advance(o.wait_ms);
    }
    wf.set_step(o.next_step);
  }
  EXPECT_EQ(checks, 2);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 4);  // 2 -> 3, still ALARM -> 4, OK
  EXPECT_EQ(fleet_.Calls("DescribeAlarms"), 2);
}

TEST_F(StepsTest, RepeatsTakeCircuitBreakerSlotsAndStopWhenItOpens) {
  RepeatingScaleOut(3, 600, 10);
  auto wf = Admit(Cpu(0));  // slot 1
  auto out = RunWithStore(wf);
  // The first action and two repeats fill the breaker; the third repeat is not taken.
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 5);
  EXPECT_EQ(fleet_.Calls("DescribeAlarms"), 3);
  ASSERT_EQ(Final(out).kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED) << Final(out).reason;
  EXPECT_NE(Final(out).reason.find("repeat not taken: circuit breaker open: 3 self-healing "
                                   "actions in this cell within 600s"),
            std::string::npos)
      << Final(out).reason;
  const v1::Action* rejected = FindAction(wf, "repeat_while_alarm", "rejected");
  ASSERT_NE(rejected, nullptr);
  EXPECT_EQ(rejected->resource(), "asg:web-asg");

  // The slots are in the durable cell store: another alarm in the cell is REJECTED by the breaker
  // (a new handler over the same store, as after a restart).
  AddRule(config_, "disk", "*Disk*", "scale_out")->mutable_action()->set_by(1);
  SelfHealingHandler restarted(config_);
  AdmissionContext ctx{config_, clock_, false, &store_};
  Admission other = restarted.Admit(AlarmEvent("web-Disk", "ALARM", kWebAsg), ctx);
  EXPECT_EQ(other.status, v1::Result::REJECTED);
  EXPECT_NE(other.reason.find("circuit breaker open"), std::string::npos) << other.reason;
}

TEST_F(StepsTest, ARepeatRestartsTheRuleCooldownOnTheResource) {
  RepeatingScaleOut(20, 600, 10);
  auto wf = Admit(Cpu(0));
  SelfHealingHandler handler(config_);
  // Up to the first repeat's breaker decision (60 s after the first action).
  for (int i = 0; i < 20; ++i) {
    const std::string step = wf.step();
    FakeStepContext ctx(&wf, &cell_.clients, &clock_);
    StepOutcome o = handler.RunStep(step, ctx);
    handler.OnStepOutcome(step, wf, o, store_, clock_.NowMs());
    if (o.kind == StepOutcome::Kind::kWait) clock_.Advance(o.wait_ms);
    wf.set_step(o.next_step);
    if (step == "repeat.check") break;
  }
  ASSERT_EQ(wf.step(), "scale_out.plan");
  // An ALARM event 30 s into the repeat is inside the cooldown the repeat started.
  clock_.Advance(30'000);
  AdmissionContext ctx{config_, clock_, false, &store_};
  Admission again = handler.Admit(Cpu(1), ctx);
  EXPECT_EQ(again.status, v1::Result::REJECTED);
  EXPECT_NE(again.reason.find("cooldown: rule cpu acted on asg:web-asg"), std::string::npos)
      << again.reason;
}

TEST_F(StepsTest, RepeatSlotsLeaveTheBreakerWithItsWindow) {
  RepeatingScaleOut(2, 100, 6);
  auto wf = Admit(Cpu(0));
  // Actions at 0 s, 60 s, 120 s (the one at 0 s has left the 100 s window), 180 s (60 s has
  // left); then MaxSize 6 stops the growth, not the breaker.
  auto out = RunWithStore(wf, 60);
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 6);
  EXPECT_EQ(FindAction(wf, "repeat_while_alarm", "rejected"), nullptr);
  EXPECT_EQ(fleet_.Calls("SetDesiredCapacity"), 4);
}

TEST_F(StepsTest, SeveralActionsReportPartialWhenOneFails) {
  config_.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(kTopic);
  auto* first = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  first->mutable_action()->set_by(1);
  first->set_continue_(true);
  AddRule(config_, "tell", "*HighCPU*", "notify");
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.failures["SetDesiredCapacity"] = Error(ErrorCode::kAws, "ValidationError");
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
