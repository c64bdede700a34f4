// Blackout windows (handlers/engine/blackout.h): which windows hold which workflows and until
// when (by cell, resource or group tag), their config checks, and the runtime waiting for a
// window's end on a timer.
#include "handlers/engine/blackout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "common/clock.h"
#include "common/duration.h"
#include "fleetkeeper/v1/safety_guards.pb.h"
#include "handlers/engine/guards.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

v1::BlackoutWindow Window(const std::string& cron, int64_t duration_ms,
                          const std::string& zone = "") {
  v1::BlackoutWindow w;
  w.set_cron(cron);
  *w.mutable_duration() = DurationOfMs(duration_ms);
  w.set_time_zone(zone);
  return w;
}

v1::SafetyConfig Windows(std::vector<v1::BlackoutWindow> windows) {
  v1::SafetyConfig s;
  for (auto& w : windows) *s.add_blackout() = std::move(w);
  ApplyBlackoutDefaults(s);
  return s;
}

v1::WorkflowCheckpoint Workflow(const std::string& cell = "111122223333/us-east-1") {
  v1::WorkflowCheckpoint wf;
  wf.set_cell(cell);
  return wf;
}

int64_t At(const char* rfc3339) { return ParseRfc3339Ms(rfc3339); }

constexpr int64_t kHour = 3600 * 1000;

// 2026-12-07 is a Monday.
TEST(BlackoutCalendar, InsideAWindowTheHoldLastsUntilItCloses) {
  BlackoutCalendar calendar(Windows({Window("0 9 * * MON", 2 * kHour)}));
  EXPECT_FALSE(calendar.HoldAt(Workflow(), {"asg:web"}, At("2026-12-07T08:59:59Z")));
  auto hold = calendar.HoldAt(Workflow(), {"asg:web"}, At("2026-12-07T09:30:00Z"));
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->until_ms, At("2026-12-07T11:00:00Z"));
  EXPECT_THAT(hold->reason, HasSubstr("blackout window blackout[0] until 2026-12-07T11:00:00"));
  EXPECT_THAT(hold->reason, HasSubstr("0 9 * * MON UTC"));
  EXPECT_FALSE(calendar.HoldAt(Workflow(), {"asg:web"}, At("2026-12-07T11:00:00Z")));
  EXPECT_FALSE(calendar.HoldAt(Workflow(), {"asg:web"}, At("2026-12-08T09:30:00Z")));
}

TEST(BlackoutCalendar, TheTimeZoneIsTheWindowsOwn) {
  // 09:00 in Berlin is 08:00 UTC in December.
  BlackoutCalendar calendar(Windows({Window("0 9 * * MON", kHour, "Europe/Berlin")}));
  auto hold = calendar.HoldAt(Workflow(), {}, At("2026-12-07T08:10:00Z"));
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->until_ms, At("2026-12-07T09:00:00Z"));
  EXPECT_FALSE(calendar.HoldAt(Workflow(), {}, At("2026-12-07T09:10:00Z")));
}

TEST(BlackoutCalendar, OverlappingWindowsHoldUntilTheLastOneCloses) {
  auto late = Window("30 9 * * *", 2 * kHour);
  late.set_name("late");
  BlackoutCalendar calendar(Windows({Window("0 9 * * *", kHour), late}));
  auto hold = calendar.HoldAt(Workflow(), {}, At("2026-12-07T09:45:00Z"));
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->until_ms, At("2026-12-07T11:30:00Z"));
  EXPECT_THAT(hold->reason, HasSubstr("blackout window late"));
}

TEST(BlackoutCalendar, AWindowForSomeCellsOrResourcesHoldsOnlyThose) {
  auto w = Window("0 9 * * *", kHour);
  w.add_cells("111122223333/eu-*");
  w.add_resources("asg:web-*");
  BlackoutCalendar calendar(Windows({w}));
  const int64_t now = At("2026-12-07T09:10:00Z");
  EXPECT_TRUE(calendar.HoldAt(Workflow("111122223333/eu-west-1"), {"asg:web-blue"}, now));
  EXPECT_FALSE(calendar.HoldAt(Workflow("111122223333/us-east-1"), {"asg:web-blue"}, now));
  EXPECT_FALSE(calendar.HoldAt(Workflow("111122223333/eu-west-1"), {"asg:db"}, now));
}

// A group's tag as the workflow recorded it (handlers/group_guards.h); no value: read, no tag.
void Tagged(v1::WorkflowCheckpoint& wf, const std::string& lock, const std::string& key,
            const char* value) {
  v1::TaggedGuard* g = wf.add_tagged_guards();
  g->set_lock(lock);
  g->set_tag(key);
  if (value != nullptr) g->set_value(value);
}

TEST(BlackoutCalendar, AWindowByTagHoldsTheWorkflowsWhoseGroupsCarryTheTag) {
  auto w = Window("0 9 * * *", kHour);
  w.set_name("prod-freeze");
  (*w.mutable_tags())["Environment"] = "prod*";
  (*w.mutable_tags())["Critical"] = "";  // the key alone: any value
  BlackoutCalendar calendar(Windows({w}));
  const int64_t now = At("2026-12-07T09:10:00Z");
  const std::string tg = "tg:arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/01";

  v1::WorkflowCheckpoint prod = Workflow();
  Tagged(prod, "asg:batch", "Environment", "staging");
  Tagged(prod, tg, "Environment", "production");
  auto hold = calendar.HoldAt(prod, {"asg:batch", tg, "instance:i-1"}, now);
  ASSERT_TRUE(hold);
  EXPECT_THAT(hold->reason, HasSubstr("blackout window prod-freeze until 2026-12-07T10:00:00"));
  EXPECT_THAT(hold->reason, HasSubstr("for " + tg + " tagged Environment=production"));
  // The tagged group is no longer among what the workflow changes: not held.
  EXPECT_FALSE(calendar.HoldAt(prod, {"asg:batch", "instance:i-1"}, now));
  // Outside the window: not held.
  EXPECT_FALSE(calendar.HoldAt(prod, {tg}, At("2026-12-07T10:00:00Z")));

  v1::WorkflowCheckpoint critical = Workflow();
  Tagged(critical, "asg:db", "Critical", "");
  EXPECT_TRUE(calendar.HoldAt(critical, {"asg:db"}, now));

  v1::WorkflowCheckpoint other = Workflow();
  Tagged(other, "asg:web", "Environment", "staging");
  Tagged(other, "asg:web", "Critical", nullptr);  // read: the group has no such tag
  Tagged(other, "asg:web", "Team", "prod");       // a key no window names
  EXPECT_FALSE(calendar.HoldAt(other, {"asg:web"}, now));
  // Tags never read (a handler that records none) hold nothing.
  EXPECT_FALSE(calendar.HoldAt(Workflow(), {"asg:web"}, now));

  // A window with both resources and tags holds what either names.
  w.add_resources("asg:web");
  BlackoutCalendar both(Windows({w}));
  EXPECT_TRUE(both.HoldAt(other, {"asg:web"}, now));
  EXPECT_TRUE(both.HoldAt(critical, {"asg:db"}, now));
  EXPECT_FALSE(both.HoldAt(Workflow(), {"asg:db"}, now));
}

TEST(BlackoutCalendar, TagKeysOfTheWindowsAreReadOnTheGroupsWithDescribeTags) {
  auto a = Window("0 9 * * *", kHour);
  (*a.mutable_tags())["Environment"] = "prod";
  auto b = Window("0 22 * * *", kHour);
  (*b.mutable_tags())["Environment"] = "staging";
  (*b.mutable_tags())["Critical"] = "";
  v1::SafetyConfig safety = Windows({a, b, Window("0 1 * * *", kHour)});
  std::vector<std::string> keys = BlackoutTagKeys(safety);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"Critical", "Environment"}));
  safety.add_guards()->set_tag("fleetkeeper:guard-alarms");
  EXPECT_EQ(GroupTagKeys(safety).front(), "fleetkeeper:guard-alarms");
  EXPECT_EQ(GroupTagKeys(safety).size(), 3u);
  v1::WorkerConfig config;
  *config.mutable_safety() = Windows({a});
  EXPECT_EQ(AlarmGuardPermissions(config),
            std::vector<std::string>{"elasticloadbalancing:DescribeTags"});
}

TEST(BlackoutCalendar, SelfHealingRunsInsideWhenTheConfigExemptsIt) {
  auto safety = Windows({Window("0 9 * * *", kHour)});
  v1::WorkflowCheckpoint healing = Workflow();
  healing.mutable_trigger()->mutable_alarm()->set_alarm_name("web-status");
  const int64_t now = At("2026-12-07T09:10:00Z");
  EXPECT_TRUE(BlackoutCalendar(safety).HoldAt(healing, {"instance:i-1"}, now));
  safety.set_exempt_self_healing(true);
  EXPECT_FALSE(BlackoutCalendar(safety).HoldAt(healing, {"instance:i-1"}, now));
  EXPECT_TRUE(BlackoutCalendar(safety).HoldAt(Workflow(), {"instance:i-1"}, now));
}

TEST(BlackoutCalendar, ConfigErrorsNameTheKey) {
  auto no_duration = Window("0 9 * * *", 0);
  no_duration.clear_duration();
  auto safety = Windows({Window("0 25 * * *", kHour), Window("0 9 * * *", kHour, "Mars/Base"),
                         no_duration, Window("", kHour), Window("0 9 * * *", -kHour)});
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  ValidateBlackout(safety, check);
  std::vector<std::string> paths;
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre(
                         "safety.blackout[0].cron", "safety.blackout[1].time_zone",
                         "safety.blackout[2].duration", "safety.blackout[3].cron",
                         "safety.blackout[4].duration"));
  errors.clear();
  auto blank_key = Window("0 9 * * *", kHour);
  (*blank_key.mutable_tags())[" "] = "prod";
  auto long_key = Window("0 9 * * *", kHour);
  (*long_key.mutable_tags())[std::string(129, 'k')] = "";
  auto long_value = Window("0 9 * * *", kHour);
  (*long_value.mutable_tags())["Environment"] = std::string(257, 'v');
  ValidateBlackout(Windows({blank_key, long_key, long_value}), check);
  paths.clear();
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_THAT(paths,
              ::testing::ElementsAre("safety.blackout[0].tags",
                                     "safety.blackout[1].tags[\"" + std::string(129, 'k') + "\"]",
                                     "safety.blackout[2].tags[\"Environment\"]"));
  errors.clear();
  ValidateBlackout(Windows({Window("0 9 * * MON-FRI", kHour, "America/New_York")}), check);
  EXPECT_TRUE(errors.empty()) << errors[0].ToString();
}

// A workflow reaching a window waits for its end: the partition wakes at that instant (a timer),
// with no event and no change, and the step starts then.
TEST(BlackoutCalendar, AWorkflowReachingAWindowWaitsForItsEndOnATimer) {
  RuntimeRig rig;
  // The rig's clock starts at 2023-11-14T22:13:20Z: inside 22:00-22:30 UTC.
  *rig.config().mutable_safety() = Windows({Window("0 22 * * *", kHour / 2)});
  rig.handler().mutating = {"act"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.Own(1);
  rig.Consume(1, EcsCommand("req-b", "web"));
  rig.Commit();
  rig.Turn();
  Batch held = rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 0u);
  auto notes = held.Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(),
              HasSubstr("blackout window blackout[0] until 2023-11-14T22:30:00"));
  ASSERT_FALSE(held.Checkpoints().empty());
  EXPECT_THAT(held.Checkpoints().back().waiting_on(), HasSubstr("until 2023-11-14T22:30:00"));

  rig.clock().Advance(16 * 60 * 1000 + 39 * 1000);  // 22:29:59
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 0u);
  rig.clock().Advance(1000);
  auto done = rig.Turn().Results(v1::Result::SUCCEEDED);
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u);
  EXPECT_EQ(done.size(), 1u);
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
