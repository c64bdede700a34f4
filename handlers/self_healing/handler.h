// Self-healing on alarms (DESIGN.md "Alarm -> self-healing"): rules match an alarm, throttles and
// the per-cell circuit breaker are decided at admission (poll thread, no I/O, durable in the cell
// store), and each admitted event becomes a workflow that acts, verifies and reports.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fleetkeeper/v1/self_healing.pb.h"
#include "handlers/factory.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::self_healing {

// Workflow kind and handler name in checkpoints and results.
inline constexpr const char* kWorkflowKind = "heal";
inline constexpr const char* kHandlerName = "self_healing";

class SelfHealingHandler final : public WorkflowHandler {
 public:
  // Captures handlers.self_healing of `config` (defaults filled in by the loader).
  explicit SelfHealingHandler(const v1::WorkerConfig& config);
  SelfHealingHandler(const SelfHealingHandler&) = delete;
  SelfHealingHandler& operator=(const SelfHealingHandler&) = delete;

  std::string_view name() const override { return kHandlerName; }

  // SKIPPED when no rule matches (or a throttle says the event needs nothing), REJECTED for a
  // freeze, an exclusion, a cooldown or the breaker, otherwise a workflow whose state lists one
  // action per admitted rule. Records throttles in context.store.
  Admission Admit(const v1::Event& event, const AdmissionContext& context) override;

  StepOutcome RunStep(const std::string& step, StepContext& context) override;
  bool StepMutates(const std::string& step) const override;
  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override;
  // Its locks and the groups whose tags it recorded (an instance's target groups, which it does
  // not lock): what its guards by tag and blackout windows by tag watch (docs/safety.md).
  std::vector<std::string> PausingResources(const v1::WorkflowCheckpoint& wf) const override;
  // handlers.self_healing.exempt_from_freeze.
  bool ExemptFromFreeze() const override { return config_.exempt_from_freeze(); }

  // A repeat_while_alarm round is an action like any other: it takes a slot of the cell's circuit
  // breaker (and restarts the rule's cooldown on the resource) in the transaction that starts it,
  // or, when the breaker is open, is not taken and the result says why.
  void OnStepOutcome(const std::string& step, v1::WorkflowCheckpoint& wf, StepOutcome& outcome,
                     CellStore& store, int64_t now_ms) override;

 private:
  v1::SelfHealingConfig config_;
  std::vector<std::string> group_tag_keys_;  // GroupTagKeys of the safety section
  StepTable steps_;                          // over config_ and group_tag_keys_
};

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config);

// The registry's entry (handlers/factory.h).
const HandlerFactory& Factory();

}  // namespace fleetkeeper::handlers::self_healing
