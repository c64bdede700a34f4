// Runs a WorkflowHandler's steps in unit tests the way the runtime would, without Kafka or a
// network: a StepContext over a checkpoint, mocked AWS clients and a manual clock. Timers are
// advanced on the clock instead of slept; signals are injected.
#pragma once

#include <gmock/gmock.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "awsclient/clients.h"
#include "awsclient/credentials.h"
#include "awsclient/signed_transport.h"
#include "common/clock.h"
#include "handlers/engine/ledger.h"
#include "handlers/workflow.h"
#include "tests/testing/aws_mocks.h"

namespace fleetkeeper::handlers::testing {

// CellClients whose services are GMock mocks, reachable with their concrete types.
using MockCell = aws::testing::MockCellClients;

// A credential source that is not configured here, as every source of the chain answers on a
// machine without AWS credentials.
class UnconfiguredCredentials final : public aws::CredentialsProvider {
 public:
  Result<aws::Credentials> Resolve() override {
    return Error(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set");
  }
  std::string name() const override { return "environment"; }
};

// Keys that sign, with nothing on the other side to check them.
class FixedTestCredentials final : public aws::CredentialsProvider {
 public:
  Result<aws::Credentials> Resolve() override {
    return aws::Credentials{"AKIDEXAMPLE", "not-a-real-secret", "", 0, "test"};
  }
  std::string name() const override { return "test"; }
};

// Every service client over the real SignedTransport, for the failures that happen before AWS
// can answer: with `credentials` a chain in which no source is configured, calls are refused
// before they are sent; otherwise they go to a local port where nothing listens (connection
// refused), once each. What a handler makes of them is what it makes of the real thing.
inline std::unique_ptr<aws::CellClients> UnreachableCell(bool credentials) {
  aws::TransportOptions options;
  options.region = "us-east-1";
  options.endpoints.profile_endpoint_url = "http://127.0.0.1:1";
  options.retry.max_attempts = 1;
  aws::CredentialsProviderPtr provider;
  if (credentials) {
    provider = std::make_shared<FixedTestCredentials>();
  } else {
    provider = std::make_shared<aws::ChainProvider>(
        std::vector<aws::CredentialsProviderPtr>{std::make_shared<UnconfiguredCredentials>()});
  }
  return aws::MakeCellClients(std::make_shared<aws::SignedTransport>(provider, options));
}

class FakeStepContext final : public StepContext {
 public:
  FakeStepContext(v1::WorkflowCheckpoint* wf, aws::CellClients* clients, const Clock* clock)
      : wf_(wf), clients_(clients), clock_(clock) {}

  const v1::WorkflowCheckpoint& workflow() const override { return *wf_; }
  google::protobuf::Any* mutable_state() override { return wf_->mutable_state(); }
  aws::CellClients& aws() override { return *clients_; }
  const Clock& clock() const override { return *clock_; }
  // As the runtime's: the workflow's own setting, else (an older checkpoint) the worker's.
  bool dry_run() const override { return wf_->has_dry_run() ? wf_->dry_run() : dry_run_; }
  const std::vector<v1::Event>& signals() const override { return signals_; }
  // The contract's token, as the runtime's context makes it.
  std::string IdempotencyToken(const std::string& discriminator) const override {
    return StepIdempotencyToken(*wf_, discriminator);
  }

  CapacityLedger* capacity() override { return capacity_.get(); }
  google::protobuf::RepeatedPtrField<v1::TaggedGuard>* mutable_tagged_guards() override {
    return wf_->mutable_tagged_guards();
  }

  // The worker's setting, for a checkpoint that has none of its own.
  void set_dry_run(bool v) { dry_run_ = v; }
  // The cell's ledger, as the runtime gives it (none by default: a handler's own logic alone).
  void set_ledger(std::shared_ptr<BlastRadiusLedger> ledger) {
    capacity_ = std::make_unique<StepCapacity>(std::move(ledger), wf_, *clock_);
  }
  std::vector<v1::Event>& mutable_signals() { return signals_; }

 private:
  v1::WorkflowCheckpoint* wf_;
  aws::CellClients* clients_;
  const Clock* clock_;
  bool dry_run_ = false;
  std::vector<v1::Event> signals_;
  std::unique_ptr<StepCapacity> capacity_;
};

// Drives a workflow from its checkpoint to the end like the runtime: applies each outcome to the
// checkpoint (step, attempt, actions), advances the manual clock through waits, and stops at
// kFinish or after `max_steps`. Returns every outcome, in order. With `ledger`, steps reserve in
// it, and a finished workflow releases what it still holds, as the runtime does; `after_step`
// (when given) sees the checkpoint after each step.
inline std::vector<StepOutcome> RunToEnd(
    WorkflowHandler& handler, v1::WorkflowCheckpoint& wf, aws::CellClients& clients,
    ManualClock& clock, bool dry_run = false, int max_steps = 500,
    std::shared_ptr<BlastRadiusLedger> ledger = nullptr,
    const std::function<void(const StepOutcome&, const v1::WorkflowCheckpoint&)>& after_step =
        nullptr) {
  std::vector<StepOutcome> outcomes;
  for (int i = 0; i < max_steps; ++i) {
    FakeStepContext ctx(&wf, &clients, &clock);
    ctx.set_dry_run(dry_run);
    if (ledger) ctx.set_ledger(ledger);
    StepOutcome o = handler.RunStep(wf.step(), ctx);
    for (const auto& a : o.actions) *wf.add_actions() = a;
    outcomes.push_back(o);
    if (o.kind == StepOutcome::Kind::kFinish && ledger) {
      wf.clear_reservations();
      ledger->Set(wf.workflow_id(), wf.reservations());
    }
    if (after_step) after_step(o, wf);
    if (o.kind == StepOutcome::Kind::kFinish) break;
    if (o.kind == StepOutcome::Kind::kWait) clock.Advance(o.wait_ms > 0 ? o.wait_ms : 1000);
    if (o.retry_same_step || o.next_step == wf.step()) {
      wf.set_attempt(wf.attempt() + (o.retry_same_step ? 1 : 0));
    } else {
      wf.set_attempt(0);
    }
    wf.set_step(o.next_step);
  }
  return outcomes;
}

}  // namespace fleetkeeper::handlers::testing
