// Durable workflows: the contract between the workflow runtime (handlers/engine/) and the handlers
// that run long operations (AMI rollout, patching, self-healing actions, ECS lifecycle).
//
// A workflow is a sequence of named steps over typed protobuf state, checkpointed to fleet.state
// after every step. The runtime runs a step on the bounded executor (never the poll thread), hands
// the outcome back to the poll thread, commits the new checkpoint (and any progress or final
// result) in the next Kafka transaction, and only then schedules the next step. A step therefore
// must be safe to run again after a crash: it re-reads AWS before it acts, and every mutating call
// carries an idempotency token from StepContext::IdempotencyToken (same workflow, step and attempt
// → same token).
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "handlers/fanout.h"
#include "handlers/handler.h"

namespace fleetkeeper::aws {
struct CellClients;  // awsclient/clients.h: every service client for one (account, region, role)
}

namespace fleetkeeper::handlers {

// What a step decides. Build with the named constructors.
struct StepOutcome {
  enum class Kind {
    kNext,    // run `next_step` as soon as this outcome is committed
    kWait,    // run `next_step` when the timer fires or a matching signal arrives, first wins
    kFinish,  // the workflow is over: `status` and `reason` are its final result
  };
  Kind kind = Kind::kNext;
  std::string next_step;
  int64_t wait_ms = 0;                    // kWait: timer, relative to now; 0 = no timer
  std::vector<std::string> wait_signals;  // kWait: signal keys (see SignalKeyOf)
  v1::Result::Status status = v1::Result::STATUS_UNSPECIFIED;  // kFinish
  std::string reason;               // kFinish: why; kNext/kWait: progress note (optional)
  std::vector<v1::Action> actions;  // actions taken in this step, appended to the result
  bool publish_progress = false;    // emit an IN_PROGRESS result with `reason`
  bool retry_same_step = false;     // kWait on the same step with attempt + 1
  // Work items for fleet.work, each routed by its own cell (account/region): produced in the
  // transaction that checkpoints this outcome, so exactly once with it. Their ids must be
  // deterministic (the same after a crash and a re-run of the step): the receiving partition
  // drops an id it has seen. A fan-out's child requests and the parent's word to its children.
  std::vector<v1::Event> emit;

  static StepOutcome Next(std::string step) {
    StepOutcome o;
    o.kind = Kind::kNext;
    o.next_step = std::move(step);
    return o;
  }
  static StepOutcome Wait(std::string step, int64_t wait_ms,
                          std::vector<std::string> signals = {}) {
    StepOutcome o;
    o.kind = Kind::kWait;
    o.next_step = std::move(step);
    o.wait_ms = wait_ms;
    o.wait_signals = std::move(signals);
    return o;
  }
  static StepOutcome Finish(v1::Result::Status status, std::string reason) {
    StepOutcome o;
    o.kind = Kind::kFinish;
    o.status = status;
    o.reason = std::move(reason);
    return o;
  }
};

// What the cell's blast-radius ledger answered to a claim (handlers/engine/ledger.h).
struct CapacityDecision {
  bool granted = false;
  // Not granted: which group holds it back, with its counts and who holds them. Granted over a
  // group's budget under the self-healing margin: says so (it goes into the workflow's result).
  std::string reason;
  bool over_budget = false;
  int64_t waiting_since_ms = 0;  // refused: since when this workflow has wanted the unit
};

// The cell's blast-radius ledger as a step sees it: every handler that takes capacity out of
// service reserves it here first, checkpoints, and only then makes the call; it releases the
// capacity once it is back. Reservations live in the workflow's checkpoint (`reservations`), so
// a restart restores them before any step runs. Thread-safe; never blocks on I/O.
class CapacityLedger {
 public:
  virtual ~CapacityLedger() = default;
  // Reserves claim.unit in every group of the claim, or none. A unit this workflow holds already
  // is granted again (with the claim's aliases). Refused, the claim is kept in the checkpoint
  // (`capacity_wanted`): the runtime then holds this workflow's mutating steps while other
  // workflows' reservations leave no room, until claim.wait_until_ms, and the step, run again,
  // decides what a timeout means.
  virtual CapacityDecision Reserve(const v1::CapacityClaim& claim) = 0;
  // The unit is back in service: releases it in every group.
  virtual void Release(const std::string& unit) = 0;
  virtual bool Holds(const std::string& unit) const = 0;
};

// What a step sees. Lives on the executor thread for the duration of one step.
// The contract's idempotency token: "fk-" and 48 hex digits of the SHA-256 of the workflow id,
// step, attempt and `discriminator`. The same after a crash for the same (workflow, step,
// attempt); a retry of the step (attempt + 1) gets a new one.
std::string StepIdempotencyToken(const v1::WorkflowCheckpoint& wf,
                                 const std::string& discriminator);

class StepContext {
 public:
  virtual ~StepContext() = default;
  virtual const v1::WorkflowCheckpoint& workflow() const = 0;
  // The handler's typed state (google.protobuf.Any in the checkpoint); unpack, modify, pack back.
  virtual google::protobuf::Any* mutable_state() = 0;
  // The AWS clients of the workflow's cell (account, region, role).
  virtual aws::CellClients& aws() = 0;
  virtual const Clock& clock() const = 0;
  virtual bool dry_run() const = 0;
  // Signals delivered since the previous step (progress events, approvals), oldest first.
  virtual const std::vector<v1::Event>& signals() const = 0;
  // Deterministic token for the current (workflow, step, attempt) plus a discriminator (e.g. the
  // instance id), at most 64 characters: what goes into ClientToken and similar fields. The
  // runtime's is StepIdempotencyToken.
  virtual std::string IdempotencyToken(const std::string& discriminator) const = 0;
  // The cell's blast-radius ledger. Null only in contexts that run a handler's steps alone (unit
  // tests of a handler's own logic, which have no cell); the runtime always gives one.
  virtual CapacityLedger* capacity() { return nullptr; }
  // The workflow's guard alarms named by tags on its groups (`tagged_guards` of the checkpoint;
  // handlers/group_guards.h reads and records them). Null where there is no checkpoint to keep
  // them in.
  virtual google::protobuf::RepeatedPtrField<v1::TaggedGuard>* mutable_tagged_guards() {
    return nullptr;
  }
};

// A handler's steps by name: the function that runs each and whether it changes AWS resources
// (a freeze, and later the safety guards, hold mutating steps back). A step name, once released,
// is never reused or renamed: checkpoints name it.
struct StepDef {
  std::string name;
  bool mutates = false;
  std::function<StepOutcome(StepContext&)> run;
};

class StepTable {
 public:
  StepTable(std::string_view handler, std::vector<StepDef> steps);

  // Runs `step`. A step this version does not know (a newer worker wrote the checkpoint) fails
  // the workflow with that reason; it never guesses.
  StepOutcome Run(const std::string& step, StepContext& context) const;
  bool Mutates(const std::string& step) const;
  bool Has(const std::string& step) const { return Find(step) != nullptr; }

 private:
  const StepDef* Find(const std::string& step) const;

  std::string handler_;
  std::vector<StepDef> steps_;
};

// A handler whose admitted events become durable workflows.
class WorkflowHandler : public Handler {
 public:
  // Runs one step. Called on an executor thread; may block on AWS calls (the clients' own retry
  // and rate limiting apply). Must not throw; return a kFinish FAILED outcome on errors that end
  // the workflow, or a kWait on the same step to retry later.
  virtual StepOutcome RunStep(const std::string& step, StepContext& context) = 0;
  // Whether the step changes AWS resources: a freeze holds mutating steps back.
  virtual bool StepMutates(const std::string& step) const = 0;
  // Resources the workflow changes (e.g. "asg:web", "instance:i-0123", "tg:arn…"): two workflows
  // that share a resource never run mutating steps at the same time. Read from the checkpoint.
  virtual std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const = 0;
  // Resources a guard alarm that rolls the workflow back watches (docs/safety.md, "Rollback on a
  // guard alarm"): what it changes now and what it has changed, in LockedResources' names.
  virtual std::vector<std::string> GuardedResources(const v1::WorkflowCheckpoint& wf) const {
    return LockedResources(wf);
  }
  // Resources a guard alarm that pauses the workflow watches (docs/safety.md, "Alarm guards"):
  // by default the ones it locks. A handler that takes capacity out of groups it does not lock
  // adds them (a patch drains its instances from target groups other workflows share).
  virtual std::vector<std::string> PausingResources(const v1::WorkflowCheckpoint& wf) const {
    return LockedResources(wf);
  }
  // Whether a freeze lets this handler's mutating steps run all the same (self-healing may be
  // configured so: a failing instance is already out of service).
  virtual bool ExemptFromFreeze() const { return false; }
  // Optional: the step a cancel runs before the workflow ends, for what must not be left half
  // done (a patch registers the instances it drained again). "" (the default): a cancel ends the
  // workflow CANCELLED at its next step boundary. Otherwise, at that boundary the workflow moves to
  // this step, which runs like any other (timers, freeze, locks) until it finishes the workflow,
  // normally CANCELLED with the checkpoint's cancel_reason.
  virtual std::string CancelStep() const { return ""; }
  // Optional. On the poll thread, when the outcome of `step` comes back and before it is
  // checkpointed: for budgets that live in the cell's durable store and that a step takes from
  // (the self-healing circuit breaker counts repeated actions). May change the workflow's state
  // and the outcome; writes to `store` commit in the same transaction as that checkpoint. No I/O.
  virtual void OnStepOutcome(const std::string& step, v1::WorkflowCheckpoint& wf,
                             StepOutcome& outcome, CellStore& store, int64_t now_ms) {
    (void)step, (void)wf, (void)outcome, (void)store, (void)now_ms;
  }
  // Optional. Workflows the handler starts at a time of its own rather than for an event (ECS
  // schedules). Called on the poll thread, no I/O, about once a second. Each is a complete initial
  // checkpoint (NewWorkflow over a trigger the handler makes) whose workflow id is deterministic
  // (one per schedule and occurrence) and whose `due_at_ms` is when its first step is due. The
  // runtime creates it in the partition that owns its cell unless that partition has a workflow
  // of that id already, live or finished: so an occurrence runs once across the consumer group,
  // and a restart finds it waiting in fleet.state.
  virtual std::vector<v1::WorkflowCheckpoint> TimedWorkflows(int64_t now_ms) const {
    (void)now_ms;
    return {};
  }
};

// The signal key an event delivers, or "" when it is not a signal: "ssm-command:<command id>",
// "refresh:<asg name>", "instance:<instance id>", "approval:<workflow id>", "fan-out:<workflow id>"
// (a FanOut for that workflow, parent or child).
std::string SignalKeyOf(const v1::Event& event);

// Deterministic workflow id: "<account>/<region>/<kind>-<first 16 hex of sha256(dedup_key)>".
std::string WorkflowId(const std::string& account, const std::string& region,
                       const std::string& kind, const std::string& dedup_key);

// Helper for handlers' Admit: the initial checkpoint of a workflow for `event`.
v1::WorkflowCheckpoint NewWorkflow(const v1::Event& event, const std::string& kind,
                                   const std::string& handler, const std::string& first_step,
                                   const google::protobuf::Message& initial_state, int64_t now_ms);

inline constexpr uint32_t kCheckpointSchemaVersion = 1;

}  // namespace fleetkeeper::handlers
