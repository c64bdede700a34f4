// The self-healing steps' notifications and metrics, repeat_while_alarm and the circuit breaker,
// against the stateful fake fleet.
#include <gtest/gtest.h>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/steps.h"
#include "tests/handlers/self_healing/steps_fixture.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

using handlers::testing::FakeStepContext;
using testing::AddRule;
using testing::AlarmEvent;
using testing::kTopic;
using testing::kWebAsg;
using testing::Secs;
using testing::StepsTest;

// ---- notify --------------------------------------------------------------------------------

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
  fleet_.FailOn("PutMetricData", Error(ErrorCode::kUnauthorized, "no cloudwatch:PutMetricData"),
                handlers::testing::FakeAccount::kAlways);
  auto wf = Admit(Cpu(0));
  auto out = Run(wf);
  EXPECT_EQ(Final(out).status, v1::Result::SUCCEEDED);
  EXPECT_NE(FindAction(wf, "PutMetricData", "failed"), nullptr);
}

// ---- repeat_while_alarm --------------------------------------------------------------------

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

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
