// A rollout test: the fake AWS account (FakeAccount over MockCell), a config, the handler, and a
// driver that admits a parameter-change event and runs the workflow to its end with a manual clock.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fleetkeeper/v1/ami_rollout_state.pb.h"
#include "handlers/ami_rollout/handler.h"
#include "handlers/ami_rollout/steps.h"
#include "tests/testing/fake_account.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::ami_rollout::testing {

using handlers::testing::FakeAccount;
using handlers::testing::FakeInstance;

inline constexpr char kParameter[] = "/ami/linux/test";
inline constexpr char kOldAmi[] = "ami-0000000000000old0";
inline constexpr char kNewAmi[] = "ami-0000000000000new0";

class RolloutTest : public ::testing::Test {
 protected:
  RolloutTest() : fleet(cell) {
    fleet.AddImage(kOldAmi);
    fleet.AddImage(kNewAmi);
    fleet.AddParameter(kParameter, kNewAmi, 7);
  }

  v1::AmiRolloutConfig& ami() { return *worker.mutable_handlers()->mutable_ami_rollout(); }

  static v1::Event ParameterEvent(const std::string& id, const std::string& operation = "Update") {
    v1::Event e;
    e.set_id(id);
    e.set_dedup_key(std::string("param:") + kParameter);
    e.set_source_format("eventbridge");
    e.set_account("111122223333");
    e.set_region("us-east-1");
    e.mutable_parameter_change()->set_name(kParameter);
    e.mutable_parameter_change()->set_operation(operation);
    return e;
  }

  AmiRolloutHandler& Handler() {
    if (!handler) handler = std::make_unique<AmiRolloutHandler>(RolloutConfig::From(worker));
    return *handler;
  }

  // Admits the event and returns the new workflow's checkpoint.
  v1::WorkflowCheckpoint Admit() {
    AdmissionContext ctx{worker, clock};
    Admission a = Handler().Admit(ParameterEvent("evt-1"), ctx);
    EXPECT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
    return a.workflow;
  }

  // Runs a new workflow to its end; `final` is the last outcome.
  StepOutcome Run(bool dry_run = false) { return RunWith(cell.clients, dry_run); }
  // The same over other clients (the real transport, say).
  StepOutcome RunWith(aws::CellClients& clients, bool dry_run = false) {
    wf = Admit();
    outcomes = handlers::testing::RunToEnd(Handler(), wf, clients, clock, dry_run);
    return outcomes.back();
  }

  // Runs a new workflow with every step run twice from the checkpoint it started with (a kill -9
  // after its calls, before its checkpoint); returns the last outcome.
  StepOutcome RunEachStepTwice() {
    return RunStepwise([] { return true; });
  }

  // Runs a new workflow step by step; before each step `before()` may change `wf` (as the runtime
  // does between steps) and says whether the step runs twice from the checkpoint it started with.
  StepOutcome RunStepwise(const std::function<bool()>& before, int max_steps = 600) {
    wf = Admit();
    StepOutcome o;
    for (int i = 0; i < max_steps; ++i) {
      if (before()) {
        v1::WorkflowCheckpoint start = wf;
        handlers::testing::FakeStepContext first(&wf, &cell.clients, &clock);
        Handler().RunStep(wf.step(), first);
        wf = start;
      }
      handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
      o = Handler().RunStep(wf.step(), ctx);
      for (const auto& a : o.actions) *wf.add_actions() = a;
      if (o.kind == StepOutcome::Kind::kFinish) break;
      if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms);
      wf.set_step(o.next_step);
    }
    return o;
  }

  // Runs a new workflow step by step until `happened()`, then loses the checkpoint of the step
  // that made it happen (a kill -9 right after its calls). Returns happened().
  bool RunUntilThenLoseTheCheckpoint(const std::function<bool()>& happened) {
    wf = Admit();
    for (int i = 0; i < 200 && !happened(); ++i) {
      v1::WorkflowCheckpoint before = wf;
      handlers::testing::FakeStepContext ctx(&wf, &cell.clients, &clock);
      StepOutcome o = Handler().RunStep(wf.step(), ctx);
      if (happened()) {
        wf = before;
        break;
      }
      if (o.kind == StepOutcome::Kind::kFinish) break;
      if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms);
      wf.set_step(o.next_step);
    }
    return happened();
  }

  v1::AmiRolloutState State() const {
    v1::AmiRolloutState s;
    wf.state().UnpackTo(&s);
    return s;
  }

  // The result action for `resource` of kind `action` (the last one), or null.
  const v1::Action* ActionFor(const std::string& resource, const std::string& action) const {
    const v1::Action* found = nullptr;
    for (const auto& a : wf.actions()) {
      if (a.resource() == resource && a.action() == action) found = &a;
    }
    return found;
  }
  std::string Describe() const {
    std::string out;
    for (const auto& a : wf.actions()) {
      out += a.resource() + " " + a.action() + " " + a.status() + ": " + a.detail() + "\n";
    }
    return out;
  }

  handlers::testing::MockCell cell;
  FakeAccount fleet;
  ManualClock clock;
  v1::WorkerConfig worker;
  std::unique_ptr<AmiRolloutHandler> handler;
  v1::WorkflowCheckpoint wf;
  std::vector<StepOutcome> outcomes;
};

}  // namespace fleetkeeper::handlers::ami_rollout::testing
