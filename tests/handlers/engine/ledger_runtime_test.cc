// The blast-radius ledger inside the workflow runtime (runtime_fixture.h): steps reserve through
// their context, the reservations are checkpointed and restored with the workflow, a workflow that
// cannot reserve is held without running its step, finishing releases, and a self-healing claim
// over the budget is said in the final result.
#include <gtest/gtest.h>

#include <algorithm>

#include "handlers/engine/ledger.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 5;
constexpr char kTg[] = "tg:web";

std::string IdOf(const v1::Event& e) {
  return WorkflowId(e.account(), e.region(), "scripted", e.dedup_key());
}

size_t RunsOf(const ScriptedHandler& h, const std::string& step, const std::string& wf = "") {
  auto runs = h.runs();
  return std::count_if(runs.begin(), runs.end(), [&](const StepRun& r) {
    return r.step == step && (wf.empty() || r.workflow_id == wf);
  });
}

// The unit a workflow of the scripted handler claims: its cluster's name up to a '#' (the
// handler locks the whole name, so "i-a#2" claims i-a without waiting on the lock of "i-a").
std::string UnitOf(const StepContext& ctx) {
  const std::string& cluster = ctx.workflow().trigger().ecs_command().cluster();
  return cluster.substr(0, cluster.find('#'));
}

v1::CapacityClaim ClaimOf(const StepContext& ctx, bool self_healing = false) {
  v1::CapacityClaim c;
  c.set_unit(UnitOf(ctx));
  auto* g = c.add_groups();
  g->set_group(kTg);
  g->set_size(6);
  g->set_default_max_unavailable("1");
  c.set_self_healing(self_healing);
  c.set_hold_steps(true);
  return c;
}

// "take" reserves (or waits a second to ask again), "give" releases and finishes.
void ScriptTakeAndGive(ScriptedHandler& h, int64_t hold_ms = 60000) {
  h.mutating = {"take", "give"};
  h.first_step = "take";
  h.On("take", [hold_ms](StepContext& ctx) {
    CapacityDecision d = ctx.capacity()->Reserve(ClaimOf(ctx));
    if (!d.granted) return StepOutcome::Wait("take", 1000);
    return StepOutcome::Wait("give", hold_ms);
  });
  h.On("give", [](StepContext& ctx) {
    ctx.capacity()->Release(UnitOf(ctx));
    return StepOutcome::Finish(v1::Result::SUCCEEDED, "given back");
  });
}

// Admits `e` and runs its first step, as the worker's next two turns do.
void Start(RuntimeRig& rig, const v1::Event& e) {
  rig.Consume(kP, e);
  rig.Commit();
  rig.Turn();
}

std::vector<v1::CapacityReservation> LastReservations(const Batch& b, const std::string& wf) {
  std::vector<v1::CapacityReservation> out;
  for (const auto& cp : b.Checkpoints()) {
    if (cp.workflow_id() == wf) out.assign(cp.reservations().begin(), cp.reservations().end());
  }
  return out;
}

TEST(LedgerRuntime, AWorkflowThatCannotReserveIsHeldWithoutRunningItsStepUntilTheRelease) {
  RuntimeRig rig;
  ScriptTakeAndGive(rig.handler(), 5000);
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-a", "i-a");
  rig.Consume(kP, a);
  rig.Commit();
  Batch first = rig.Turn();  // a reserves i-a
  auto held = LastReservations(first, IdOf(a));
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].group(), kTg);
  EXPECT_EQ(held[0].unit(), "i-a");

  const v1::Event b = EcsCommand("req-b", "i-b");
  rig.Consume(kP, b);
  rig.Commit();
  Batch refused = rig.Turn();  // b asks and is refused: it wants i-b
  ASSERT_EQ(RunsOf(rig.handler(), "take", IdOf(b)), 1u);
  for (const auto& cp : refused.Checkpoints()) {
    if (cp.workflow_id() == IdOf(b)) {
      EXPECT_EQ(cp.capacity_wanted().unit(), "i-b");
    }
  }

  // Due again while a still holds: held by the runtime, not run; said once, naming the group,
  // its counts and the holder.
  std::vector<v1::Result> notes;
  for (int i = 0; i < 3; ++i) {
    rig.clock().Advance(1000);
    for (auto& r : rig.Turn().Results(v1::Result::IN_PROGRESS)) notes.push_back(r);
  }
  EXPECT_EQ(RunsOf(rig.handler(), "take", IdOf(b)), 1u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("waiting for capacity to take i-b out: tg:web: "
                                           "1 of 6 out of service (i-a by " +
                                           IdOf(a) + ")"));

  // a gives its capacity back: b runs its step and reserves.
  rig.clock().Advance(2000);
  rig.Turn();  // a's give
  rig.clock().Advance(1000);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "take", IdOf(b)), 2u);
  EXPECT_EQ(LastReservations(rig.committed(), IdOf(b)).size(), 1u);
  EXPECT_EQ(rig.committed().Results(v1::Result::SUCCEEDED).size(), 1u);
}

TEST(LedgerRuntime, ARestoreRebuildsTheLedgerFromCheckpointsBeforeAnyStepRuns) {
  RuntimeRig rig;
  ScriptTakeAndGive(rig.handler());
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-ra", "i-a");
  Start(rig, a);  // a holds i-a for a minute

  // A new owner (a restart, a rebalance): everything rebuilt from fleet.state.
  rig.runtime().Drop(kP);
  rig.Restore(kP);
  const v1::Event b = EcsCommand("req-rb", "i-b");
  Start(rig, b);
  rig.clock().Advance(1000);
  auto notes = rig.Turn().Results(v1::Result::IN_PROGRESS);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].reason(), HasSubstr("i-a by " + IdOf(a)));
  // Nor may anyone else take i-a itself.
  const v1::Event c = EcsCommand("req-rc", "i-a#2");
  Start(rig, c);
  rig.clock().Advance(1000);
  notes = rig.Turn().Results(v1::Result::IN_PROGRESS);
  bool named = false;
  for (const auto& n : notes) {
    named = named ||
            n.reason().find("i-a in tg:web is held by workflow " + IdOf(a)) != std::string::npos;
  }
  EXPECT_TRUE(named);
}

TEST(LedgerRuntime, AFinishedWorkflowReleasesWhatItHeld) {
  RuntimeRig rig;
  ScriptTakeAndGive(rig.handler());
  rig.handler().On("give", [](StepContext&) {
    return StepOutcome::Finish(v1::Result::FAILED, "gave up without releasing");
  });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-fa", "i-a");
  const v1::Event b = EcsCommand("req-fb", "i-b");
  Start(rig, a);
  Start(rig, b);  // b refused
  rig.clock().Advance(60000);
  Batch finished = rig.Turn();  // a finishes, b (due) is held in the same pass or runs next
  for (const auto& cp : finished.Checkpoints()) {
    if (cp.workflow_id() == IdOf(a) && cp.has_final_result()) {
      EXPECT_EQ(cp.reservations_size(), 0);
    }
  }
  rig.clock().Advance(1000);
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "give", IdOf(b)), 0u);
  EXPECT_GE(RunsOf(rig.handler(), "take", IdOf(b)), 2u);
  bool b_holds = false;
  for (const auto& cp : rig.committed().Checkpoints()) {
    if (cp.workflow_id() == IdOf(b)) b_holds = cp.reservations_size() == 1;
  }
  EXPECT_TRUE(b_holds);
}

TEST(LedgerRuntime, TheHoldEndsWhenTheClaimsWaitIsOverAndTheStepDecides) {
  RuntimeRig rig;
  ScriptTakeAndGive(rig.handler());
  rig.handler().On("take", [](StepContext& ctx) {
    v1::CapacityClaim claim = ClaimOf(ctx);
    claim.set_wait_until_ms(ctx.clock().NowMs() + 3000);
    CapacityDecision d = ctx.capacity()->Reserve(claim);
    if (d.granted) return StepOutcome::Wait("give", 60000);
    if (ctx.clock().NowMs() - d.waiting_since_ms >= 3000) {
      return StepOutcome::Finish(v1::Result::FAILED, "timed out: " + d.reason);
    }
    return StepOutcome::Wait("take", 1000);
  });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-ta", "i-a");
  const v1::Event b = EcsCommand("req-tb", "i-b");
  Start(rig, a);
  Start(rig, b);
  for (int i = 0; i < 4; ++i) {
    rig.clock().Advance(1000);
    rig.Turn();
  }
  auto failed = rig.committed().Results(v1::Result::FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].workflow_id(), IdOf(b));
  EXPECT_THAT(failed[0].reason(), HasSubstr("timed out: tg:web: 1 of 6"));
  EXPECT_EQ(RunsOf(rig.handler(), "take", IdOf(b)), 2u) << "held in between, not polled";
}

TEST(LedgerRuntime, SelfHealingOverTheBudgetSaysSoInItsFinalResult) {
  RuntimeRig rig;
  ScriptTakeAndGive(rig.handler());
  rig.handler().On("take", [](StepContext& ctx) {
    const bool healing = ctx.workflow().trigger().ecs_command().cluster() == "i-h";
    CapacityDecision d = ctx.capacity()->Reserve(ClaimOf(ctx, healing));
    if (!d.granted) return StepOutcome::Wait("take", 1000);
    return healing ? StepOutcome::Finish(v1::Result::SUCCEEDED, "healed")
                   : StepOutcome::Wait("give", 60000);
  });
  rig.Own(kP);
  const v1::Event a = EcsCommand("req-sa", "i-a");
  const v1::Event h = EcsCommand("req-sh", "i-h");
  Start(rig, a);
  Start(rig, h);
  auto done = rig.committed().Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(done[0].reason(), HasSubstr("healed; took capacity beyond the blast-radius budget "
                                          "under the self-healing margin: tg:web: 2 of 6 out of "
                                          "service, 1 over max_unavailable 1"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
