// ECS lifecycle (DESIGN.md "ECS command -> lifecycle"): an EcsCommand, native or from EventBridge,
// checked and authorized at admission (no I/O), then a workflow that discovers, acts and verifies
// (steps.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fleetkeeper/v1/config.pb.h"
#include "handlers/ecs/schedules.h"
#include "handlers/factory.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ecs {

// Workflow kind and handler name in checkpoints and results.
inline constexpr char kWorkflowKind[] = "ecs";
inline constexpr char kHandlerName[] = "ecs";

class EcsHandler final : public WorkflowHandler {
 public:
  // Captures handlers.ecs (defaults filled in by the loader) and commands.
  explicit EcsHandler(const v1::WorkerConfig& config);

  std::string_view name() const override { return kHandlerName; }

  // REJECTED naming the field for an invalid command, naming the rule for an unauthorized one
  // (commands.allowed_accounts, allowed_roles, max_targets for the targets it names); otherwise
  // a workflow whose first step is discover.
  Admission Admit(const v1::Event& event, const AdmissionContext& context) override;

  StepOutcome RunStep(const std::string& step, StepContext& context) override;
  bool StepMutates(const std::string& step) const override { return steps_.Mutates(step); }
  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override;
  // The next occurrence of each of handlers.ecs.schedules (schedules.h).
  std::vector<v1::WorkflowCheckpoint> TimedWorkflows(int64_t now_ms) const override;

 private:
  v1::EcsConfig config_;
  v1::CommandsConfig commands_;
  std::vector<std::string> group_tag_keys_;  // GroupTagKeys of the safety section
  std::vector<ScheduleEntry> schedules_;
  StepTable steps_;
};

// The registry's entry (handlers/factory.h).
const HandlerFactory& Factory();

}  // namespace fleetkeeper::handlers::ecs
