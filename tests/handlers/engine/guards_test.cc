// Alarm guards (handlers/engine/guards.h): which alarms guard which resources, the state a cell
// keeps of them, and the runtime holding mutating steps while a guard alarm is in ALARM.
#include "handlers/engine/guards.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "awsclient/cloudwatch.h"
#include "common/duration.h"
#include "fleetkeeper/v1/safety_guards.pb.h"
#include "handlers/registry.h"
#include "tests/handlers/engine/guard_alarms.h"
#include "tests/handlers/engine/runtime_fixture.h"
#include "tests/testing/memory_cell_store.h"
#include "tests/testing/aws_mocks.h"

namespace fleetkeeper::handlers::testing {
namespace {

using handlers::testing::MemoryCellStore;
using ::testing::HasSubstr;

constexpr int32_t kP = 2;
constexpr char kTgArn[] =
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef";

v1::AlarmGuard Guard(const std::string& name, const std::string& scope = "any") {
  v1::AlarmGuard g;
  g.set_alarm_name(name);
  g.set_scope(scope);
  return g;
}

v1::SafetyConfig Guards(std::vector<v1::AlarmGuard> guards) {
  v1::SafetyConfig s;
  for (auto& g : guards) *s.add_guards() = std::move(g);
  ApplyAlarmGuardDefaults(s);
  return s;
}

TEST(AlarmGuards, DimensionsNameTheGuardedResourceWithinTheScope) {
  const auto tg =
      Alarm("web-5xx", "ALARM", "",
            {{"TargetGroup", "targetgroup/web/0123456789abcdef"}, {"LoadBalancer", "app/web/1"}});
  EXPECT_TRUE(AlarmWatches(Guard("*5xx*"), tg, std::string("tg:") + kTgArn));
  EXPECT_TRUE(AlarmWatches(Guard("*5xx*", "target_group"), tg, std::string("tg:") + kTgArn));
  EXPECT_FALSE(AlarmWatches(Guard("*5xx*", "asg"), tg, std::string("tg:") + kTgArn));
  EXPECT_FALSE(AlarmWatches(Guard("*5xx*"), tg,
                            "tg:arn:aws:elasticloadbalancing:us-east-1:111122223333:"
                            "targetgroup/api/0123456789abcdef"));

  const auto asg = Alarm("cpu", "ALARM", "", {{"AutoScalingGroupName", "web"}});
  EXPECT_TRUE(AlarmWatches(Guard("cpu"), asg, "asg:web"));
  EXPECT_FALSE(AlarmWatches(Guard("cpu"), asg, "asg:web2"));
  EXPECT_FALSE(AlarmWatches(Guard("cpu", "instance"), asg, "asg:web"));

  const auto inst = Alarm("status", "ALARM", "", {{"InstanceId", "i-0123456789abcdef0"}});
  EXPECT_TRUE(AlarmWatches(Guard("status"), inst, "instance:i-0123456789abcdef0"));
  const auto svc = Alarm("svc", "ALARM", "", {{"ClusterName", "prod"}, {"ServiceName", "api"}});
  EXPECT_TRUE(AlarmWatches(Guard("svc", "ecs_service"), svc, "ecs:prod/api"));
  EXPECT_FALSE(AlarmWatches(Guard("svc", "ecs_service"), svc, "ecs:prod/web"));

  // A metric-math or composite alarm names no dimension: the guard lists what it watches.
  auto composite = Guard("site-health");
  composite.add_resources("asg:web-*");
  const auto site = Alarm("site-health", "ALARM", "");
  EXPECT_TRUE(AlarmWatches(composite, site, "asg:web-blue"));
  EXPECT_FALSE(AlarmWatches(composite, site, "asg:db"));
}

TEST(AlarmGuards, GuardForMatchesNamesAndGlobsInOrder) {
  const auto safety = Guards({Guard("exact-alarm"), Guard("*5xx*", "target_group")});
  ASSERT_NE(GuardFor(safety, "exact-alarm"), nullptr);
  EXPECT_EQ(GuardFor(safety, "web-5xx-high")->scope(), "target_group");
  EXPECT_EQ(GuardFor(safety, "exact-alarm-2"), nullptr);
}

TEST(AlarmGuards, TheCellKeepsTheNewestStateOfGuardAlarmsOnly) {
  const auto safety = Guards({Guard("web-*")});
  MemoryCellStore store;
  EXPECT_FALSE(ObserveGuardAlarm(safety, Alarm("db-cpu", "ALARM", "2026-12-06T10:00:00Z"), store))
      << "not a guard alarm";
  EXPECT_FALSE(ObserveGuardAlarm(safety, Alarm("web-5xx", "OK", "2026-12-06T10:00:00Z"), store))
      << "an alarm that never fired needs no record";
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(ObserveGuardAlarm(
      safety, Alarm("web-5xx", "ALARM", "2026-12-06T10:00:05Z", {{"AutoScalingGroupName", "web"}}),
      store));
  // The same state again (the fallback read of an alarm already known) writes nothing.
  EXPECT_FALSE(ObserveGuardAlarm(
      safety, Alarm("web-5xx", "ALARM", "2026-12-06T10:00:05Z", {{"AutoScalingGroupName", "web"}}),
      store));
  // A late OK from before the ALARM changes nothing.
  EXPECT_FALSE(ObserveGuardAlarm(safety, Alarm("web-5xx", "OK", "2026-12-06T10:00:01Z"), store));

  v1::WorkflowCheckpoint wf;
  EXPECT_THAT(AlarmHold(safety, wf, {"asg:web"}, store),
              HasSubstr("paused by alarm web-5xx (in ALARM since 2026-12-06T10:00:05Z"));
  EXPECT_EQ(AlarmHold(safety, wf, {"asg:db"}, store), "");
  // A self-healing workflow started by that alarm is not held by it.
  v1::WorkflowCheckpoint healing;
  healing.mutable_trigger()->mutable_alarm()->set_alarm_name("web-5xx");
  EXPECT_EQ(AlarmHold(safety, healing, {"asg:web"}, store), "");

  // OK (an event without dimensions, as an SNS notification of a metric-math alarm has none)
  // ends the hold and keeps the dimensions for the next ALARM.
  EXPECT_TRUE(ObserveGuardAlarm(safety, Alarm("web-5xx", "OK", "2026-12-06T10:01:00Z"), store));
  EXPECT_EQ(AlarmHold(safety, wf, {"asg:web"}, store), "");
  EXPECT_TRUE(ObserveGuardAlarm(safety, Alarm("web-5xx", "ALARM", "2026-12-06T10:02:00Z"), store));
  EXPECT_NE(AlarmHold(safety, wf, {"asg:web"}, store), "");
  // A guard removed from the config no longer holds anything.
  EXPECT_EQ(AlarmHold(Guards({Guard("api-*")}), wf, {"asg:web"}, store), "");
}

TEST(AlarmGuards, DescribeAlarmsAnswersTakeTheEventsShape) {
  aws::MetricAlarm m;
  m.name = "web-5xx";
  m.arn = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-5xx";
  m.state_value = "ALARM";
  m.state_updated_ms = 1765015205000;  // 2025-12-06T10:00:05Z
  m.metric_namespace = "AWS/ApplicationELB";
  m.metric_name = "HTTPCode_Target_5XX_Count";
  m.dimensions = {{"TargetGroup", "targetgroup/web/0123456789abcdef"}};
  const auto s = AlarmStateOf(m);
  EXPECT_EQ(s.state(), "ALARM");
  EXPECT_EQ(s.state_time(), "2025-12-06T10:00:05.000Z");
  EXPECT_TRUE(AlarmWatches(Guard("web-5xx"), s, std::string("tg:") + kTgArn));
}

TEST(AlarmGuards, ConfigErrorsNameTheKey) {
  auto safety = Guards({Guard(""), Guard("x", "cluster")});
  auto* both = safety.add_guards();  // alarm_name or a tag, not both
  both->set_tag("fleetkeeper:guard-alarms");
  both->set_alarm_name("web-*");
  ApplyAlarmGuardDefaults(safety);  // as loading does, before the checks
  safety.set_on_guard_alarm("undo");
  (*safety.mutable_on_guard_alarm_per_handler())["self_healing"] = "rollback";
  (*safety.mutable_on_guard_alarm_per_handler())["patches"] = "pause";
  (*safety.mutable_on_guard_alarm_per_handler())["ami_rollout"] = "retreat";
  *safety.mutable_guard_poll_interval() = DurationOfMs(-1000);
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  ValidateAlarmGuards(safety, check);
  std::vector<std::string> paths;
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_THAT(
      paths,
      ::testing::UnorderedElementsAre(
          "safety.guards[0].alarm_name", "safety.guards[1].scope", "safety.guards[2].tag",
          "safety.on_guard_alarm", "safety.on_guard_alarm_per_handler[\"self_healing\"]",
          "safety.on_guard_alarm_per_handler[\"patches\"]",
          "safety.on_guard_alarm_per_handler[\"ami_rollout\"]", "safety.guard_poll_interval"));
}

TEST(AlarmGuards, RollbackIsPerHandlerForTheHandlersThatCan) {
  v1::SafetyConfig safety;
  ApplyAlarmGuardDefaults(safety);
  EXPECT_FALSE(RollsBackOnGuardAlarm(safety, "ami_rollout")) << "pause by default";
  (*safety.mutable_on_guard_alarm_per_handler())["patch"] = "rollback";
  EXPECT_TRUE(RollsBackOnGuardAlarm(safety, "patch"));
  EXPECT_FALSE(RollsBackOnGuardAlarm(safety, "ami_rollout"));
  safety.set_on_guard_alarm("rollback");
  (*safety.mutable_on_guard_alarm_per_handler())["ami_rollout"] = "pause";
  EXPECT_FALSE(RollsBackOnGuardAlarm(safety, "ami_rollout")) << "the handler's entry wins";
  EXPECT_TRUE(RollsBackOnGuardAlarm(safety, "patch"));
  EXPECT_FALSE(RollsBackOnGuardAlarm(safety, "self_healing")) << "it has no rollback: it pauses";
  EXPECT_FALSE(RollsBackOnGuardAlarm(safety, "ecs"));
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  ValidateAlarmGuards(safety, check);
  EXPECT_TRUE(errors.empty()) << errors.front().path;
}

// An alarm on the Auto Scaling group "web".
TEST(AlarmGuards, TheFallbackReadIsDeclaredUnderSafety) {
  v1::WorkerConfig config;
  EXPECT_TRUE(AlarmGuardPermissions(config).empty()) << "no guards, no read";
  *config.mutable_safety() = Guards({Guard("web-*")});
  EXPECT_EQ(AlarmGuardPermissions(config), std::vector<std::string>{"cloudwatch:DescribeAlarms"});
  auto declared = HandlerPermissions(config);
  ASSERT_FALSE(declared.empty());
  EXPECT_EQ(declared.back().owner, "safety");
  EXPECT_EQ(declared.back().actions, AlarmGuardPermissions(config));
  *config.mutable_safety()->mutable_guard_poll_interval() = DurationOfMs(0);
  EXPECT_TRUE(AlarmGuardPermissions(config).empty()) << "events only: nothing to call";
}

v1::Event WebAlarm(const std::string& id, const std::string& state, const std::string& time) {
  v1::Event e = AlarmAt(id, time, state);
  (*e.mutable_alarm()->mutable_dimensions())["AutoScalingGroupName"] = "web";
  return e;
}

// The issue's rule: while a guard alarm on a group is in ALARM no workflow starts a mutating step
// on it; the pause is in the result and in fleet.state; a restore keeps it; OK resumes.
TEST(AlarmGuards, AGuardAlarmPausesMutatingStepsOnItsGroupUntilOk) {
  RuntimeRig rig;
  *rig.config().mutable_safety() = Guards({Guard("web-*")});
  rig.handler().mutating = {"act"};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.Own(kP);
  rig.Consume(kP, WebAlarm("alarm-1", "ALARM", "2026-12-06T10:00:00Z"));
  rig.Consume(kP, EcsCommand("req-web", "web"));
  rig.Consume(kP, EcsCommand("req-db", "db"));
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "first"), 2u) << "read-only steps run";
  Batch held = rig.Turn();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u) << "only the db workflow's mutating step ran";
  auto notes = held.Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("paused by alarm web-5xx"));
  EXPECT_THAT(notes[0].reason(), HasSubstr("guarding asg:web"));
  bool checkpointed = false;
  for (const auto& cp : held.Checkpoints()) {
    checkpointed |= cp.waiting_on().find("paused by alarm web-5xx") == 0;
  }
  EXPECT_TRUE(checkpointed) << "`fleetkeeper workflows` reads the pause from fleet.state";

  // A new owner restores the alarm's state with the cell: still paused.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u);

  rig.Consume(kP, WebAlarm("alarm-2", "OK", "2026-12-06T10:05:00Z"));
  rig.Commit();
  auto done = rig.Turn().Results(v1::Result::SUCCEEDED);
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 2u);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].correlation_id(), "req-web");
}

// A handler may be paused by alarms on resources it does not lock (a patch drains its instances
// from target groups it shares with other workflows): PausingResources, not LockedResources.
TEST(AlarmGuards, AnAlarmOnAResourceTheHandlerIsPausedByButDoesNotLockHoldsIt) {
  RuntimeRig rig;
  *rig.config().mutable_safety() = Guards({Guard("web-*", "target_group")});
  rig.handler().mutating = {"act"};
  rig.handler().also_paused_by = {std::string("tg:") + kTgArn};
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.Own(kP);
  v1::Event alarm = AlarmAt("alarm-1", "2026-12-06T10:00:00Z", "ALARM");
  (*alarm.mutable_alarm()->mutable_dimensions())["TargetGroup"] =
      "targetgroup/web/0123456789abcdef";
  rig.Consume(kP, alarm);
  rig.Consume(kP, EcsCommand("req-db", "db"));  // locks asg:db only
  rig.Commit();
  rig.Turn();
  auto notes = rig.Turn().Results(v1::Result::IN_PROGRESS);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 0u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr(std::string("guarding tg:") + kTgArn));

  v1::Event ok = AlarmAt("alarm-2", "2026-12-06T10:05:00Z", "OK");
  (*ok.mutable_alarm()->mutable_dimensions())["TargetGroup"] = "targetgroup/web/0123456789abcdef";
  rig.Consume(kP, ok);
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "act"), 1u);
}

// With on_guard_alarm rollback for the handler, the alarm does not hold the workflow: the runtime
// marks it (guard_rollback, checkpointed, kept by a restore) and its steps run, rolling back.
TEST(AlarmGuards, WithRollbackTheAlarmMarksTheWorkflowAndItsStepsRun) {
  RuntimeRig rig;
  *rig.config().mutable_safety() = Guards({Guard("web-*")});
  // The scripted handler stands for one that rolls back (validation allows only ami_rollout and
  // patch).
  (*rig.config().mutable_safety()->mutable_on_guard_alarm_per_handler())["scripted"] = "rollback";
  rig.handler().mutating = {"act", "undo"};
  std::mutex mu;
  std::vector<std::string> seen;  // guard_rollback as each mutating step saw it
  auto record = [&](const char* next) {
    return [&, next](StepContext& c) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(c.workflow().guard_rollback());
      return StepOutcome::Next(next);
    };
  };
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Next("act"); });
  rig.handler().On("act", record("undo"));
  rig.handler().On("undo", [&](StepContext& c) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(c.workflow().guard_rollback());
    return StepOutcome::Finish(v1::Result::FAILED, c.workflow().guard_rollback());
  });
  rig.Own(kP);
  rig.Consume(kP, WebAlarm("alarm-1", "ALARM", "2026-12-06T10:00:00Z"));
  rig.Consume(kP, EcsCommand("req-web", "web"));
  rig.Commit();
  rig.Turn();
  Batch marked = rig.Turn();
  auto notes = marked.Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("rolling back on guard alarm web-5xx"));
  bool checkpointed = false;
  for (const auto& cp : marked.Checkpoints()) {
    checkpointed |= cp.guard_rollback().find("rolled back on guard alarm web-5xx") == 0;
  }
  EXPECT_TRUE(checkpointed) << "the decision is in fleet.state";

  // A new owner restores the decision: the next mutating step runs while the alarm is in ALARM.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  auto done = rig.Turn().Results(v1::Result::FAILED);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(done[0].reason(), HasSubstr("guarding asg:web"));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) EXPECT_THAT(s, HasSubstr("rolled back on guard alarm web-5xx"));
}

// The DescribeAlarms fallback reads every page of each request (names, then each glob's prefix);
// an error after some pages keeps what those pages said.
class GuardAlarmPollerTest : public ::testing::Test {
 protected:
  GuardAlarmPollerTest() { *config_.mutable_safety() = Guards({Guard("web-5xx"), Guard("api-*")}); }

  static aws::DescribeAlarmsResponse Page(std::vector<std::string> metric,
                                          std::vector<std::string> composite, std::string next) {
    aws::DescribeAlarmsResponse r;
    for (auto& name : metric) {
      aws::MetricAlarm a;
      a.name = std::move(name);
      a.state_value = "ALARM";
      r.metric_alarms.push_back(std::move(a));
    }
    for (auto& name : composite) {
      aws::CompositeAlarm c;
      c.name = std::move(name);
      c.state_value = "OK";
      r.composite_alarms.push_back(std::move(c));
    }
    r.next_token = std::move(next);
    return r;
  }

  // One poll of the cell; the alarm names and states it read.
  std::vector<std::string> PollOnce() {
    Executor executor(1);
    GuardAlarmPoller poller(config_, &aws_.provider, executor);
    std::promise<void> answered;
    poller.Poll(kP, 1, "111122223333", "us-east-1", 1000, [&] { answered.set_value(); });
    EXPECT_EQ(answered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    std::vector<std::string> read;
    poller.Collect([&](int32_t, uint64_t, const std::string& cell, const auto& alarm) {
      EXPECT_EQ(cell, "111122223333/us-east-1");
      read.push_back(alarm.alarm_name() + "=" + alarm.state());
    });
    return read;
  }

  v1::WorkerConfig config_;
  aws::testing::MockCellClients aws_;
};

TEST_F(GuardAlarmPollerTest, EveryPageOfEveryRequestIsRead) {
  std::vector<std::string> asked;  // "names" or the prefix, and the token of each request
  ON_CALL(*aws_.cloudwatch, DescribeAlarms(::testing::_))
      .WillByDefault(
          [&](const aws::DescribeAlarmsRequest& r) -> Result<aws::DescribeAlarmsResponse> {
            asked.push_back((r.alarm_names.empty() ? r.alarm_name_prefix : "names") + "@" +
                            r.next_token);
            if (!r.alarm_names.empty()) return Page({"web-5xx"}, {}, "");
            if (r.next_token.empty()) return Page({"api-1"}, {}, "t1");
            if (r.next_token == "t1") return Page({"api-2"}, {"api-all"}, "t2");
            return Page({"api-3"}, {}, "");
          });
  EXPECT_THAT(PollOnce(), ::testing::ElementsAre("web-5xx=ALARM", "api-1=ALARM", "api-2=ALARM",
                                                 "api-all=OK", "api-3=ALARM"));
  EXPECT_THAT(asked, ::testing::ElementsAre("names@", "api-@", "api-@t1", "api-@t2"));
}

TEST_F(GuardAlarmPollerTest, AFailedPageKeepsThePagesReadBeforeIt) {
  ON_CALL(*aws_.cloudwatch, DescribeAlarms(::testing::_))
      .WillByDefault(
          [&](const aws::DescribeAlarmsRequest& r) -> Result<aws::DescribeAlarmsResponse> {
            if (!r.alarm_names.empty()) return Page({"web-5xx"}, {}, "");
            if (r.next_token.empty()) return Page({"api-1"}, {}, "t1");
            return Error(ErrorCode::kThrottled, "Rate exceeded", true);
          });
  EXPECT_THAT(PollOnce(), ::testing::ElementsAre("web-5xx=ALARM", "api-1=ALARM"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
