// The reads a batch shares within a run of the patch step: one search for sent commands
// (ListCommands) before its commands go out, one look at its commands (ListCommandInvocations by
// document) instead of a GetCommandInvocation per instance, one DescribeInstancePatchStates for
// the instances that verify together, and the target health of its own targets while it waits.
#include <gtest/gtest.h>

#include <map>

#include "tests/handlers/patch/patch_fixture.h"

namespace fleetkeeper::handlers::patch {
namespace {

using testing::PatchWorkflow;

TEST_F(PatchWorkflow, ABatchLooksAtItsCommandsAndPatchStatesOnceARun) {
  auto ids = LandingZone(4);
  // One batch of four that moves together: the budgets let every instance drain at once.
  config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_max_unavailable("100%");
  auto a = Admit(Request([](auto& r) {
    r.set_max_concurrency("100%");
    r.set_backup_ami(false);
  }));
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  auto o = Drive(a.workflow);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  for (const auto& id : ids) {
    EXPECT_EQ(ssm.SendsTo(id), 1) << id;
    EXPECT_EQ(FinalAction(a.workflow, id)->status(), kPatched) << id;
  }
  // The commands end at their second status read: two looks, each listing all four.
  EXPECT_EQ(ssm.looks, 2);
  EXPECT_EQ(ssm.gets, 0) << "a command the look listed was read on its own";
  // Before the four commands went out, one search for them (ListCommands), none of its own.
  EXPECT_EQ(ssm.search_requests.size(), 1u);
  for (const auto& r : ssm.list_requests) EXPECT_EQ(r.rfind("i-", 0), std::string::npos) << r;
  // Discovery reads the four states before; the batch reads them after in one request.
  EXPECT_EQ(ssm.patch_state_reads, (std::vector<size_t>{4, 4}));
}

TEST_F(PatchWorkflow, ACommandAloneIsReadOnItsOwn) {
  auto ids = LandingZone(2);
  auto a = Admit(Request([](auto& r) {
    r.set_max_concurrency("1");
    r.set_backup_ami(false);
  }));
  auto o = Drive(a.workflow);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  EXPECT_EQ(ssm.looks, 0) << "a look for one command costs what its own read does";
  EXPECT_GE(ssm.gets, 4) << "each command: not yet invoked, then its status";
}

TEST_F(PatchWorkflow, TheWaitsReadTheBatchsTargetsNotTheWholeGroup) {
  auto ids = LandingZone(8);  // four in each group
  // Targets of other services in both groups: a whole-group read lists them, a targeted one not.
  for (const std::string& arn : {tg_a, tg_b}) {
    for (int k = 0; k < 6; ++k) {
      const std::string other = fleet.AddInstance("ami-other", {}).instance.id;
      fleet.target_groups.at(arn).targets[other] = "healthy";
      fleet.target_groups.at(arn).ports[other] = 80;
    }
  }
  config.mutable_handlers()->mutable_patch()->mutable_defaults()->set_max_unavailable("100%");
  auto a = Admit(Request([](auto& r) {
    r.set_max_concurrency("4");
    r.set_backup_ami(false);
  }));
  ASSERT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
  auto o = Drive(a.workflow);
  ASSERT_EQ(o.status, v1::Result::SUCCEEDED) << o.reason;
  v1::PatchWorkflowState state;
  ASSERT_TRUE(a.workflow.state().UnpackTo(&state));
  std::map<std::string, int> batch_of;
  for (const auto& i : state.instances()) batch_of[i.instance_id()] = i.batch();

  int whole = 0, targeted = 0;
  for (const auto& read : fleet.health_reads) {
    if (read.targets.empty()) {
      ++whole;
      continue;
    }
    ++targeted;
    // The campaign's instances of one batch in that group, and nothing else.
    const int batch = batch_of.at(read.targets.front().id);
    for (const auto& target : read.targets) {
      ASSERT_TRUE(batch_of.count(target.id)) << target.id << " is not the campaign's";
      EXPECT_EQ(batch_of.at(target.id), batch) << target.id;
      EXPECT_TRUE(fleet.target_groups.at(read.target_group_arn).targets.count(target.id))
          << target.id << " read in a group it is not in";
    }
  }
  EXPECT_GT(targeted, 0) << "the draining and healthy waits read named targets";
  // Whole groups are read for the budget only: discovery's baseline and each batch's drain.
  EXPECT_LE(whole, 2 * 2 + 2) << "two batches over two groups, and discovery";
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
