// The test-only effect handler the durability tests run (tests/testing/effect_handler.h): its
// steps, and its effect against a loopback server that records the request.
#include "tests/testing/effect_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/wrappers.pb.h>

#include <string>

#include "awsclient/clients.h"
#include "common/clock.h"
#include "tests/testing/loopback_server.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::testing {
namespace {

using aws::testing::LoopbackReply;
using aws::testing::LoopbackRequest;
using aws::testing::LoopbackServer;
using ::testing::HasSubstr;

// A step context over a copy of `wf`, with no AWS clients (the effect handler calls none).
struct Context {
  explicit Context(v1::WorkflowCheckpoint checkpoint) : wf(std::move(checkpoint)) {}
  v1::WorkflowCheckpoint wf;
  aws::CellClients clients;
  ManualClock clock;
  FakeStepContext ctx{&wf, &clients, &clock};
};

// A loopback peer for the effect: answers `status` to every POST and keeps the requests.
LoopbackServer EffectPeer(int status) {
  return LoopbackServer([status](const LoopbackRequest&) {
    LoopbackReply reply;
    reply.status = status;
    return reply;
  });
}

v1::Event Command() {
  v1::Event e;
  e.set_id("req-1");
  e.set_dedup_key("ecs:req-1");
  e.set_account("111122223333");
  e.set_region("eu-west-1");
  e.mutable_ecs_command()->set_request_id("req-1");
  e.mutable_ecs_command()->set_cluster("web");
  e.mutable_ecs_command()->set_action("scale");
  return e;
}

v1::WorkflowCheckpoint Admitted(EffectHandler& h) {
  v1::WorkerConfig config;
  ManualClock clock;
  AdmissionContext ctx{config, clock};
  Admission a = h.Admit(Command(), ctx);
  EXPECT_EQ(a.kind, Admission::Kind::kWorkflow);
  return a.workflow;
}

TEST(EffectHandler, AdmitsEcsCommandsAsWorkflowsLockingTheCluster) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  EXPECT_EQ(wf.workflow_id(), WorkflowId("111122223333", "eu-west-1", "test-effect", "ecs:req-1"));
  // Workflow ids outlive a version (checkpoints in fleet.state, locks): SHA-256("ecs:req-1"), first
  // 8 bytes, computed independently (Python's hashlib).
  EXPECT_EQ(wf.workflow_id(), "111122223333/eu-west-1/test-effect-fa4f12ff586121e6");
  EXPECT_EQ(wf.handler(), "test_effect");
  EXPECT_EQ(wf.step(), "arm");
  EXPECT_EQ(h.LockedResources(wf), std::vector<std::string>{"test:web"});
  EXPECT_TRUE(h.StepMutates("effect"));
  EXPECT_FALSE(h.StepMutates("arm"));
  EXPECT_FALSE(h.StepMutates("await"));

  v1::Event other;
  other.mutable_alarm()->set_alarm_name("a");
  v1::WorkerConfig config;
  ManualClock clock;
  Admission a = h.Admit(other, AdmissionContext{config, clock});
  EXPECT_EQ(a.kind, Admission::Kind::kFinal);
  EXPECT_EQ(a.status, v1::Result::REJECTED);
}

TEST(EffectHandler, ArmWaitsThenAwaitWaitsForItsApprovalOrATimer) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  Context arm(wf);
  StepOutcome o = h.RunStep("arm", arm.ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(o.next_step, "await");
  EXPECT_EQ(o.wait_ms, 300);

  wf.set_step("await");
  Context await(wf);
  o = h.RunStep("await", await.ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(o.next_step, "effect");
  EXPECT_EQ(o.wait_ms, 1500);
  EXPECT_EQ(o.wait_signals, std::vector<std::string>{"approval:" + wf.workflow_id()});

  Context approved(wf);
  v1::Event approval;
  approval.mutable_approval()->set_workflow_id(wf.workflow_id());
  approved.ctx.mutable_signals().push_back(approval);
  o = h.RunStep("await", approved.ctx);
  EXPECT_EQ(o.kind, StepOutcome::Kind::kNext);
  EXPECT_EQ(o.next_step, "effect");
}

TEST(EffectHandler, EffectPostsTheWorkflowIdWithItsIdempotencyKey) {
  LoopbackServer server = EffectPeer(200);
  EffectHandlerOptions o;
  o.url = server.url() + "/effect";
  EffectHandler h(o);
  v1::WorkflowCheckpoint wf = Admitted(h);
  wf.set_step("effect");
  wf.set_attempt(2);
  Context ctx(wf);
  StepOutcome out = h.RunStep("effect", ctx.ctx);
  EXPECT_EQ(out.kind, StepOutcome::Kind::kFinish);
  EXPECT_EQ(out.status, v1::Result::SUCCEEDED);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/effect");
  // The contract's token of (workflow, step "effect", attempt 2, "effect").
  EXPECT_EQ(requests[0].Header("Idempotency-Key"), StepIdempotencyToken(wf, "effect"));
  EXPECT_THAT(requests[0].Header("Idempotency-Key"), ::testing::StartsWith("fk-"));
  EXPECT_EQ(requests[0].body, wf.workflow_id());
  EXPECT_EQ(h.effects_sent(), 1);
}

TEST(EffectHandler, EffectRetriesTheStepOnAnErrorStatusOrNoServer) {
  LoopbackServer server = EffectPeer(503);
  EffectHandlerOptions o;
  o.url = server.url() + "/effect";
  EffectHandler h(o);
  v1::WorkflowCheckpoint wf = Admitted(h);
  wf.set_step("effect");
  Context ctx(wf);
  StepOutcome out = h.RunStep("effect", ctx.ctx);
  EXPECT_EQ(out.kind, StepOutcome::Kind::kWait);
  EXPECT_EQ(out.next_step, "effect");
  EXPECT_TRUE(out.retry_same_step);
  EXPECT_EQ(out.reason, "effect answered HTTP 503");

  EffectHandlerOptions closed;
  closed.url = "http://127.0.0.1:1/effect";  // nothing listens on port 1
  EffectHandler nobody(closed);
  out = nobody.RunStep("effect", ctx.ctx);
  EXPECT_TRUE(out.retry_same_step);
  EXPECT_THAT(out.reason, HasSubstr("effect failed: "));
}

TEST(EffectHandler, UnknownStepOrNoUrlFailsTheWorkflowWithAReason) {
  EffectHandler h({});
  v1::WorkflowCheckpoint wf = Admitted(h);
  Context ctx(wf);
  StepOutcome out = h.RunStep("renamed-step", ctx.ctx);
  EXPECT_EQ(out.status, v1::Result::FAILED);
  EXPECT_EQ(out.reason, "test_effect: unknown step renamed-step");
  out = h.RunStep("effect", ctx.ctx);
  EXPECT_EQ(out.status, v1::Result::FAILED);
  EXPECT_THAT(out.reason, HasSubstr("FK_TEST_EFFECT_URL"));
}

}  // namespace
}  // namespace fleetkeeper::handlers::testing
