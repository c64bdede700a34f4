// stop_tasks and drain reserving in the cell's blast-radius ledger (docs/safety.md, "Ledger"),
// run with a real BlastRadiusLedger in the fake step context: the reservation is in the
// checkpoint before the call that takes the task down, at most max_unavailable tasks of a service
// are out at once, a refused task waits (no call) and times out after verify_timeout, the floor
// (safety.ecs_min_running) refuses naming itself, a drain counts each task of a service on the
// instance, and capacity comes back when the service runs its desired count again.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "handlers/ecs/capacity.h"
#include "handlers/engine/ledger.h"
#include "tests/handlers/ecs/steps_fixture.h"

namespace fleetkeeper::handlers::ecs {
namespace {

using testing::EcsStepsTest;

constexpr char kWeb[] = "ecs:dev/web";

class EcsCapacityTest : public EcsStepsTest {
 protected:
  EcsCapacityTest() : ledger_(std::make_shared<BlastRadiusLedger>(safety_)) {}

  // The StopTask calls made so far, in order (task ARNs).
  std::vector<std::string> Stops() const {
    std::vector<std::string> out;
    for (const auto& c : ecs_->calls) {
      if (c.rfind("StopTask ", 0) == 0) out.push_back(c.substr(9));
    }
    return out;
  }

  // Runs `c` with the ledger, checking after every step that no more than `limit` units of web
  // are reserved and that every StopTask was made by a step that started with the task's
  // reservation in its checkpoint.
  StepOutcome RunChecked(const v1::EcsCommand& c, size_t limit) {
    std::set<std::string> held_before;
    size_t stops_seen = 0;
    return Run(c, false, ledger_, [&](const StepOutcome&, const v1::WorkflowCheckpoint& wf) {
      EXPECT_LE(ledger_->ReservationsOf(kWeb).size(), limit);
      const auto stops = Stops();
      for (size_t i = stops_seen; i < stops.size(); ++i) {
        EXPECT_TRUE(held_before.count(stops[i])) << stops[i] << " stopped before it was reserved";
      }
      stops_seen = stops.size();
      held_before.clear();
      for (const auto& r : wf.reservations()) held_before.insert(r.unit());
    });
  }

  // Another workflow holding one unit of web.
  void HoldOne(const std::string& workflow, const std::string& unit) {
    v1::CapacityClaim claim;
    claim.set_unit(unit);
    auto* g = claim.add_groups();
    g->set_group(kWeb);
    g->set_size(3);
    ASSERT_TRUE(ledger_->Reserve(workflow, claim, clock_.NowMs(), nullptr).granted);
  }

  v1::SafetyConfig safety_;
  std::shared_ptr<BlastRadiusLedger> ledger_;
};

TEST_F(EcsCapacityTest, NamedTasksOfAServiceStopOneAtATimeUnderMaxUnavailableOne) {
  const auto original = ecs_->TasksOf("web");
  auto stop = Command("stop_tasks");
  for (const auto& t : original) stop.add_tasks(t);
  StepOutcome o = RunChecked(stop, 1);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(Stops(), original);
  // Between two StopTask calls the service was read back at its desired count (the release).
  const auto& calls = ecs_->calls;
  std::vector<size_t> at;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].rfind("StopTask ", 0) == 0) at.push_back(i);
  }
  for (size_t k = 1; k < at.size(); ++k) {
    bool read = false;
    for (size_t i = at[k - 1]; i < at[k]; ++i) read |= calls[i].rfind("DescribeServices", 0) == 0;
    EXPECT_TRUE(read) << "StopTask " << k << " without a read of the service in between";
  }
  EXPECT_TRUE(ledger_->ReservationsOf(kWeb).empty());
  EXPECT_TRUE(last_.reservations().empty());
}

TEST_F(EcsCapacityTest, TwoAtATimeWhenTheServiceAllowsTwo) {
  (*safety_.mutable_max_unavailable()->mutable_per_ecs_service())["dev/web"] = "2";
  auto stop = Command("stop_tasks");
  for (const auto& t : ecs_->TasksOf("web")) stop.add_tasks(t);
  size_t peak = 0;
  StepOutcome o = Run(stop, false, ledger_, [&](const StepOutcome&, const v1::WorkflowCheckpoint&) {
    peak = std::max(peak, ledger_->ReservationsOf(kWeb).size());
  });
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(peak, 2u);
}

TEST_F(EcsCapacityTest, ARoundOfAWholeServiceIsLimitedByTheLedgerNotOnlyMaxConcurrency) {
  (*safety_.mutable_max_unavailable()->mutable_per_ecs_service())["dev/web"] = "1";
  auto stop = Command("stop_tasks", {"web"});
  stop.set_max_concurrency(3);
  StepOutcome o = RunChecked(stop, 1);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(Stops().size(), 3u);
}

TEST_F(EcsCapacityTest, ATaskWaitsWhileAnotherWorkflowHoldsTheBudgetThenStops) {
  HoldOne("other-wf", "x-task");
  const std::string task = ecs_->TasksOf("web").front();
  auto stop = Command("stop_tasks");
  stop.add_tasks(task);
  int steps = 0;
  StepOutcome o = Run(stop, false, ledger_, [&](const StepOutcome&, const v1::WorkflowCheckpoint&) {
    if (++steps == 6) {
      EXPECT_TRUE(Stops().empty()) << "stopped while the budget was held";
      ledger_->Release("other-wf", "x-task", nullptr);
    }
  });
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(Stops(), std::vector<std::string>{task});
  bool noted = false;
  for (const auto& a : last_.actions()) {
    noted |= a.action() == "reserve-capacity" && a.status() == "waiting" &&
             a.detail().find("x-task by other-wf") != std::string::npos;
  }
  EXPECT_TRUE(noted) << "the wait is not in the result's actions";
}

TEST_F(EcsCapacityTest, ARefusedTaskTimesOutAfterVerifyTimeoutWithNothingStopped) {
  HoldOne("other-wf", "x-task");
  auto stop = Command("stop_tasks");
  stop.add_tasks(ecs_->TasksOf("web").front());
  StepOutcome o = Run(stop, false, ledger_);
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("waited 30 s for the blast-radius ledger, nothing stopped: ecs:dev/web"),
            std::string::npos)
      << o.reason;
  EXPECT_TRUE(Stops().empty());
}

TEST_F(EcsCapacityTest, TheFloorRefusesGoingBelowEcsMinRunning) {
  (*safety_.mutable_ecs_min_running())["dev/web"] = 3;
  auto stop = Command("stop_tasks", {"web"});
  StepOutcome o = Run(stop, false, ledger_);
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("ecs:dev/web: 3 of 3 in service, and it keeps at least 3"),
            std::string::npos)
      << o.reason;
  EXPECT_TRUE(Stops().empty());
}

TEST_F(EcsCapacityTest, TasksTheServiceLacksCountAsOutOfService) {
  ecs_->services["dev"]["web"].running_count = 2;
  ecs_->stuck.insert("web");
  v1::CapacityGroup g = ServiceGroup("dev", ecs_->services["dev"]["web"], "1");
  EXPECT_EQ(g.group(), kWeb);
  EXPECT_EQ(g.size(), 3);
  ASSERT_EQ(g.out_of_service_size(), 1);
  EXPECT_EQ(g.out_of_service(0), "web#missing-1");
  // The one missing task is the budget: nothing more is stopped.
  auto stop = Command("stop_tasks");
  stop.add_tasks(ecs_->TasksOf("web").front());
  StepOutcome o = Run(stop, false, ledger_);
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("web#missing-1 out of service"), std::string::npos) << o.reason;
}

TEST_F(EcsCapacityTest, DrainReservesTheInstanceInEveryServiceItRunsTasksOf) {
  const std::string ci = ecs_->AddInstance("dev", 0);
  ecs_->Place(ci, {ecs_->TasksOf("api").front(), ecs_->TasksOf("web").front()});
  auto drain = Command("drain");
  drain.add_container_instances(ci);
  std::set<std::string> groups;
  bool drained_while_held = false;
  StepOutcome o =
      Run(drain, false, ledger_, [&](const StepOutcome&, const v1::WorkflowCheckpoint& wf) {
        for (const auto& r : wf.reservations()) groups.insert(r.group());
        drained_while_held |=
            ecs_->instances[ci].status == "DRAINING" && !wf.reservations().empty();
      });
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(groups, (std::set<std::string>{"ecs:dev/api", kWeb}));
  EXPECT_TRUE(drained_while_held);
  EXPECT_TRUE(ledger_->Holders().empty());
}

TEST_F(EcsCapacityTest, DrainWaitsForTheBudgetOfAServiceItsTasksBelongTo) {
  HoldOne("other-wf", "x-task");
  const std::string ci = ecs_->AddInstance("dev", 0);
  ecs_->Place(ci, {ecs_->TasksOf("web").front()});
  auto drain = Command("drain");
  drain.add_container_instances(ci);
  StepOutcome o = Run(drain, false, ledger_);
  EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
  EXPECT_NE(o.reason.find("nothing stopped: ecs:dev/web"), std::string::npos) << o.reason;
  EXPECT_EQ(ecs_->instances[ci].status, "ACTIVE");
}

// Draining stops every task on the instance: two tasks of web there take two of web's budget.
TEST_F(EcsCapacityTest, DrainCountsEachTaskOfAServiceOnTheInstance) {
  (*safety_.mutable_max_unavailable()->mutable_per_ecs_service())["dev/web"] = "2";
  const std::string ci = ecs_->AddInstance("dev", 0);
  const auto web = ecs_->TasksOf("web");
  ecs_->Place(ci, {web[0], web[1], ecs_->TasksOf("api").front()});
  auto drain = Command("drain");
  drain.add_container_instances(ci);
  std::map<std::string, int> held;  // group -> units the drain held, at most
  StepOutcome o =
      Run(drain, false, ledger_, [&](const StepOutcome&, const v1::WorkflowCheckpoint& wf) {
        for (const auto& r : wf.reservations()) {
          held[r.group()] = std::max(held[r.group()], std::max(1, r.units()));
        }
      });
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(held, (std::map<std::string, int>{{"ecs:dev/api", 1}, {kWeb, 2}}));
  EXPECT_TRUE(ledger_->Holders().empty());
}

// A drain of an instance running two of web's three tasks, refused by the ledger: the failure
// names web's budget and what the claim takes, and the instance is not drained.
TEST_F(EcsCapacityTest, ADrainWhoseTasksWouldExceedTheBudgetOrFloorWaitsWithNothingDrained) {
  auto refused = [&](const std::string& reason) {
    const std::string ci = ecs_->AddInstance("dev", 0);
    const auto web = ecs_->TasksOf("web");
    ecs_->Place(ci, {web[0], web[1]});
    auto drain = Command("drain");
    drain.add_container_instances(ci);
    StepOutcome o = Run(drain, false, ledger_);
    EXPECT_EQ(o.status, v1::Result::FAILED) << o.reason;
    EXPECT_NE(o.reason.find(reason), std::string::npos) << o.reason;
    EXPECT_EQ(ecs_->instances[ci].status, "ACTIVE");
  };
  // One unit of web held elsewhere, and the drain takes two: 3 > max_unavailable 2.
  (*safety_.mutable_max_unavailable()->mutable_per_ecs_service())["dev/web"] = "2";
  HoldOne("other-wf", "x-task");
  refused(
      "ecs:dev/web: 1 of 3 out of service (x-task by other-wf); max_unavailable 2; the claim "
      "takes 2");
  // Nothing held, a budget of 3, but a floor of 2: draining would leave 1 running.
  ledger_->Release("other-wf", "x-task", nullptr);
  (*safety_.mutable_max_unavailable()->mutable_per_ecs_service())["dev/web"] = "3";
  (*safety_.mutable_ecs_min_running())["dev/web"] = 2;
  refused("ecs:dev/web: 3 of 3 in service, and it keeps at least 2 (none out); the claim takes 2");
}

}  // namespace
}  // namespace fleetkeeper::handlers::ecs
