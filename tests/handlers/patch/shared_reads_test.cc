// The reads a batch shares within a run of the patch step: one look at its commands
// (ListCommandInvocations by document) instead of a GetCommandInvocation per instance, and one
// DescribeInstancePatchStates for the instances that verify together.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fleetkeeper::handlers::patch
