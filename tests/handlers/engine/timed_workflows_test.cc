// Timed workflows (WorkflowHandler::TimedWorkflows, what ECS schedules use): created ahead of their
// time in the partition that owns their cell, run once at their time, found again after a
// restore, never created twice for one occurrence, nor in a partition owned elsewhere.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

constexpr int32_t kP = 2;
constexpr int64_t kPeriodMs = 60'000;

// Every whole minute: one workflow per occurrence, id from the occurrence's time.
std::vector<v1::WorkflowCheckpoint> EveryMinute(int64_t now_ms) {
  const int64_t next = (now_ms / kPeriodMs + 1) * kPeriodMs;
  v1::Event e = EcsCommand("tick@" + std::to_string(next), "web");
  e.mutable_source()->Clear();
  google::protobuf::StringValue state;
  state.set_value("web");
  v1::WorkflowCheckpoint cp = NewWorkflow(e, "scripted", "scripted", "first", state, next);
  cp.set_due_at_ms(next);
  return {cp};
}

RuntimeOptions Routed(int32_t partition) {
  RuntimeOptions o;
  o.partition_of_cell = [partition](const std::string&) { return partition; };
  return o;
}

size_t Runs(const ScriptedHandler& h) { return h.runs().size(); }

TEST(TimedWorkflows, CreatedAheadRunOnceAtTheirTimeAndTheNextIsPlanned) {
  RuntimeRig rig(Routed(kP));
  rig.handler().timed = EveryMinute;
  rig.Own(kP);
  const int64_t first = (rig.clock().NowMs() / kPeriodMs + 1) * kPeriodMs;
  Batch created = rig.Turn();
  auto cps = created.Checkpoints();
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].due_at_ms(), first);
  EXPECT_GT(cps[0].deadline_ms(), first);
  EXPECT_EQ(cps[0].waiting_on(), "timer (due " + FormatRfc3339(first) + ")");
  for (const auto& r : created.records) {
    if (r.topic == kStateTopic) {
      EXPECT_EQ(r.partition, kP) << r.key;  // results go by key
    }
  }
  ASSERT_EQ(created.Results(v1::Result::IN_PROGRESS).size(), 1u);

  // Pumps before its time create nothing more and run nothing.
  rig.clock().Advance(1500);
  EXPECT_TRUE(rig.Turn().Checkpoints().empty());
  EXPECT_EQ(Runs(rig.handler()), 0u);

  rig.clock().Advance(first - rig.clock().NowMs());
  rig.Turn();  // the occurrence is due: its step runs; the next occurrence is planned
  rig.clock().Advance(1000);
  rig.Turn();
  EXPECT_EQ(Runs(rig.handler()), 1u);
  EXPECT_EQ(rig.handler().runs()[0].workflow_id, cps[0].workflow_id());
  EXPECT_EQ(rig.runtime().live_workflows(), 1u);  // the next minute's, waiting
  const auto succeeded = rig.committed().Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(succeeded.size(), 1u);
  EXPECT_EQ(succeeded[0].workflow_id(), cps[0].workflow_id());
}

TEST(TimedWorkflows, ARestoreFindsTheWaitingOccurrenceAndCreatesNoSecond) {
  RuntimeRig rig(Routed(kP));
  rig.handler().timed = EveryMinute;
  rig.Own(kP);
  rig.Turn();
  // The worker dies; the next owner restores the partition from fleet.state.
  RuntimeRig next(Routed(kP));
  next.handler().timed = EveryMinute;
  next.clock().Advance(rig.clock().NowMs() - next.clock().NowMs());
  next.set_state(kP, rig.state(kP));
  next.Restore(kP);
  EXPECT_TRUE(next.Turn().Checkpoints().empty()) << "the occurrence exists already";
  next.clock().Advance(kPeriodMs);
  next.Turn();
  next.clock().Advance(1000);
  next.Turn();
  EXPECT_EQ(Runs(next.handler()), 1u);
}

TEST(TimedWorkflows, OnlyThePartitionOwningTheCellCreatesThem) {
  RuntimeRig rig(Routed(kP + 1));
  rig.handler().timed = EveryMinute;
  rig.Own(kP);
  EXPECT_TRUE(rig.Turn().records.empty());
  RuntimeRig unrouted;  // no partition_of_cell: nothing is created
  unrouted.handler().timed = EveryMinute;
  unrouted.Own(kP);
  EXPECT_TRUE(unrouted.Turn().records.empty());
}

TEST(TimedWorkflows, AFinishedOccurrenceIsNotCreatedAgain) {
  RuntimeRig rig(Routed(kP));
  const int64_t fixed = (rig.clock().NowMs() / kPeriodMs + 1) * kPeriodMs;
  // A handler that keeps offering the same occurrence (its clock lags): it runs once.
  rig.handler().timed = [fixed](int64_t) { return EveryMinute(fixed - 1); };
  rig.Own(kP);
  rig.Turn();
  rig.clock().Advance(kPeriodMs);
  rig.Turn();
  for (int i = 0; i < 3; ++i) {
    rig.clock().Advance(1500);
    rig.Turn();
  }
  EXPECT_EQ(Runs(rig.handler()), 1u);
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
