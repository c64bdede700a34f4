// Guard alarms named by a tag on the target groups a patch campaign drains from (docs/safety.md,
// "Guards by a tag on the group"): read once, at discovery, into the checkpoint, through the path
// the AMI rollout takes (handlers/group_guards.h); the engine's guards then pause the campaign, or
// roll it back, while an alarm the tag names is in ALARM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "handlers/engine/blackout.h"
#include "handlers/engine/guards.h"
#include "tests/handlers/engine/guard_alarms.h"
#include "tests/handlers/patch/patch_fixture.h"
#include "tests/testing/memory_cell_store.h"

namespace fleetkeeper::handlers::patch::testing {
namespace {

using handlers::testing::Alarm;
using handlers::testing::MemoryCellStore;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kTag[] = "fleetkeeper:guard-alarms";

class PatchTagGuards : public PatchWorkflow {
 protected:
  PatchTagGuards() {
    config.mutable_safety()->add_guards()->set_tag(kTag);
    ApplyAlarmGuardDefaults(*config.mutable_safety());
  }

  const v1::SafetyConfig& safety() const { return config.safety(); }
};

TEST_F(PatchTagGuards, DiscoveryReadsEachGroupsTagOnceAndAnAlarmItNamesGuardsTheCampaign) {
  auto ids = LandingZone(4);  // two instances in tg_a, two in tg_b
  aws::DescribeTagsResponse answer;
  answer.tags[tg_a] = {{kTag, "web-5xx, web-latency-*"}, {"team", "web"}};
  answer.tags[tg_b] = {{"team", "api"}};
  EXPECT_CALL(*cell.elbv2, DescribeTags(_))
      .WillOnce([&](const aws::DescribeTagsRequest& r) -> Result<aws::DescribeTagsResponse> {
        EXPECT_THAT(r.resource_arns, UnorderedElementsAre(tg_a, tg_b));
        return answer;
      });
  auto a = Admit(Request());
  v1::WorkflowCheckpoint& wf = a.workflow;
  Drive(wf, {}, {}, 1);  // discover
  ASSERT_EQ(wf.step(), kStepGate);
  ASSERT_EQ(wf.tagged_guards_size(), 2);
  for (const auto& g : wf.tagged_guards()) {
    EXPECT_EQ(g.tag(), kTag);
    if (g.lock() == "tg:" + tg_a) {
      EXPECT_THAT(g.alarms(), ::testing::ElementsAre("web-5xx", "web-latency-*"));
    } else {
      EXPECT_EQ(g.lock(), "tg:" + tg_b);
      EXPECT_EQ(g.alarms_size(), 0) << "read without the tag: recorded with no alarms";
    }
  }

  MemoryCellStore store;
  ASSERT_TRUE(
      ObserveGuardAlarm(safety(), Alarm("web-latency-p99", "ALARM", "2026-12-07T01:00Z"), store));
  // Paused: the campaign drains its instances from tg_a, whose tag names the alarm.
  EXPECT_THAT(AlarmHold(safety(), wf, handler->PausingResources(wf), store),
              HasSubstr("paused by alarm web-latency-p99 (in ALARM since 2026-12-07T01:00Z, "
                        "guarding tg:" +
                        tg_a + ", named by its tag fleetkeeper:guard-alarms)"));
  // Or rolled back, where on_guard_alarm says so for patch.
  EXPECT_THAT(GuardAlarmFiring(safety(), wf, handler->GuardedResources(wf), store),
              HasSubstr("guarding tg:" + tg_a + ", named by its tag"));
  // An alarm no tag names guards nothing; nor does the tagged one once it is OK.
  ASSERT_TRUE(ObserveGuardAlarm(safety(), Alarm("api-5xx", "ALARM", "2026-12-07T01:01Z"), store));
  ASSERT_TRUE(
      ObserveGuardAlarm(safety(), Alarm("web-latency-p99", "OK", "2026-12-07T01:02Z"), store));
  EXPECT_EQ(AlarmHold(safety(), wf, handler->PausingResources(wf), store), "");

  // The rest of the campaign reads no tag again (DescribeTags once).
  auto o = Drive(wf);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(wf.tagged_guards_size(), 2);
}

// A blackout window by tag holds a campaign whose target group carries the tag: the groups it
// drains from are what it watches (PausingResources), though it locks only its instances.
TEST_F(PatchWorkflow, AWindowByATargetGroupsTagHoldsTheCampaign) {
  auto* w = config.mutable_safety()->add_blackout();
  w->set_name("prod-monday");
  w->set_cron("0 9 * * MON");
  w->mutable_duration()->set_seconds(3600);
  (*w->mutable_tags())["Environment"] = "prod";
  ApplyBlackoutDefaults(*config.mutable_safety());
  LandingZone(4);
  aws::DescribeTagsResponse answer;
  answer.tags[tg_b] = {{"Environment", "prod"}};
  EXPECT_CALL(*cell.elbv2, DescribeTags(_)).WillOnce(::testing::Return(answer));
  auto a = Admit(Request());
  v1::WorkflowCheckpoint& wf = a.workflow;
  Drive(wf, {}, {}, 1);                        // discover
  constexpr int64_t kMonday9 = 1796634000000;  // 2026-12-07T09:00:00Z
  auto hold =
      BlackoutCalendar(config.safety())
          .HoldAt(wf, handler->LockedResources(wf), handler->PausingResources(wf), kMonday9 + 1000);
  ASSERT_TRUE(hold.has_value());
  EXPECT_THAT(hold->reason, HasSubstr("for tg:" + tg_b + " tagged Environment=prod"));
  // Matched against its locks alone (its instances), the window would not see the group.
  EXPECT_FALSE(BlackoutCalendar(config.safety())
                   .HoldAt(wf, handler->LockedResources(wf), kMonday9 + 1000)
                   .has_value());
}

TEST_F(PatchWorkflow, WithoutATagGuardNoTagIsRead) {
  LandingZone(2);
  EXPECT_CALL(*cell.elbv2, DescribeTags(_)).Times(0);
  auto a = Admit(Request());
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(a.workflow.tagged_guards_size(), 0);
}

TEST_F(PatchTagGuards, AFailedTagReadFailsTheCampaignBeforeAnythingIsTouched) {
  LandingZone(2);
  EXPECT_CALL(*cell.elbv2, DescribeTags(_))
      .WillOnce(::testing::Return(Result<aws::DescribeTagsResponse>(
          Error(ErrorCode::kAws, "AccessDenied: not authorized to perform DescribeTags"))));
  auto a = Admit(Request());
  auto o = Drive(a.workflow);
  EXPECT_EQ(o.status, v1::Result::FAILED);
  EXPECT_THAT(o.reason, HasSubstr("describe-tags of the target groups"));
  EXPECT_THAT(o.reason, HasSubstr("AccessDenied"));
  EXPECT_EQ(fleet.MutatingCalls(), 0);
  EXPECT_TRUE(ssm.calls.empty());
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch::testing
