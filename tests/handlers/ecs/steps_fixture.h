// The ECS lifecycle steps' test fixture: a stateful FakeEcs (clusters dev with services api (2)
// and web (3)), a fake Application Auto Scaling, the handler's defaults, and commands run the way
// the runtime runs them (RunToEnd over a checkpoint, a manual clock), with or without a ledger.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "handlers/ecs/handler.h"
#include "handlers/engine/ledger.h"
#include "tests/handlers/ecs/fake_aas.h"
#include "tests/handlers/ecs/fake_ecs.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::ecs::testing {

using handlers::testing::RunToEnd;

class EcsStepsTest : public ::testing::Test {
 protected:
  EcsStepsTest() {
    auto fake = std::make_unique<FakeEcs>();
    ecs_ = fake.get();
    clients_.ecs = std::move(fake);
    auto aas = std::make_unique<FakeApplicationAutoScaling>(&ecs_->calls);
    aas_ = aas.get();
    clients_.application_autoscaling = std::move(aas);
    auto cw = std::make_unique<::testing::NiceMock<aws::testing::MockCloudWatch>>();
    cw_ = cw.get();
    clients_.cloudwatch = std::move(cw);
    ecs_->AddCluster("dev");
    ecs_->AddService("dev", "api", 2);
    ecs_->AddService("dev", "web", 3);
    Factory().ApplyDefaults(config_);
    config_.mutable_handlers()->mutable_ecs()->mutable_verify_timeout()->set_seconds(30);
    config_.mutable_handlers()->mutable_ecs()->mutable_poll_interval()->set_seconds(2);
  }

  v1::EcsCommand Command(const std::string& action, std::vector<std::string> services = {}) {
    v1::EcsCommand c;
    c.set_request_id("req-" + action);
    c.set_action(action);
    if (action != "list_clusters") c.set_cluster("dev");
    for (auto& s : services) c.add_services(s);
    return c;
  }
  v1::WorkflowCheckpoint Admit(const v1::EcsCommand& c) {
    v1::Event e;
    e.set_id(c.request_id());
    e.set_dedup_key(c.request_id());
    e.set_account("111122223333");
    e.set_region("us-east-1");
    *e.mutable_ecs_command() = c;
    EcsHandler handler(config_);
    AdmissionContext ctx{config_, clock_, false, nullptr};
    Admission a = handler.Admit(e, ctx);
    EXPECT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
    return a.workflow;
  }
  StepOutcome Run(const v1::EcsCommand& c, bool dry_run = false,
                  std::shared_ptr<BlastRadiusLedger> ledger = nullptr,
                  const std::function<void(const StepOutcome&, const v1::WorkflowCheckpoint&)>&
                      after_step = nullptr) {
    auto wf = Admit(c);
    if (dry_run) wf.set_dry_run(true);
    EcsHandler handler(config_);
    auto outcomes =
        RunToEnd(handler, wf, clients_, clock_, dry_run, 500, std::move(ledger), after_step);
    last_ = wf;
    return outcomes.back();
  }
  // Runs one step of `wf` as the runtime would, by a fresh handler (a worker that restarted).
  StepOutcome RunStep(const std::string& step, v1::WorkflowCheckpoint* wf) {
    EcsHandler handler(config_);
    handlers::testing::FakeStepContext ctx(wf, &clients_, &clock_);
    return handler.RunStep(step, ctx);
  }
  // The workflow of `c` admitted and discovered, about to run act.
  v1::WorkflowCheckpoint AtAct(const v1::EcsCommand& c) {
    v1::WorkflowCheckpoint wf = Admit(c);
    EXPECT_EQ(RunStep("discover", &wf).next_step, "act");
    wf.set_step("act");
    return wf;
  }
  const v1::Action* Find(const StepOutcome& o, const std::string& resource,
                         const std::string& action) {
    for (const auto& a : last_.actions()) {
      if (a.resource() == resource && a.action() == action) return &a;
    }
    (void)o;
    return nullptr;
  }

  v1::WorkerConfig config_;
  ManualClock clock_;
  aws::CellClients clients_;
  FakeEcs* ecs_ = nullptr;
  FakeApplicationAutoScaling* aas_ = nullptr;
  aws::testing::MockCloudWatch* cw_ = nullptr;
  v1::WorkflowCheckpoint last_;
};

}  // namespace fleetkeeper::handlers::ecs::testing
