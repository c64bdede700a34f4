// Guards by a tag on the group (safety.guards[].tag): the tag's value parsed, recorded once per
// workflow and group (ASG tags as read, target group tags with ELBv2 DescribeTags), and the alarm
// guards holding a workflow's mutating steps on a group whose tag names an alarm in ALARM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "handlers/engine/guards.h"
#include "handlers/group_guards.h"
#include "tests/handlers/engine/guard_alarms.h"
#include "tests/testing/memory_cell_store.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::testing {
namespace {

using handlers::testing::MemoryCellStore;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

constexpr char kTag[] = "fleetkeeper:guard-alarms";
constexpr char kTg[] = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/01";

v1::SafetyConfig TagGuard() {
  v1::SafetyConfig s;
  s.add_guards()->set_tag(kTag);
  ApplyAlarmGuardDefaults(s);
  return s;
}

TEST(TaggedGuards, TheTagListsAlarmNamesAndGlobsSeparatedByCommas) {
  EXPECT_EQ(GuardAlarmsOfTag(" web-5xx, web-latency-* ,,db"),
            (std::vector<std::string>{"web-5xx", "web-latency-*", "db"}));
  EXPECT_TRUE(GuardAlarmsOfTag(" , ").empty());
}

TEST(TaggedGuards, ATagGuardIsValidAloneAndDeclaresDescribeTags) {
  const auto safety = TagGuard();
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  ValidateAlarmGuards(safety, check);
  EXPECT_TRUE(errors.empty()) << errors.front().path << ": " << errors.front().message;
  EXPECT_EQ(GuardTagKeys(safety), std::vector<std::string>{kTag});
  v1::WorkerConfig config;
  *config.mutable_safety() = safety;
  EXPECT_EQ(
      AlarmGuardPermissions(config),
      (std::vector<std::string>{"elasticloadbalancing:DescribeTags", "cloudwatch:DescribeAlarms"}));
}

TEST(TaggedGuards, AnAlarmTheGroupsTagNamesHoldsTheWorkflowOnThatGroupOnly) {
  const auto safety = TagGuard();
  MemoryCellStore store;
  // With a tag guard any alarm may be a guard alarm: one that fires is kept.
  ASSERT_TRUE(ObserveGuardAlarm(safety, Alarm("web-5xx", "ALARM", "2026-12-07T01:00:00Z"), store));

  v1::WorkflowCheckpoint wf;
  auto* web = wf.add_tagged_guards();
  web->set_lock("asg:web");
  web->set_tag(kTag);
  web->add_alarms("web-*");
  auto* db = wf.add_tagged_guards();  // read, no such tag
  db->set_lock("asg:db");
  db->set_tag(kTag);
  EXPECT_THAT(AlarmHold(safety, wf, {"asg:web"}, store),
              HasSubstr("paused by alarm web-5xx (in ALARM since 2026-12-07T01:00:00Z, guarding "
                        "asg:web, named by its tag fleetkeeper:guard-alarms)"));
  EXPECT_EQ(AlarmHold(safety, wf, {"asg:db"}, store), "");
  // Another workflow that never read the tag of asg:web is not held by it.
  EXPECT_EQ(AlarmHold(safety, v1::WorkflowCheckpoint{}, {"asg:web"}, store), "");
  // The tag no longer a guard in the config: nothing holds.
  EXPECT_EQ(AlarmHold(v1::SafetyConfig{}, wf, {"asg:web"}, store), "");
  // OK again: the hold ends.
  ASSERT_TRUE(ObserveGuardAlarm(safety, Alarm("web-5xx", "OK", "2026-12-07T01:05:00Z"), store));
  EXPECT_EQ(AlarmHold(safety, wf, {"asg:web"}, store), "");
}

TEST(TaggedGuards, TagsAreRecordedOncePerWorkflowAndGroup) {
  MockCell cell;
  ManualClock clock;
  v1::WorkflowCheckpoint wf;
  FakeStepContext ctx(&wf, &cell.clients, &clock);
  const std::vector<std::string> keys{kTag};

  RecordTaggedGuards(ctx, keys, "asg:web", {{kTag, "web-5xx"}, {"team", "a"}});
  RecordTaggedGuards(ctx, keys, "asg:web", {{kTag, "changed"}});  // known: not read again
  ASSERT_EQ(wf.tagged_guards_size(), 1);
  EXPECT_EQ(wf.tagged_guards(0).alarms(0), "web-5xx");

  aws::DescribeTagsResponse answer;
  answer.tags[kTg] = {{kTag, "web-latency-*"}};
  EXPECT_CALL(*cell.elbv2, DescribeTags(_))
      .WillOnce([&](const aws::DescribeTagsRequest& r) -> Result<aws::DescribeTagsResponse> {
        EXPECT_EQ(r.resource_arns, (std::vector<std::string>{kTg, "arn:other"}));
        return answer;
      });
  ASSERT_TRUE(RecordTargetGroupGuards(ctx, keys, {kTg, "arn:other", kTg}).ok());
  // Every group is known now: no second DescribeTags.
  ASSERT_TRUE(RecordTargetGroupGuards(ctx, keys, {kTg, "arn:other"}).ok());
  ASSERT_EQ(wf.tagged_guards_size(), 3);
  EXPECT_EQ(wf.tagged_guards(1).lock(), std::string("tg:") + kTg);
  EXPECT_EQ(wf.tagged_guards(1).alarms(0), "web-latency-*");
  EXPECT_EQ(wf.tagged_guards(2).lock(), "tg:arn:other");
  EXPECT_EQ(wf.tagged_guards(2).alarms_size(), 0);
  // The value is kept too, for blackout windows by tag; a group without the tag has none.
  EXPECT_EQ(wf.tagged_guards(0).value(), "web-5xx");
  EXPECT_EQ(wf.tagged_guards(1).value(), "web-latency-*");
  EXPECT_FALSE(wf.tagged_guards(2).has_value());

  // No tag guard configured: nothing is read or recorded.
  v1::WorkflowCheckpoint other;
  FakeStepContext plain(&other, &cell.clients, &clock);
  ASSERT_TRUE(RecordTargetGroupGuards(plain, {}, {kTg}).ok());
  EXPECT_EQ(other.tagged_guards_size(), 0);
}

TEST(TaggedGuards, AFailedTagReadIsAnError) {
  MockCell cell;
  ManualClock clock;
  v1::WorkflowCheckpoint wf;
  FakeStepContext ctx(&wf, &cell.clients, &clock);
  EXPECT_CALL(*cell.elbv2, DescribeTags(_))
      .WillOnce(Return(Result<aws::DescribeTagsResponse>(
          Error(ErrorCode::kAws, "AccessDenied: not authorized to perform DescribeTags"))));
  auto st = RecordTargetGroupGuards(ctx, {kTag}, {kTg});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("DescribeTags"));
  EXPECT_EQ(wf.tagged_guards_size(), 0) << "a group whose tags were not read is read again";
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
