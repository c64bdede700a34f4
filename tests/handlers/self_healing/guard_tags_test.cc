// Guard alarms and blackout windows by a tag on the groups a self-healing action changes
// (docs/safety.md, "Guards by a tag on the group", "Blackout windows"): the Auto Scaling group it
// scales or replaces in, the ECS service it redeploys, the target groups of the instance it takes
// down — read once, before the first call on them, into the checkpoint (handlers/group_guards.h).
// The engine then pauses the action while an alarm the tag names is in ALARM (not the alarm that
// started it), and holds it inside a window by tag unless safety.exempt_self_healing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "handlers/engine/blackout.h"
#include "handlers/engine/guards.h"
#include "handlers/self_healing/steps.h"
#include "tests/handlers/engine/guard_alarms.h"
#include "tests/handlers/self_healing/steps_fixture.h"

namespace fleetkeeper::handlers::self_healing::testing {
namespace {

using handlers::testing::Alarm;
using ::testing::_;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kTag[] = "fleetkeeper:guard-alarms";
constexpr char kTg[] = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/solo/1";
constexpr int64_t kMonday9 = 1796634000000;  // 2026-12-07T09:00:00Z, a Monday

class HealingTagGuards : public StepsTest {
 protected:
  HealingTagGuards() {
    auto* safety = config_.mutable_safety();
    safety->add_guards()->set_tag(kTag);
    auto* w = safety->add_blackout();
    w->set_name("prod-monday");
    w->set_cron("0 9 * * MON");
    w->mutable_duration()->set_seconds(3600);
    (*w->mutable_tags())["Environment"] = "prod";
    ApplyAlarmGuardDefaults(*safety);
    ApplyBlackoutDefaults(*safety);
  }
  const v1::SafetyConfig& safety() const { return config_.safety(); }
  std::vector<std::string> Pausing(const v1::WorkflowCheckpoint& wf) {
    return SelfHealingHandler(config_).PausingResources(wf);
  }
  std::optional<BlackoutHold> Window(const v1::WorkflowCheckpoint& wf) {
    return BlackoutCalendar(safety()).HoldAt(wf, SelfHealingHandler(config_).LockedResources(wf),
                                             Pausing(wf), kMonday9 + 60000);
  }
  // i-0solo, standalone, registered in kTg, which carries `tags`.
  void SoloBehindTaggedTargetGroup(const std::map<std::string, std::string>& tags) {
    fleet_.AddStandalone("i-0solo");
    ON_CALL(*cell_.elbv2, DescribeTargetGroups(_))
        .WillByDefault([](const aws::DescribeTargetGroupsRequest&) {
          aws::DescribeTargetGroupsResponse r;
          r.target_groups.push_back(aws::TargetGroup{});
          r.target_groups.back().arn = kTg;
          r.target_groups.back().target_type = "instance";
          return Result<aws::DescribeTargetGroupsResponse>(r);
        });
    ON_CALL(*cell_.elbv2, DescribeTargetHealth(_))
        .WillByDefault([](const aws::DescribeTargetHealthRequest&) {
          aws::DescribeTargetHealthResponse r;
          r.descriptions.push_back({{"i-0solo", 80, ""}, "80", "healthy", "", ""});
          return Result<aws::DescribeTargetHealthResponse>(r);
        });
    EXPECT_CALL(*cell_.elbv2, DescribeTags(_)).WillOnce([tags](const aws::DescribeTagsRequest& r) {
      EXPECT_THAT(r.resource_arns, ::testing::ElementsAre(kTg));
      aws::DescribeTagsResponse answer;
      answer.tags[kTg] = tags;
      return Result<aws::DescribeTagsResponse>(answer);
    });
  }
};

TEST_F(HealingTagGuards, ScaleOutRecordsItsGroupsTagAndAnAlarmItNamesPausesIt) {
  auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
  r->mutable_action()->set_by(1);
  fleet_.AddGroup("web-asg", 1, 2, 4);
  fleet_.groups["web-asg"].tags[kTag] = "web-latency, web-HighCPU";
  auto wf = Admit(Cpu(0));
  RunUntil(wf, step::kScaleOutSet);  // the plan read the group, with its tags
  ASSERT_GE(wf.tagged_guards_size(), 1);
  EXPECT_EQ(wf.tagged_guards(0).lock(), "asg:web-asg");
  EXPECT_THAT(wf.tagged_guards(0).alarms(), ::testing::ElementsAre("web-latency", "web-HighCPU"));

  MemoryCellStore store;
  // The alarm that started the workflow is named by the tag too: it does not hold its own action.
  ASSERT_TRUE(
      ObserveGuardAlarm(safety(), Alarm("web-HighCPU", "ALARM", "2026-12-07T01:00Z"), store));
  EXPECT_EQ(AlarmHold(safety(), wf, Pausing(wf), store), "");
  ASSERT_TRUE(
      ObserveGuardAlarm(safety(), Alarm("web-latency", "ALARM", "2026-12-07T01:01Z"), store));
  EXPECT_EQ(AlarmHold(safety(), wf, Pausing(wf), store),
            "paused by alarm web-latency (in ALARM since 2026-12-07T01:01Z, guarding "
            "asg:web-asg, named by its tag fleetkeeper:guard-alarms)");
  ASSERT_TRUE(ObserveGuardAlarm(safety(), Alarm("web-latency", "OK", "2026-12-07T01:02Z"), store));
  EXPECT_EQ(AlarmHold(safety(), wf, Pausing(wf), store), "");

  // The group is read once: the rest of the action reads no tag again and scales out.
  auto outcomes = Run(wf);
  EXPECT_EQ(Final(outcomes).status, v1::Result::SUCCEEDED) << Final(outcomes).reason;
  EXPECT_EQ(fleet_.group("web-asg").desired_capacity, 3);
}

TEST_F(HealingTagGuards, AWindowByTheGroupsTagHoldsItUnlessSelfHealingIsExempt) {
  AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
  fleet_.AddGroup("web-asg", 1, 3, 4);
  fleet_.groups["web-asg"].tags["Environment"] = "prod";
  const std::string id = fleet_.InstanceIds("web-asg").front();
  auto wf = Admit(AlarmEvent("web-StatusCheckFailed", "ALARM", {{"InstanceId", id}}));
  RunUntil(wf, step::kReplaceTerminate);
  auto hold = Window(wf);
  ASSERT_TRUE(hold.has_value());
  EXPECT_THAT(hold->reason, HasSubstr("blackout window prod-monday until 2026-12-07T10:00:00"));
  EXPECT_THAT(hold->reason, HasSubstr("for asg:web-asg tagged Environment=prod"));
  EXPECT_EQ(hold->until_ms, kMonday9 + 3600 * 1000);

  config_.mutable_safety()->set_exempt_self_healing(true);
  EXPECT_FALSE(Window(wf).has_value());
}

TEST_F(HealingTagGuards, ARebootReadsItsTargetGroupsTagsBeforeTheCallAndTheyHoldIt) {
  AddRule(config_, "reboot", "*StatusCheck*", "reboot_instance");
  SoloBehindTaggedTargetGroup({{"Environment", "prod"}, {kTag, "solo-5xx"}});
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  ASSERT_EQ(wf.step(), step::kRebootSend);

  // The mutating step's first run reads the groups and ends with their checkpoint, no call made.
  SelfHealingHandler handler(config_);
  handlers::testing::FakeStepContext ctx(&wf, &cell_.clients, &clock_);
  StepOutcome first = handler.RunStep(wf.step(), ctx);
  ASSERT_EQ(first.kind, StepOutcome::Kind::kNext) << first.reason;
  EXPECT_EQ(first.next_step, step::kRebootSend);
  EXPECT_TRUE(fleet_.rebooted.empty());
  EXPECT_THAT(Pausing(wf), Contains(std::string("tg:") + kTg));
  EXPECT_THAT(handler.LockedResources(wf), ::testing::Not(Contains(std::string("tg:") + kTg)))
      << "a target group is watched, not locked";

  auto hold = Window(wf);
  ASSERT_TRUE(hold.has_value());
  EXPECT_THAT(hold->reason, HasSubstr(std::string("for tg:") + kTg + " tagged Environment=prod"));
  MemoryCellStore store;
  ASSERT_TRUE(ObserveGuardAlarm(safety(), Alarm("solo-5xx", "ALARM", "2026-12-07T01:00Z"), store));
  EXPECT_THAT(AlarmHold(safety(), wf, Pausing(wf), store),
              HasSubstr(std::string("guarding tg:") + kTg + ", named by its tag"));

  // Let through (the engine's call), the step reboots; the tags are not read again.
  auto outcomes = Run(wf);
  EXPECT_EQ(Final(outcomes).status, v1::Result::SUCCEEDED) << Final(outcomes).reason;
  EXPECT_EQ(fleet_.rebooted, std::vector<std::string>{"i-0solo"});
}

TEST_F(HealingTagGuards, EcsForceDeployRecordsTheServicesTags) {
  AddRule(config_, "api", "api-5xx", "ecs_force_deploy");
  aws::EcsService s;
  s.name = "api";
  s.arn = "arn:aws:ecs:us-east-1:111122223333:service/prod/api";
  s.status = "ACTIVE";
  s.desired_count = s.running_count = 2;
  s.tags[kTag] = "api-latency";
  fleet_.services["api"] = s;
  auto wf = Admit(ApiAlarm());
  RunUntil(wf, step::kEcsForce);
  MemoryCellStore store;
  ASSERT_TRUE(
      ObserveGuardAlarm(safety(), Alarm("api-latency", "ALARM", "2026-12-07T01:00Z"), store));
  EXPECT_THAT(AlarmHold(safety(), wf, Pausing(wf), store),
              HasSubstr("guarding ecs:prod/api, named by its tag fleetkeeper:guard-alarms"));
}

TEST_F(StepsTest, WithoutATagGuardOrWindowNoGroupTagIsRead) {
  AddRule(config_, "reboot", "*StatusCheck*", "reboot_instance");
  fleet_.AddStandalone("i-0solo");
  EXPECT_CALL(*cell_.elbv2, DescribeTags(_)).Times(0);
  EXPECT_CALL(*cell_.elbv2, DescribeTargetGroups(_)).Times(0);
  auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
  auto outcomes = Run(wf);
  EXPECT_EQ(Final(outcomes).status, v1::Result::SUCCEEDED) << Final(outcomes).reason;
  EXPECT_EQ(wf.tagged_guards_size(), 0);
}

}  // namespace
}  // namespace fleetkeeper::handlers::self_healing::testing
