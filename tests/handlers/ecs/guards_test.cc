// The safety guards over ECS commands (docs/safety.md): a drain locks the services of the tasks it
// stops, not only the container instance, so a command on one of them waits for it; and the tags
// of every service a command changes are read at discover, before `act`, so a guard alarm named
// by a service's tag pauses the command and a blackout window by tag holds it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "handlers/engine/blackout.h"
#include "handlers/ecs/support.h"
#include "handlers/engine/guards.h"
#include "tests/handlers/ecs/steps_fixture.h"
#include "tests/handlers/engine/guard_alarms.h"
#include "tests/testing/memory_cell_store.h"

namespace fleetkeeper::handlers::ecs {
namespace {

using handlers::testing::Alarm;
using handlers::testing::MemoryCellStore;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTag[] = "fleetkeeper:guard-alarms";
constexpr int64_t kMonday9 = 1796634000000;  // 2026-12-07T09:00:00Z, a Monday

class EcsGuardsTest : public testing::EcsStepsTest {
 protected:
  void TagGuardsAndWindow() {
    auto* safety = config_.mutable_safety();
    safety->add_guards()->set_tag(kTag);
    auto* w = safety->add_blackout();
    w->set_name("payments-freeze");
    w->set_cron("0 9 * * MON");
    w->mutable_duration()->set_seconds(3600);
    (*w->mutable_tags())["team"] = "pay*";
    ApplyAlarmGuardDefaults(*safety);
    ApplyBlackoutDefaults(*safety);
  }
  std::vector<std::string> Locks(const v1::WorkflowCheckpoint& wf) {
    return EcsHandler(config_).LockedResources(wf);
  }
  std::vector<std::string> Pausing(const v1::WorkflowCheckpoint& wf) {
    return EcsHandler(config_).PausingResources(wf);
  }
  // A container instance running one task of api and two of web.
  std::string InstanceWithApiAndWeb() {
    const std::string ci = ecs_->AddInstance("dev", 0);
    auto api = ecs_->TasksOf("api");
    auto web = ecs_->TasksOf("web");
    ecs_->Place(ci, {api[0], web[0], web[1]});
    return ci;
  }
};

TEST_F(EcsGuardsTest, ADrainLocksTheServicesOfTheTasksOnItsInstance) {
  const std::string ci = InstanceWithApiAndWeb();
  const std::string idle = ecs_->AddInstance("dev", 0);
  v1::EcsCommand drain = Command("drain");
  drain.add_container_instances(ci);
  drain.add_container_instances(idle);
  v1::WorkflowCheckpoint wf = AtAct(drain);
  EXPECT_THAT(Locks(wf), Contains("ecs:dev/api"));
  EXPECT_THAT(Locks(wf), Contains("ecs:dev/web"));
  EXPECT_THAT(Locks(wf), Contains(InstanceResource("dev", ci)));
  EXPECT_THAT(Locks(wf), Contains(InstanceResource("dev", idle)));
  EXPECT_EQ(Locks(wf).size(), 4u) << "the idle instance adds no service";

  // A restart of web shares a lock with the drain: the runtime runs its act after the drain's.
  v1::WorkflowCheckpoint restart = AtAct(Command("restart", {"web"}));
  EXPECT_THAT(Locks(restart), Contains("ecs:dev/web"));

  // The drain itself still runs to its end.
  StepOutcome o = Run(drain);
  EXPECT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
}

TEST_F(EcsGuardsTest, ACommandRecordsItsServicesTagsAtDiscoverAndATaggedAlarmPausesIt) {
  TagGuardsAndWindow();
  ecs_->services["dev"]["api"].tags[kTag] = "api-5xx";
  ecs_->services["dev"]["web"].tags["team"] = "payments";
  v1::WorkflowCheckpoint wf = AtAct(Command("restart", {"api", "web"}));
  ASSERT_EQ(wf.tagged_guards_size(), 4);  // two services, two keys each

  MemoryCellStore store;
  const auto& safety = config_.safety();
  ASSERT_TRUE(ObserveGuardAlarm(safety, Alarm("api-5xx", "ALARM", "2026-12-07T01:00Z"), store));
  EXPECT_EQ(AlarmHold(safety, wf, Pausing(wf), store),
            "paused by alarm api-5xx (in ALARM since 2026-12-07T01:00Z, guarding ecs:dev/api, "
            "named by its tag fleetkeeper:guard-alarms)");

  auto hold = BlackoutCalendar(safety).HoldAt(wf, Locks(wf), Pausing(wf), kMonday9 + 1000);
  ASSERT_TRUE(hold.has_value());
  EXPECT_THAT(hold->reason, HasSubstr("blackout window payments-freeze until "));
  EXPECT_THAT(hold->reason, HasSubstr("for ecs:dev/web tagged team=payments"));
  EXPECT_FALSE(BlackoutCalendar(safety).HoldAt(wf, Locks(wf), Pausing(wf), kMonday9 - 1000));
}

TEST_F(EcsGuardsTest, ADrainReadsTheTagsOfItsTasksServices) {
  TagGuardsAndWindow();
  ecs_->services["dev"]["web"].tags[kTag] = "web-latency";
  v1::EcsCommand drain = Command("drain");
  drain.add_container_instances(InstanceWithApiAndWeb());
  v1::WorkflowCheckpoint wf = AtAct(drain);
  MemoryCellStore store;
  const auto& safety = config_.safety();
  ASSERT_TRUE(ObserveGuardAlarm(safety, Alarm("web-latency", "ALARM", "2026-12-07T01:00Z"), store));
  EXPECT_THAT(AlarmHold(safety, wf, Pausing(wf), store),
              HasSubstr("guarding ecs:dev/web, named by its tag"));
}

TEST_F(EcsGuardsTest, WithoutATagGuardOrWindowNoTagIsRecorded) {
  v1::WorkflowCheckpoint wf = AtAct(Command("restart", {"api"}));
  EXPECT_EQ(wf.tagged_guards_size(), 0);
  // The services' read at discover is the one it always made: no second one for tags.
  EXPECT_EQ(std::count(ecs_->calls.begin(), ecs_->calls.end(), "DescribeServices dev"), 1);
  EXPECT_THAT(Locks(wf), Not(Contains(HasSubstr("ecs-instance:"))));
}

}  // namespace
}  // namespace fleetkeeper::handlers::ecs
