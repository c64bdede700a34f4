// handlers.ecs.schedules: validation naming each path, one deterministic workflow per schedule
// and occurrence (the runtime's dedup then runs it once), the selection a scheduled discover
// applies, and the grace after which a held occurrence is skipped.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "handlers/ecs/config.h"
#include "handlers/ecs/handler.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/schedules.h"
#include "handlers/ecs/steps.h"
#include "tests/handlers/ecs/fake_aas.h"
#include "tests/handlers/ecs/fake_ecs.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::ecs {
namespace {

using handlers::testing::FakeStepContext;
using handlers::testing::RunToEnd;

// 2026-12-07 (a Monday) 12:00:00 UTC.
constexpr int64_t kMondayNoonUtc = 1'796'644'800'000;

v1::WorkerConfig WithSchedule(const std::string& cron, const std::string& zone = "Europe/Berlin") {
  v1::WorkerConfig w;
  w.mutable_aws()->set_region("eu-central-1");
  w.mutable_aws()->set_default_account("111122223333");
  v1::EcsSchedule& s = *w.mutable_handlers()->mutable_ecs()->add_schedules();
  s.set_name("dev-nights");
  s.set_cron(cron);
  s.set_time_zone(zone);
  s.mutable_select()->set_cluster("dev");
  s.mutable_select()->add_services("*");
  s.mutable_action()->set_type("scale");
  s.mutable_action()->set_to(0);
  Factory().ApplyDefaults(w);
  return w;
}

std::vector<ConfigError> Errors(const v1::WorkerConfig& w) {
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;
  ConfigChecker check(errors, warnings);
  Validate(w, check);
  return errors;
}

TEST(EcsSchedules, ValidationNamesThePathOfWhatIsWrong) {
  EXPECT_TRUE(Errors(WithSchedule("0 19 * * MON-FRI")).empty());
  struct Case {
    std::function<void(v1::WorkerConfig&)> change;
    std::string path;
    std::string says;
  };
  const std::string at = "handlers.ecs.schedules[0].";
  auto first = [](v1::WorkerConfig& w) {
    return w.mutable_handlers()->mutable_ecs()->mutable_schedules(0);
  };
  const std::vector<Case> cases = {
      {[&](auto& w) { first(w)->set_cron("0 25 * * *"); }, at + "cron", "hour"},
      {[&](auto& w) { first(w)->set_cron("0 0 19 * * MON"); }, at + "cron", ""},
      {[&](auto& w) { first(w)->set_cron(""); }, at + "cron", "missing"},
      {[&](auto& w) { first(w)->set_time_zone("Mars/Olympus"); }, at + "time_zone", "Mars/Olympus"},
      {[&](auto& w) { first(w)->set_name(""); }, at + "name", "missing"},
      {[&](auto& w) { first(w)->set_name("has space"); }, at + "name", "not a name"},
      {[&](auto& w) { first(w)->mutable_select()->clear_cluster(); }, at + "select.cluster", ""},
      {[&](auto& w) { first(w)->mutable_select()->set_tag("novalue"); }, at + "select.tag",
       "key=value"},
      {[&](auto& w) { first(w)->mutable_action()->set_to(-1); }, at + "action.to", "negative"},
      {[&](auto& w) { first(w)->mutable_action()->clear_to(); }, at + "action.to", "missing"},
      {[&](auto& w) { first(w)->mutable_action()->set_type("reboot"); }, at + "action.type",
       "unknown \"reboot\""},
      {[&](auto& w) { first(w)->mutable_action()->set_type("restore"); }, at + "action.to",
       "not used by restore"},
      {[&](auto& w) { w.mutable_aws()->clear_default_account(); }, at + "name",
       "aws.default_account"},
      {[&](auto& w) { *w.mutable_handlers()->mutable_ecs()->add_schedules() = *first(w); },
       "handlers.ecs.schedules[1].name", "earlier schedule"},
  };
  for (const auto& c : cases) {
    v1::WorkerConfig w = WithSchedule("0 19 * * MON-FRI");
    c.change(w);
    auto errors = Errors(w);
    ASSERT_EQ(errors.size(), 1u) << c.path;
    EXPECT_EQ(errors[0].path, c.path);
    EXPECT_NE(errors[0].message.find(c.says), std::string::npos) << errors[0].message;
  }
}

TEST(EcsSchedules, EachOccurrenceIsOneWorkflowDueAtItsTime) {
  const v1::WorkerConfig w = WithSchedule("0 19 * * MON-FRI");
  EcsHandler handler(w);
  auto planned = handler.TimedWorkflows(kMondayNoonUtc);
  ASSERT_EQ(planned.size(), 1u);
  const v1::WorkflowCheckpoint& cp = planned[0];
  // 19:00 in Berlin in December is 18:00 UTC.
  const int64_t at = kMondayNoonUtc + 6 * 3600 * 1000;
  EXPECT_EQ(cp.due_at_ms(), at);
  EXPECT_EQ(cp.cell(), "111122223333/eu-central-1");
  EXPECT_EQ(cp.handler(), "ecs");
  EXPECT_EQ(cp.step(), kStepDiscover);
  EXPECT_EQ(cp.trigger().id(), "ecs-schedule:dev-nights@2026-12-07T18:00:00.000Z");
  EXPECT_EQ(cp.workflow_id(), WorkflowId("111122223333", "eu-central-1", "ecs",
                                         "ecs-schedule:dev-nights@2026-12-07T18:00:00.000Z"));
  EXPECT_EQ(cp.trigger().ecs_command().action(), "scale");
  EXPECT_EQ(cp.trigger().ecs_command().desired_count(), 0);
  EXPECT_NE(cp.trigger().ecs_command().reason().find("2026-12-07T19:00:00+01:00"),
            std::string::npos)
      << cp.trigger().ecs_command().reason();
  v1::EcsWorkflowState state;
  ASSERT_TRUE(cp.state().UnpackTo(&state));
  EXPECT_EQ(state.schedule(), "dev-nights");
  EXPECT_EQ(state.occurrence_ms(), at);
  EXPECT_EQ(state.grace_ms(), kScheduleGraceMs);
  ASSERT_EQ(state.services_size(), 1);
  EXPECT_EQ(state.services(0).name(), "*");

  // Asked again before the occurrence: the same workflow (the runtime creates it once).
  EXPECT_EQ(handler.TimedWorkflows(at - 1)[0].workflow_id(), cp.workflow_id());
  // At or after it: the next one, Tuesday's.
  auto next = handler.TimedWorkflows(at);
  EXPECT_EQ(next[0].due_at_ms(), at + 24 * 3600 * 1000);
  EXPECT_NE(next[0].workflow_id(), cp.workflow_id());
}

TEST(EcsSchedules, NamesAreNamedAndGlobsAndTagsSelectAtDiscover) {
  v1::WorkerConfig w = WithSchedule("@every 30s");
  auto* s = w.mutable_handlers()->mutable_ecs()->mutable_schedules(0);
  s->mutable_select()->clear_services();
  s->mutable_select()->add_services("api");
  s->mutable_select()->add_services("web");
  v1::EcsWorkflowState named;
  ASSERT_TRUE(EcsHandler(w).TimedWorkflows(kMondayNoonUtc)[0].state().UnpackTo(&named));
  ASSERT_EQ(named.services_size(), 2);
  EXPECT_TRUE(named.select_globs().empty());

  s->mutable_select()->set_services(1, "night-*");
  s->mutable_select()->set_tag("env=dev");
  v1::EcsWorkflowState selected;
  ASSERT_TRUE(EcsHandler(w).TimedWorkflows(kMondayNoonUtc)[0].state().UnpackTo(&selected));
  ASSERT_EQ(selected.services_size(), 1);
  EXPECT_EQ(selected.services(0).name(), "*");
  EXPECT_TRUE(NameSelected(selected, "api"));
  EXPECT_TRUE(NameSelected(selected, "night-db"));
  EXPECT_FALSE(NameSelected(selected, "day-web"));
  EXPECT_TRUE(TagSelected(selected, {{"env", "dev"}, {"team", "a"}}));
  EXPECT_FALSE(TagSelected(selected, {{"env", "prod"}}));
  EXPECT_FALSE(TagSelected(selected, {}));
  EXPECT_TRUE(NameSelected(v1::EcsWorkflowState(), "anything"));
  EXPECT_TRUE(TagSelected(v1::EcsWorkflowState(), {}));
}

class ScheduledStepsTest : public ::testing::Test {
 protected:
  ScheduledStepsTest() {
    auto fake = std::make_unique<testing::FakeEcs>();
    ecs_ = fake.get();
    clients_.ecs = std::move(fake);
    clients_.application_autoscaling =
        std::make_unique<testing::FakeApplicationAutoScaling>(&ecs_->calls);
    clients_.cloudwatch = std::make_unique<::testing::NiceMock<aws::testing::MockCloudWatch>>();
    ecs_->AddCluster("dev");
    ecs_->AddService("dev", "night-api", 2);
    ecs_->AddService("dev", "night-db", 1);
    ecs_->AddService("dev", "day-web", 1);
    for (const char* name : {"night-api", "day-web"}) {
      ecs_->services["dev"][name].tags["env"] = "dev";
    }
    config_ = WithSchedule("@every 30s");
    auto* s = config_.mutable_handlers()->mutable_ecs()->mutable_schedules(0);
    s->mutable_select()->set_services(0, "night-*");
    s->mutable_select()->set_tag("env=dev");
    config_.mutable_handlers()->mutable_ecs()->mutable_poll_interval()->set_seconds(1);
  }

  // The next occurrence's workflow, run from its time to its end.
  StepOutcome RunOccurrence(int64_t late_ms = 0) {
    EcsHandler handler(config_);
    v1::WorkflowCheckpoint wf = handler.TimedWorkflows(clock_.NowMs())[0];
    clock_.Advance(wf.due_at_ms() - clock_.NowMs() + late_ms);
    auto outcomes = RunToEnd(handler, wf, clients_, clock_, false);
    last_ = wf;
    return outcomes.back();
  }

  v1::WorkerConfig config_;
  ManualClock clock_{kMondayNoonUtc};
  aws::CellClients clients_;
  testing::FakeEcs* ecs_ = nullptr;
  v1::WorkflowCheckpoint last_;
};

TEST_F(ScheduledStepsTest, ScaleActsOnTheSelectedServicesOnly) {
  StepOutcome o = RunOccurrence();
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(ecs_->Mutations(),
            (std::vector<std::string>{"TagResource fleetkeeper:previous-desired-count=2",
                                      "UpdateService night-api desired=0"}));
  EXPECT_EQ(ecs_->services["dev"]["night-db"].desired_count, 1);
  EXPECT_EQ(ecs_->services["dev"]["day-web"].desired_count, 1);
}

TEST_F(ScheduledStepsTest, RestoreSkipsWhatHasNothingToRestore) {
  ASSERT_EQ(RunOccurrence().status, v1::Result::SUCCEEDED);
  auto* s = config_.mutable_handlers()->mutable_ecs()->mutable_schedules(0);
  s->set_name("dev-mornings");
  s->mutable_action()->set_type("restore");
  s->mutable_action()->clear_to();
  s->mutable_select()->clear_services();
  s->mutable_select()->clear_tag();
  ecs_->calls.clear();
  StepOutcome o = RunOccurrence();
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(ecs_->Mutations(),
            (std::vector<std::string>{"UpdateService night-api desired=2",
                                      "UntagResource fleetkeeper:previous-desired-count"}));
  // Nothing left to restore: the next occurrence finds nothing to do, and says so.
  ecs_->calls.clear();
  o = RunOccurrence();
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_NE(o.reason.find("no service of cluster dev is selected with something to restore"),
            std::string::npos)
      << o.reason;
  EXPECT_TRUE(ecs_->Mutations().empty());
}

TEST_F(ScheduledStepsTest, AnOccurrenceHeldPastTheGraceIsSkippedWithNothingChanged) {
  EcsHandler handler(config_);
  v1::WorkflowCheckpoint wf = handler.TimedWorkflows(clock_.NowMs())[0];
  clock_.Advance(wf.due_at_ms() - clock_.NowMs());
  FakeStepContext discover(&wf, &clients_, &clock_);
  ASSERT_EQ(handler.RunStep(kStepDiscover, discover).next_step, kStepAct);
  wf.set_step(kStepAct);
  // A freeze (or a lock, or no worker) held act for longer than the grace.
  clock_.Advance(kScheduleGraceMs + 1000);
  FakeStepContext act(&wf, &clients_, &clock_);
  StepOutcome o = handler.RunStep(kStepAct, act);
  EXPECT_EQ(o.status, v1::Result::SKIPPED);
  EXPECT_NE(o.reason.find("schedule dev-nights: the occurrence of"), std::string::npos) << o.reason;
  EXPECT_NE(o.reason.find("nothing was changed"), std::string::npos);
  EXPECT_TRUE(ecs_->Mutations().empty());
}

}  // namespace
}  // namespace fleetkeeper::handlers::ecs
