// The tags of a rollout's groups that the safety guards read (blackout windows by tag, guard
// alarms named by a tag): a standalone instance's target group is read with ELBv2 DescribeTags
// once the instance is captured, and its tags are in the checkpoint before the rollout's first
// call on it, so that the engine's guards decide with them. The tags answer follows
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "common/duration.h"
#include "handlers/engine/blackout.h"
#include "tests/handlers/ami_rollout/rollout_fixture.h"

namespace fleetkeeper::handlers::ami_rollout::testing {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

// The instance joins the tagged target group after the rollout planned: the group is first seen
// when the instance's turn comes (its capture), and read in the tick after, which must end before
// the instance is deregistered so that the window decides first.
TEST_F(RolloutTest, AWindowByTheTargetGroupsTagHoldsTheRolloutBeforeItsFirstCall) {
  const std::string id = fleet.AddInstance(kOldAmi, {{kParameterTag, kParameter}}).instance.id;
  const std::string tg =
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web";  // AddTargetGroup's
  v1::BlackoutWindow w;
  w.set_name("prod-freeze");
  w.set_cron("0 0 * * *");
  *w.mutable_duration() = DurationOfMs(24 * 3600 * 1000);  // open all day
  (*w.mutable_tags())["Environment"] = "prod";
  *worker.mutable_safety()->add_blackout() = w;
  ApplyBlackoutDefaults(*worker.mutable_safety());
  aws::DescribeTagsResponse tags;
  tags.tags[tg] = {{"Environment", "prod"}, {"Team", "web"}};
  EXPECT_CALL(*cell.elbv2, DescribeTags(_)).WillOnce(Return(tags));
  const BlackoutCalendar calendar(worker.safety());

  // The steps as the runtime runs them: the window is looked at before each mutating step.
  wf = Admit();
  std::optional<BlackoutHold> hold;
  for (int i = 0; i < 50; ++i) {
    if (Handler().StepMutates(wf.step())) {
      hold = calendar.HoldAt(wf, Handler().LockedResources(wf), clock.NowMs());
      if (hold) break;
    }
    handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
    StepOutcome o = Handler().RunStep(wf.step(), ctx);
    ASSERT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason << "\n" << Describe();
    if (wf.step() == kStepPlanTargets) {
      EXPECT_TRUE(State().instances(0).capture().target_groups().empty());
      ASSERT_EQ(fleet.AddTargetGroup("web", {id}), tg);
    }
    if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms);
    wf.set_step(o.next_step);
  }
  ASSERT_TRUE(hold) << "the window never held the rollout";
  EXPECT_THAT(hold->reason, HasSubstr("blackout window prod-freeze until"));
  EXPECT_THAT(hold->reason, HasSubstr("for tg:" + tg + " tagged Environment=prod"));
  EXPECT_TRUE(fleet.mutations.empty()) << "a call inside the window: " << fleet.mutations.front();
  EXPECT_TRUE(fleet.target_groups.at(tg).targets.count(id));
  EXPECT_EQ(State().instances(0).phase(), "deregister-old");  // captured, nothing changed
}

}  // namespace
}  // namespace fleetkeeper::handlers::ami_rollout::testing
