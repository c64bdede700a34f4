// Per-resource ordering for patch requests (DESIGN.md "Handlers"): a second request for an
// instance that a live patch workflow (or an AMI rollout) holds is admitted as a workflow of its
// own, and its first mutating step waits for that instance's lock: both name the instance the
// same way before their first mutating step. The runtime's side — a shared lock name holds the
// second workflow's mutating steps until the first finishes, saying "waiting for <resource> (held
// by <workflow>)" — is tests/handlers/engine/runtime_test.cc
// (LockedResourceSerializesMutatingStepsAndSaysWhoHoldsIt).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "fleetkeeper/v1/ami_rollout_state.pb.h"
#include "fleetkeeper/v1/patch_state.pb.h"
#include "handlers/ami_rollout/handler.h"
#include "handlers/patch/config.h"
#include "handlers/patch/handler.h"
#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;

constexpr char kInstance[] = "i-0123456789abcdef0";

v1::Event Request(const std::string& request_id) {
  v1::Event e;
  e.set_id("evt-" + request_id);
  e.set_dedup_key("patch:" + request_id);
  e.set_account("111122223333");
  e.set_region("us-east-1");
  auto* r = e.mutable_patch_request();
  r->set_request_id(request_id);
  r->set_requested_by("alice");
  r->add_targets()->add_instance_ids(kInstance);
  return e;
}

// The instance as the discover step records it.
void Discovered(v1::WorkflowCheckpoint& wf) {
  v1::PatchWorkflowState state;
  wf.state().UnpackTo(&state);
  auto* i = state.add_instances();
  i->set_instance_id(kInstance);
  i->set_initial_state("running");
  i->set_phase("pending");
  wf.mutable_state()->PackFrom(state);
}

TEST(PatchOrdering, ASecondRequestForTheSameInstanceWaitsForItsLock) {
  v1::WorkerConfig config;
  ApplyPatchDefaults(*config.mutable_handlers()->mutable_patch());
  PatchHandler handler(config);
  ManualClock clock;
  AdmissionContext ctx{config, clock, false, nullptr};
  Admission first = handler.Admit(Request("chg-1"), ctx);
  Admission second = handler.Admit(Request("chg-2"), ctx);
  ASSERT_EQ(first.kind, Admission::Kind::kWorkflow) << first.reason;
  ASSERT_EQ(second.kind, Admission::Kind::kWorkflow) << second.reason;
  EXPECT_NE(first.workflow.workflow_id(), second.workflow.workflow_id());

  // Discovery only reads: nothing is locked and nothing changes before the instance is known.
  EXPECT_THAT(handler.LockedResources(second.workflow), IsEmpty());
  EXPECT_FALSE(handler.StepMutates(kStepDiscover));
  EXPECT_FALSE(handler.StepMutates(kStepGate));
  EXPECT_TRUE(handler.StepMutates(kStepStartStopped));
  EXPECT_TRUE(handler.StepMutates(kStepPatch));
  Discovered(first.workflow);
  Discovered(second.workflow);
  const std::string lock = std::string("instance:") + kInstance;
  EXPECT_EQ(handler.LockedResources(first.workflow), std::vector<std::string>{lock});
  EXPECT_EQ(handler.LockedResources(second.workflow), std::vector<std::string>{lock});

  // Across handlers: an AMI rollout replacing the instance locks it under the same name, so a
  // patch drain of it waits for the rollout (and the ledger refuses a unit another workflow holds).
  v1::AmiRolloutState rollout;
  auto* r = rollout.add_instances();
  r->set_instance_id(kInstance);
  r->set_phase("stop-old");
  v1::WorkflowCheckpoint replacing;
  replacing.mutable_state()->PackFrom(rollout);
  EXPECT_THAT(
      ami_rollout::AmiRolloutHandler(ami_rollout::RolloutConfig{}).LockedResources(replacing),
      Contains(lock));
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
