// A patch request over two cells (handlers/patch/fanout.h): the parent's children, the count over
// every cell before anything is touched, approvals and cancels forwarded, and one final result
// listing every instance. The parent and its children are driven step by step like the runtime,
// the work items their steps emit handed over by hand (the runtime's part is
// tests/handlers/engine/fanout_test.cc; end to end, tests/integration/test_patch_fanout.py).
#include <gtest/gtest.h>

#include "handlers/fanout.h"
#include "handlers/patch/fanout.h"
#include "tests/handlers/patch/patch_fixture.h"

namespace fleetkeeper::handlers::patch::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kOtherRegion[] = "us-west-2";

class PatchFanOut : public PatchWorkflow {
 protected:
  // Two instances in the request's own cell and two in us-west-2 (the fake account serves every
  // region alike: the targets name the instances).
  v1::Event TwoCells(const std::function<void(v1::PatchRequest&)>& edit = {}) {
    ids = LandingZone(4);
    return Request([&](v1::PatchRequest& r) {
      r.clear_targets();
      auto* own = r.add_targets();
      own->add_instance_ids(ids[0]);
      own->add_instance_ids(ids[1]);
      auto* west = r.add_targets();
      west->set_region(kOtherRegion);
      west->add_instance_ids(ids[2]);
      west->add_instance_ids(ids[3]);
      r.set_max_concurrency("1");
      if (edit) edit(r);
    });
  }

  // The parent admitted and fanned out; its children admitted from the requests it emitted.
  void FanOut(const v1::Event& request) {
    Admission a = Admit(request);
    ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
    parent = a.workflow;
    ASSERT_EQ(parent.step(), kStepFanOut);
    StepOutcome o = Drive(parent, {}, {}, 1);
    ASSERT_EQ(o.emit.size(), 2u);
    for (const auto& e : o.emit) {
      Admission c = Admit(e);
      ASSERT_EQ(c.kind, Admission::Kind::kWorkflow) << c.reason;
      children.push_back(c.workflow);
    }
  }

  // Each child discovers and reports its count, waiting for the parent's word.
  std::vector<v1::Event> Counts() {
    std::vector<v1::Event> out;
    for (auto& c : children) {
      StepOutcome o = Drive(c, {}, {}, 1);
      EXPECT_EQ(o.next_step, kStepFanOutWait) << o.reason;
      EXPECT_EQ(o.emit.size(), 1u);
      if (!o.emit.empty()) out.push_back(o.emit[0]);
    }
    return out;
  }

  // Every child's count, taken by the parent in one run: its word to the children.
  StepOutcome CountedByTheParent() {
    std::vector<v1::Event> counts = Counts();
    EXPECT_EQ(counts.size(), 2u);
    return Drive(parent, {}, counts, 1);
  }

  // The item of `items` addressed to `child`.
  static v1::Event For(const std::vector<v1::Event>& items, const v1::WorkflowCheckpoint& child) {
    for (const auto& e : items) {
      if ((e.has_fan_out() && e.fan_out().child_workflow_id() == child.workflow_id()) ||
          (e.has_approval() && e.approval().workflow_id() == child.workflow_id()) ||
          (e.has_cancel() && e.cancel().workflow_id() == child.workflow_id())) {
        return e;
      }
    }
    ADD_FAILURE() << "nothing for " << child.workflow_id();
    return {};
  }

  // The child's end as the runtime sends it to the parent (WorkflowRuntime::Finish).
  static v1::Event EndOf(const v1::WorkflowCheckpoint& child, const StepOutcome& o) {
    v1::Result r;
    r.set_status(o.status);
    r.set_reason(o.reason);
    for (const auto& a : child.actions()) *r.add_actions() = a;
    return ResultToParent(child, r);
  }

  std::vector<std::string> ids;
  v1::WorkflowCheckpoint parent;
  std::vector<v1::WorkflowCheckpoint> children;
};

TEST_F(PatchFanOut, TwoRegionsMakeTwoChildrenAndOneResultListingEveryInstance) {
  FanOut(TwoCells());
  // One child per cell, each with only its cell's targets, an id from the parent's and the cell.
  ASSERT_EQ(children.size(), 2u);
  std::set<std::string> cells;
  for (const auto& c : children) {
    cells.insert(c.cell());
    EXPECT_EQ(c.workflow_id(), ChildWorkflowId(parent.workflow_id(), c.cell()));
    EXPECT_EQ(c.trigger().parent().workflow_id(), parent.workflow_id());
    EXPECT_EQ(c.trigger().patch_request().request_id(), "chg-1");
    ASSERT_EQ(c.trigger().patch_request().targets_size(), 1);
    EXPECT_EQ(c.trigger().patch_request().targets(0).region(), c.trigger().region());
  }
  EXPECT_EQ(cells, (std::set<std::string>{"111122223333/us-east-1", "111122223333/us-west-2"}));
  EXPECT_NE(children[0].workflow_id(), children[1].workflow_id());

  std::vector<v1::Event> counts = Counts();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].fan_out().discovered(), 2);
  EXPECT_EQ(CellOf(counts[0]), "111122223333/us-east-1");  // to the parent's cell
  EXPECT_TRUE(ssm.calls.empty()) << "a child touched something before the parent's go";

  // One count is not every count: no word yet.
  EXPECT_TRUE(Drive(parent, {}, {counts[0]}, 1).emit.empty());
  StepOutcome told = Drive(parent, {}, {counts[1]}, 1);
  ASSERT_EQ(told.emit.size(), 2u);
  for (const auto& e : told.emit) EXPECT_EQ(e.fan_out().kind(), kFanOutGo);
  EXPECT_THAT(told.reason, HasSubstr("every cell counted, 4 instance(s)"));

  std::vector<v1::Event> ends;
  for (auto& c : children) {
    StepOutcome end = Drive(c, {}, {For(told.emit, c)});
    ASSERT_EQ(end.kind, StepOutcome::Kind::kFinish);
    EXPECT_EQ(end.status, v1::Result::SUCCEEDED) << end.reason;
    ends.push_back(EndOf(c, end));
  }
  for (const auto& id : ids) EXPECT_EQ(ssm.SendsTo(id), 1) << id;

  StepOutcome done = Drive(parent, {}, ends, 1);
  ASSERT_EQ(done.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(done.status, v1::Result::SUCCEEDED) << done.reason;
  EXPECT_THAT(done.reason, HasSubstr("SUCCEEDED over 2 cell(s)"));
  std::set<std::string> listed;
  for (const auto& a : parent.actions()) {
    if (a.action() == "patch" && a.status() == "patched") listed.insert(a.resource());
  }
  EXPECT_EQ(listed, (std::set<std::string>{Resource(ids[0]), Resource(ids[1]), Resource(ids[2]),
                                           Resource(ids[3])}));
}

TEST_F(PatchFanOut, TheParentSendsTheRequestsOneSummaryOverEveryCell) {
  FanOut(TwoCells(
      [](v1::PatchRequest& r) { r.set_notify_topic_arn("arn:aws:sns:us-east-1:111122223333:p"); }));
  StepOutcome told = CountedByTheParent();
  ASSERT_EQ(told.emit.size(), 2u);
  // The first child ends in one run of the parent, the second in the next.
  std::vector<v1::Event> ends;
  for (auto& c : children) {
    StepOutcome end = Drive(c, {}, {For(told.emit, c)});
    ASSERT_EQ(end.status, v1::Result::SUCCEEDED) << end.reason;
    ends.push_back(EndOf(c, end));
  }
  EXPECT_TRUE(fleet.published.empty()) << "a child sent a summary: " << fleet.published[0].message;
  EXPECT_EQ(fleet.metrics.size(), 2u) << "each child puts its cell's metrics";
  EXPECT_NE(Drive(parent, {}, {ends[0]}, 1).kind, StepOutcome::Kind::kFinish);
  StepOutcome done = Drive(parent, {}, {ends[1]}, 1);
  ASSERT_EQ(done.kind, StepOutcome::Kind::kFinish);

  ASSERT_EQ(fleet.published.size(), 1u);
  const auto& summary = fleet.published[0];
  EXPECT_EQ(summary.topic_arn, "arn:aws:sns:us-east-1:111122223333:p");
  EXPECT_EQ(summary.subject, "fleetkeeper patch SUCCEEDED");
  EXPECT_THAT(summary.message, HasSubstr("SUCCEEDED over 2 cell(s)"));
  for (size_t k = 0; k < ids.size(); ++k) {
    const std::string cell = k < 2 ? "111122223333/us-east-1" : "111122223333/us-west-2";
    EXPECT_THAT(summary.message, HasSubstr(ids[k] + " patched: " + cell + ": ")) << summary.message;
  }
  EXPECT_EQ(fleet.metrics.size(), 2u) << "the parent puts no metrics over its children's";
}

TEST_F(PatchFanOut, MaxTargetsCountsEveryCellAndNothingIsTouchedOverIt) {
  config.mutable_commands()->set_max_targets(3);  // each cell has 2: only the whole is over
  FanOut(TwoCells());
  StepOutcome told = CountedByTheParent();
  ASSERT_EQ(told.emit.size(), 2u);
  std::vector<v1::Event> ends;
  for (auto& c : children) {
    const v1::Event word = For(told.emit, c);
    EXPECT_EQ(word.fan_out().kind(), kFanOutStop);
    StepOutcome end = Drive(c, {}, {word});
    EXPECT_EQ(end.status, v1::Result::REJECTED);
    EXPECT_THAT(end.reason, HasSubstr("4 targets exceed commands.max_targets (3)"));
    ends.push_back(EndOf(c, end));
  }
  EXPECT_TRUE(ssm.calls.empty());
  EXPECT_EQ(Drained(ids), 0);
  StepOutcome done = Drive(parent, {}, ends, 1);
  EXPECT_EQ(done.status, v1::Result::REJECTED);
  EXPECT_THAT(done.reason, HasSubstr("over every cell (111122223333/us-east-1 2, "
                                     "111122223333/us-west-2 2): 4 targets exceed"));
}

TEST_F(PatchFanOut, ApprovalsAndCancelsToTheParentReachEveryChild) {
  FanOut(TwoCells([](v1::PatchRequest& r) { r.set_approval_required(true); }));
  std::vector<v1::Event> counts = Counts();
  v1::Event approval;
  approval.set_id("approval-bob");
  approval.set_account("111122223333");
  approval.set_region("us-east-1");
  approval.mutable_approval()->set_request_id("chg-1");
  approval.mutable_approval()->set_approver("bob");
  // The approval comes with the last count: the children get it after their go, and keep it for
  // their gate whatever step it finds them in.
  counts.push_back(approval);
  StepOutcome told = Drive(parent, {}, counts, 1);
  ASSERT_EQ(told.emit.size(), 4u);  // a go and an approval for each child
  for (auto& c : children) {
    const v1::Event forwarded =
        For(std::vector<v1::Event>(told.emit.begin() + 2, told.emit.end()), c);
    EXPECT_EQ(forwarded.approval().approver(), "bob");
    EXPECT_EQ(CellOf(forwarded), c.cell());
    // The go and the approval in one step: the approval is kept for the gate.
    StepOutcome after = Drive(c, {}, {For(told.emit, c), forwarded}, 1);
    EXPECT_EQ(after.next_step, kStepGate);
    StepOutcome gate = Drive(c, {}, {}, 1);
    EXPECT_EQ(gate.next_step, kStepStartStopped) << "the kept approval did not open the gate";
  }

  // A cancel of the parent: forwarded to each child still running; the parent ends with theirs.
  parent.set_cancel_requested(true);
  parent.set_cancel_reason("window moved");
  parent.set_step(kStepCancel);
  StepOutcome forwarded = Drive(parent, {}, {}, 1);
  ASSERT_EQ(forwarded.emit.size(), 2u);
  std::vector<v1::Event> ends;
  for (auto& c : children) {
    const v1::Event cancel = For(forwarded.emit, c);
    EXPECT_THAT(cancel.cancel().reason(), HasSubstr("window moved (parent workflow"));
    c.set_cancel_requested(true);
    c.set_cancel_reason(cancel.cancel().reason());
    c.set_step(kStepCancel);
    StepOutcome end = Drive(c, {}, {}, 1);
    EXPECT_EQ(end.status, v1::Result::CANCELLED);
    ends.push_back(EndOf(c, end));
  }
  EXPECT_EQ(Drive(parent, {}, {}, 1).kind, StepOutcome::Kind::kWait);  // no end yet: it waits
  StepOutcome done = Drive(parent, {}, ends, 1);
  ASSERT_EQ(done.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(done.status, v1::Result::CANCELLED);
  EXPECT_THAT(done.reason, HasSubstr("window moved"));
  int not_started = 0;
  for (const auto& a : parent.actions()) {
    not_started += a.action() == "patch" && a.status() == "not-started" ? 1 : 0;
  }
  EXPECT_EQ(not_started, 4);
}

TEST_F(PatchFanOut, AnAccountNotAllowedInAnyCellRejectsTheWholeRequest) {
  config.mutable_commands()->add_allowed_accounts("111122223333");
  Admission a = Admit(
      TwoCells([](v1::PatchRequest& r) { r.mutable_targets(1)->set_account("444455556666"); }));
  EXPECT_EQ(a.status, v1::Result::REJECTED);
  EXPECT_THAT(a.reason, HasSubstr("444455556666"));
  EXPECT_THAT(a.reason, HasSubstr("(cell 444455556666/us-west-2); nothing touched"));
}

TEST(PatchFanOutStatus, TheParentsStatusFollowsItsChildren) {
  auto of = [](std::vector<v1::Result::Status> statuses, bool all_finished = true) {
    v1::PatchWorkflowState s;
    for (auto st : statuses) {
      auto* c = s.add_children();
      c->set_finished(all_finished);
      c->set_status(st);
    }
    return ParentStatus(s);
  };
  EXPECT_EQ(of({v1::Result::SUCCEEDED, v1::Result::SUCCEEDED}), v1::Result::SUCCEEDED);
  EXPECT_EQ(of({v1::Result::SUCCEEDED, v1::Result::SKIPPED}), v1::Result::SUCCEEDED);
  EXPECT_EQ(of({v1::Result::SUCCEEDED, v1::Result::FAILED}), v1::Result::PARTIAL);
  EXPECT_EQ(of({v1::Result::PARTIAL, v1::Result::CANCELLED}), v1::Result::PARTIAL);
  EXPECT_EQ(of({v1::Result::FAILED, v1::Result::CANCELLED}), v1::Result::FAILED);
  EXPECT_EQ(of({v1::Result::DRY_RUN, v1::Result::DRY_RUN}), v1::Result::DRY_RUN);
  EXPECT_EQ(of({v1::Result::SKIPPED, v1::Result::SKIPPED}), v1::Result::SKIPPED);
  EXPECT_EQ(of({v1::Result::SUCCEEDED}, false), v1::Result::FAILED);  // no result: not patched
}

TEST(PatchFanOutCells, OnlyTargetsInAnotherCellFanOut) {
  v1::Event e;
  e.set_account("111122223333");
  e.set_region("us-east-1");
  e.mutable_patch_request()->add_targets()->set_landing_zone("prod");
  EXPECT_FALSE(SpansCells(e));
  e.mutable_patch_request()->mutable_targets(0)->set_region("us-east-1");
  EXPECT_FALSE(SpansCells(e));
  e.mutable_patch_request()->mutable_targets(0)->set_region("eu-west-1");
  EXPECT_TRUE(SpansCells(e));  // one cell, not the request's own
  e.mutable_patch_request()->add_targets()->set_landing_zone("prod");
  EXPECT_EQ(TargetCells(e),
            (std::set<std::string>{"111122223333/eu-west-1", "111122223333/us-east-1"}));
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch::testing
