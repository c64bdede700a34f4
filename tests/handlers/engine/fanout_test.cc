// The runtime's part of a fan-out over cells (handlers/fanout.h): work items a step emits, produced
// with the checkpoint that records the step; a child's end sent to its parent's cell when it
// finishes; FanOut reports delivered to the workflow they name; a request id answered by the
// parent rather than by its child in the same cell.
#include <gtest/gtest.h>

#include "consumers/kafka.h"
#include "handlers/engine/runtime.h"
#include "tests/handlers/engine/runtime_fixture.h"

namespace fleetkeeper::handlers::testing {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kP = 3;

// An ECS command of `cell`'s that a step of its workflow emits (as a fan-out's child request).
v1::Event ItemFor(const std::string& id, const std::string& account, const std::string& region) {
  v1::Event e = EcsCommand(id, "api", account, region);
  e.mutable_parent()->set_workflow_id("parent-id");
  return e;
}

TEST(FanOutRuntime, EmittedWorkItemsGoWithTheCheckpointOfTheirStepKeyedByTheirCell) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) {
    StepOutcome o = StepOutcome::Wait("second", 60000);
    o.emit.push_back(ItemFor("child-a", "444455556666", "eu-west-1"));
    o.emit.push_back(ItemFor("child-b", "111122223333", "us-west-2"));
    return o;
  });
  rig.Own(kP);
  const v1::Event ev = EcsCommand("req-fan", "web");
  rig.Consume(kP, ev);
  rig.Commit();
  Batch b = rig.Settle();

  ASSERT_EQ(b.WorkItems().size(), 2u);
  EXPECT_EQ(b.WorkItems()[0].id(), "child-a");
  EXPECT_EQ(b.WorkItems()[1].id(), "child-b");
  // Each keyed and partitioned by its own cell, as the ingest stage routes events.
  size_t checkpoint_at = b.records.size(), first_item_at = b.records.size();
  for (size_t k = 0; k < b.records.size(); ++k) {
    const auto& r = b.records[k];
    if (r.topic == kStateTopic && r.key == WorkflowKey(IdOf(ev)) &&
        checkpoint_at == b.records.size())
      checkpoint_at = k;
    if (r.topic != kWorkTopic) continue;
    if (first_item_at == b.records.size()) first_item_at = k;
    const std::string cell = r.key;
    EXPECT_TRUE(cell == "444455556666/eu-west-1" || cell == "111122223333/us-west-2") << cell;
    EXPECT_EQ(r.partition, consumers::Murmur2Partition(cell, OutTopics().work_partitions));
  }
  // In the batch that commits the step's checkpoint, after it: exactly once with it.
  EXPECT_LT(checkpoint_at, first_item_at);

  // An aborted batch takes them with it; the step runs again and emits the same items.
  rig.Abort();
  rig.Restore(kP);
  Batch again = rig.Settle();
  ASSERT_EQ(again.WorkItems().size(), 2u);
  EXPECT_EQ(again.WorkItems()[0].SerializeAsString(), b.WorkItems()[0].SerializeAsString());
}

TEST(FanOutRuntime, AChildsEndGoesToItsParentsCellWithItsFinalResult) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) {
    StepOutcome o = StepOutcome::Finish(v1::Result::PARTIAL, "1 of 2 patched");
    o.actions.push_back(v1::Action());
    o.actions.back().set_resource("instance:i-1");
    o.actions.back().set_action("patch");
    o.actions.back().set_status("patched");
    return o;
  });
  rig.Own(kP);
  v1::Event child = EcsCommand("req-child", "web", "444455556666", "eu-west-1");
  child.mutable_parent()->set_workflow_id("111122223333/us-east-1/patch-0123");
  child.mutable_parent()->set_account("111122223333");
  child.mutable_parent()->set_region("us-east-1");
  rig.Consume(kP, child);
  rig.Commit();
  Batch b = rig.Settle();

  ASSERT_EQ(b.WorkItems().size(), 1u);
  const std::vector<v1::Event> items = b.WorkItems();
  const v1::Event& report = items[0];
  EXPECT_EQ(CellOf(report), "111122223333/us-east-1");
  EXPECT_EQ(report.id(), "fan-out:result:" + IdOf(child));
  ASSERT_TRUE(report.has_fan_out());
  EXPECT_EQ(report.fan_out().kind(), kFanOutResult);
  EXPECT_EQ(report.fan_out().parent_workflow_id(), "111122223333/us-east-1/patch-0123");
  EXPECT_EQ(report.fan_out().child_workflow_id(), IdOf(child));
  EXPECT_EQ(report.fan_out().cell(), "444455556666/eu-west-1");
  v1::Result result;
  ASSERT_TRUE(report.fan_out().result().UnpackTo(&result));
  EXPECT_EQ(result.status(), v1::Result::PARTIAL);
  EXPECT_EQ(result.reason(), "1 of 2 patched");
  ASSERT_EQ(result.actions_size(), 1);
  EXPECT_EQ(result.actions(0).resource(), "instance:i-1");

  // A workflow without a parent reports to nobody.
  RuntimeRig plain;
  plain.handler().On(
      "first", [](StepContext&) { return StepOutcome::Finish(v1::Result::SUCCEEDED, "done"); });
  plain.Own(kP);
  plain.Consume(kP, EcsCommand("req-plain", "web"));
  plain.Commit();
  EXPECT_TRUE(plain.Settle().WorkItems().empty());
}

TEST(FanOutRuntime, AReportReachesTheWorkflowItNamesWhateverItWaitsFor) {
  RuntimeRig rig;
  // The parent waits on a timer of an hour and no signal at all.
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("second", 3600000); });
  rig.handler().On("second", [](StepContext& c) {
    EXPECT_EQ(c.signals().size(), 1u);
    return StepOutcome::Finish(v1::Result::SUCCEEDED, "saw the report");
  });
  rig.Own(kP);
  const v1::Event parent = EcsCommand("req-parent", "web");
  rig.Consume(kP, parent);
  rig.Commit();
  rig.Turn();

  v1::Event report;
  report.set_id("fan-out:result:child-1");
  report.set_account("111122223333");
  report.set_region("us-east-1");
  report.mutable_fan_out()->set_kind(kFanOutResult);
  report.mutable_fan_out()->set_parent_workflow_id(IdOf(parent));
  report.mutable_fan_out()->set_child_workflow_id("child-1");
  Batch delivered = rig.Consume(kP, report);
  auto ok = delivered.Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_THAT(ok[0].reason(), HasSubstr("fan-out result delivered to workflow " + IdOf(parent)));
  rig.Commit();
  rig.Turn();
  EXPECT_EQ(RunsOf(rig.handler(), "second"), 1u) << "the report did not wake the parent";

  // The same report again (a produce retried): the partition has seen its id.
  EXPECT_TRUE(rig.Consume(kP, report).Results().empty());

  // A report for a workflow this partition does not have is answered, not lost silently.
  v1::Event stray = report;
  stray.set_id("fan-out:result:child-2");
  stray.mutable_fan_out()->set_parent_workflow_id("111122223333/us-east-1/patch-none");
  auto skipped = rig.Consume(kP, stray).Results(v1::Result::SKIPPED);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(skipped[0].reason(), HasSubstr("unknown workflow 111122223333/us-east-1/patch-none"));
}

TEST(FanOutRuntime, ARequestIdNamesTheParentNotItsChildInTheSameCell) {
  RuntimeRig rig;
  rig.handler().On("first", [](StepContext&) { return StepOutcome::Wait("first", 3600000); });
  rig.Own(kP);
  // The child first, so that a plain "last one wins" would pick the parent only by luck.
  v1::Event child = EcsCommand("req-same", "web");
  child.set_id("child-event");
  child.set_dedup_key("fan-out:parent:111122223333/us-east-1");
  child.mutable_parent()->set_workflow_id("p");
  v1::Event parent = EcsCommand("req-same", "db");
  rig.Consume(kP, parent);
  rig.Consume(kP, child);
  rig.Commit();
  rig.Turn();

  v1::Event cancel;
  cancel.set_id("cancel-by-request");
  cancel.set_account("111122223333");
  cancel.set_region("us-east-1");
  cancel.mutable_cancel()->set_request_id("req-same");
  auto delivered = rig.Consume(kP, cancel).Results(v1::Result::SUCCEEDED);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].workflow_id(), IdOf(parent));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
