// Admission: rule matching through the handler, every throttle, the circuit breaker, freeze and
// exclusions, all durable in the cell store (a new handler over the same store remembers them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/self_healing/handler.h"
#include "handlers/self_healing/throttles.h"
#include "tests/handlers/self_healing/events.h"
#include "tests/testing/memory_cell_store.h"

namespace fleetkeeper::handlers::self_healing {
namespace {

using handlers::testing::MemoryCellStore;
using testing::AddRule;
using testing::AlarmEvent;
using testing::BaseConfig;
using testing::Secs;

const std::map<std::string, std::string> kWebAsg = {{"AutoScalingGroupName", "web-asg"}};

class AdmissionTest : public ::testing::Test {
 protected:
  Admission Admit(const v1::Event& e, bool frozen = false) {
    SelfHealingHandler handler(config_);
    AdmissionContext ctx{config_, clock_, frozen, &store_};
    return handler.Admit(e, ctx);
  }
  // A distinct ALARM event for the same alarm (CloudWatch gives each transition its own time).
  v1::Event Cpu(int n, const std::map<std::string, std::string>& dims = kWebAsg) {
    return AlarmEvent("web-HighCPU", "ALARM", dims,
                      "2024-05-01T10:00:" + std::to_string(10 + n) + ".000+0000");
  }
  static v1::HealingWorkflowState StateOf(const Admission& a) {
    v1::HealingWorkflowState s;
    EXPECT_TRUE(a.workflow.state().UnpackTo(&s));
    return s;
  }

  v1::WorkerConfig config_ = BaseConfig();
  ManualClock clock_;
  MemoryCellStore store_;
};

TEST_F(AdmissionTest, NoMatchingRuleAndOkAreSkippedNamingTheAlarm) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  auto a = Admit(AlarmEvent("db-DiskFull", "ALARM", {}));
  EXPECT_EQ(a.kind, Admission::Kind::kFinal);
  EXPECT_EQ(a.status, v1::Result::SKIPPED);
  EXPECT_NE(a.reason.find("db-DiskFull"), std::string::npos);
  auto ok = Admit(AlarmEvent("web-HighCPU", "OK", kWebAsg));
  EXPECT_EQ(ok.status, v1::Result::SKIPPED);
  EXPECT_NE(ok.reason.find("web-HighCPU in state OK"), std::string::npos);
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(AdmissionTest, WithNoRulesEveryAlarmIsSkipped) {
  EXPECT_EQ(Admit(Cpu(0)).status, v1::Result::SKIPPED);
}

TEST_F(AdmissionTest, MatchedRuleStartsAWorkflowOnTheGroup) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  auto a = Admit(Cpu(0));
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(a.workflow.handler(), "self_healing");
  EXPECT_EQ(a.workflow.step(), "scale_out.plan");
  EXPECT_EQ(a.workflow.cell(), "111122223333/us-east-1");
  EXPECT_EQ(a.workflow.workflow_id(),
            WorkflowId("111122223333", "us-east-1", "heal", Cpu(0).dedup_key()));
  EXPECT_THAT(SelfHealingHandler(config_).LockedResources(a.workflow),
              ::testing::ElementsAre("asg:web-asg"));
  auto s = StateOf(a);
  ASSERT_EQ(s.actions_size(), 1);
  EXPECT_EQ(s.actions(0).asg_name(), "web-asg");
  EXPECT_EQ(s.actions(0).rule_config().action().by(), 1);
}

TEST_F(AdmissionTest, DimensionGlobsAndMissingDimensions) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  (*r->mutable_match()->mutable_dimensions())["AutoScalingGroupName"] = "web-*";
  EXPECT_EQ(Admit(Cpu(0, {{"AutoScalingGroupName", "db-asg"}})).status, v1::Result::SKIPPED);
  EXPECT_EQ(Admit(Cpu(1)).kind, Admission::Kind::kWorkflow);

  // A rule that does not name the dimension matches, but scale_out cannot act without a group.
  AddRule(config_, "any-cpu", "*CPU*", "scale_out")->mutable_action()->set_by(1);
  auto a = Admit(AlarmEvent("api-CPU", "ALARM", {{"InstanceId", "i-1"}}));
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_NE(a.reason.find("no AutoScalingGroupName dimension"), std::string::npos);
}

TEST_F(AdmissionTest, CompositeAlarmMatchesANameRuleOnly) {
  auto* metric_rule = AddRule(config_, "by-metric", "*", "notify");
  metric_rule->mutable_match()->set_namespace_("AWS/EC2");
  AddRule(config_, "by-name", "service-*", "notify");
  config_.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(
      "arn:aws:sns:us-east-1:111122223333:ops");
  v1::Event composite = AlarmEvent("service-down", "ALARM", {}, "2024-05-01T10:00:00Z", "");
  composite.mutable_alarm()->set_alarm_kind("composite");
  auto a = Admit(composite);
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(StateOf(a).actions(0).rule(), "by-name");
}

TEST_F(AdmissionTest, ContinueAdmitsEveryMatchedRuleInOneWorkflow) {
  auto* first = AddRule(config_, "cpu-scale", "*HighCPU*", "scale_out");
  first->mutable_action()->set_by(1);
  first->set_continue_(true);
  AddRule(config_, "cpu-notify", "*HighCPU*", "notify");
  AddRule(config_, "never", "*HighCPU*", "reboot_instance");  // after a rule without continue
  config_.mutable_handlers()->mutable_self_healing()->set_notify_topic_arn(
      "arn:aws:sns:us-east-1:111122223333:ops");
  auto s = StateOf(Admit(Cpu(0)));
  ASSERT_EQ(s.actions_size(), 2);
  EXPECT_EQ(s.actions(0).rule(), "cpu-scale");
  EXPECT_EQ(s.actions(1).rule(), "cpu-notify");
}

TEST_F(AdmissionTest, CooldownRejectsUntilItEndsAndSurvivesARestart) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  *r->mutable_cooldown() = Secs(300);
  ASSERT_EQ(Admit(Cpu(0)).kind, Admission::Kind::kWorkflow);
  for (int i = 1; i <= 20; ++i) {
    clock_.Advance(10'000);
    auto a = Admit(Cpu(i));  // a fresh handler each time: only the store remembers
    ASSERT_EQ(a.status, v1::Result::REJECTED) << i;
    EXPECT_EQ(a.reason.rfind("cooldown:", 0), 0u) << a.reason;
  }
  clock_.Advance(100'001);  // 300 s after the action
  EXPECT_EQ(Admit(Cpu(30)).kind, Admission::Kind::kWorkflow);
  // A different group has its own cooldown.
  EXPECT_EQ(Admit(Cpu(31, {{"AutoScalingGroupName", "api-asg"}})).kind, Admission::Kind::kWorkflow);
}

TEST_F(AdmissionTest, OnceWithinSkipsRepeatsOfAFactAlreadyActedOn) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  *r->mutable_once_within() = Secs(60);
  ASSERT_EQ(Admit(Cpu(0)).kind, Admission::Kind::kWorkflow);
  clock_.Advance(59'000);
  auto a = Admit(Cpu(1));
  EXPECT_EQ(a.status, v1::Result::SKIPPED);
  EXPECT_EQ(a.reason.rfind("once_within:", 0), 0u) << a.reason;
  clock_.Advance(1'000);
  EXPECT_EQ(Admit(Cpu(2)).kind, Admission::Kind::kWorkflow);
}

TEST_F(AdmissionTest, ThresholdActsOnTheNthEventWithinTheWindow) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  r->mutable_threshold()->set_count(3);
  *r->mutable_threshold()->mutable_within() = Secs(60);
  auto first = Admit(Cpu(0));
  EXPECT_EQ(first.status, v1::Result::SKIPPED);
  EXPECT_NE(first.reason.find("threshold: 1 of 3"), std::string::npos) << first.reason;
  clock_.Advance(61'000);  // the first event falls out of the window
  EXPECT_EQ(Admit(Cpu(1)).status, v1::Result::SKIPPED);
  clock_.Advance(10'000);
  EXPECT_EQ(Admit(Cpu(2)).reason.find("threshold: 2 of 3"), 0u);
  clock_.Advance(10'000);
  EXPECT_EQ(Admit(Cpu(3)).kind, Admission::Kind::kWorkflow);
  // Acting resets the count.
  EXPECT_EQ(Admit(Cpu(4)).reason.find("threshold: 1 of 3"), 0u);
}

TEST_F(AdmissionTest, CircuitBreakerCapsActionsPerCellWithinItsWindow) {
  auto* heal = config_.mutable_handlers()->mutable_self_healing();
  heal->mutable_circuit_breaker()->set_max_actions(3);
  *heal->mutable_circuit_breaker()->mutable_within() = Secs(600);
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  int acted = 0;
  for (int i = 0; i < 10; ++i) {
    auto a = Admit(Cpu(i, {{"AutoScalingGroupName", "asg-" + std::to_string(i)}}));
    if (a.kind == Admission::Kind::kWorkflow) {
      ++acted;
    } else {
      EXPECT_EQ(a.status, v1::Result::REJECTED);
      EXPECT_EQ(a.reason.rfind("circuit breaker open:", 0), 0u) << a.reason;
    }
    clock_.Advance(1'000);
  }
  EXPECT_EQ(acted, 3);
  clock_.Advance(600'000);  // the first actions leave the window
  EXPECT_EQ(Admit(Cpu(20, {{"AutoScalingGroupName", "asg-x"}})).kind, Admission::Kind::kWorkflow);
}

TEST_F(AdmissionTest, BreakerCountsEveryActionOfOneEvent) {
  auto* heal = config_.mutable_handlers()->mutable_self_healing();
  heal->mutable_circuit_breaker()->set_max_actions(1);
  heal->set_notify_topic_arn("arn:aws:sns:us-east-1:111122223333:ops");
  auto* first = AddRule(config_, "cpu-scale", "*HighCPU*", "scale_out");
  first->mutable_action()->set_by(1);
  first->set_continue_(true);
  AddRule(config_, "cpu-notify", "*HighCPU*", "notify");
  auto a = Admit(Cpu(0));
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(StateOf(a).actions_size(), 1);
  // The held-back rule shows in the result's actions.
  ASSERT_EQ(a.workflow.actions_size(), 1);
  EXPECT_EQ(a.workflow.actions(0).status(), "rejected");
  EXPECT_EQ(a.workflow.actions(0).detail().rfind("circuit breaker open:", 0), 0u);
}

TEST_F(AdmissionTest, FreezeRejectsUnlessExempt) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  auto a = Admit(Cpu(0), /*frozen=*/true);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_EQ(a.reason.rfind("frozen:", 0), 0u);
  EXPECT_EQ(store_.size(), 0u) << "a frozen event consumes no throttle";
  config_.mutable_handlers()->mutable_self_healing()->set_exempt_from_freeze(true);
  EXPECT_EQ(Admit(Cpu(0), true).kind, Admission::Kind::kWorkflow);
}

TEST_F(AdmissionTest, ExcludedResourcesAreRejected) {
  config_.mutable_handlers()->mutable_self_healing()->add_excluded_resources("web-*");
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  AddRule(config_, "fail", "*StatusCheck*", "reboot_instance");
  config_.mutable_handlers()->mutable_self_healing()->add_excluded_resources("i-0keep");
  auto a = Admit(Cpu(0));
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_EQ(a.reason.rfind("excluded:", 0), 0u) << a.reason;
  auto b = Admit(AlarmEvent("x-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0keep"}}));
  EXPECT_EQ(b.status, v1::Result::REJECTED);
  EXPECT_NE(b.reason.find("i-0keep"), std::string::npos);
}

TEST_F(AdmissionTest, EcsAndDeploymentTargetsComeFromDimensionsOrTheRule) {
  AddRule(config_, "ecs", "*5xx*", "ecs_force_deploy");
  auto* dep = AddRule(config_, "deploy", "*Errors*", "stop_deployment");
  dep->mutable_action()->set_application("shop");
  auto e = Admit(AlarmEvent("api-5xx", "ALARM", {{"ClusterName", "prod"}, {"ServiceName", "api"}}));
  ASSERT_EQ(e.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(StateOf(e).actions(0).resource(), "ecs:prod/api");
  auto d = Admit(AlarmEvent("shop-Errors", "ALARM", {{"DeploymentId", "d-ABC"}}));
  ASSERT_EQ(d.kind, Admission::Kind::kWorkflow);
  EXPECT_EQ(StateOf(d).actions(0).deployment_id(), "d-ABC");
  EXPECT_EQ(Admit(AlarmEvent("x-5xx", "ALARM", {{"ClusterName", "prod"}})).status,
            v1::Result::REJECTED);
}

TEST_F(AdmissionTest, WithoutADurableStoreNothingActs) {
  AddRule(config_, "cpu", "*HighCPU*", "scale_out")->mutable_action()->set_by(1);
  SelfHealingHandler handler(config_);
  AdmissionContext ctx{config_, clock_, false, nullptr};
  auto a = handler.Admit(Cpu(0), ctx);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_NE(a.reason.find("cell store"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing
