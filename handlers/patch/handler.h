// Patch request -> rolling patch workflow (DESIGN.md "Handlers"): a native or EventBridge
// `PatchRequest`, validated and authorized at admission, becomes a durable workflow that
// discovers the instances, waits for its gates and patches them in batches (steps.h).
#pragma once

#include <memory>

#include "fleetkeeper/v1/patch.pb.h"
#include "handlers/factory.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::patch {

class PatchHandler final : public WorkflowHandler {
 public:
  // Captures handlers.patch and commands of `config` (defaults filled in by the loader).
  explicit PatchHandler(const v1::WorkerConfig& config);

  std::string_view name() const override;
  // REJECTED, naming the field or the rule, for an invalid request or an account or role that
  // `commands` does not allow; otherwise a workflow whose first step discovers the instances, or,
  // for targets in other cells than the request's own, a parent workflow that fans out one child
  // workflow per cell (fanout.h).
  Admission Admit(const v1::Event& event, const AdmissionContext& context) override;
  StepOutcome RunStep(const std::string& step, StepContext& context) override;
  bool StepMutates(const std::string& step) const override;
  // A cancel registers the instances it drained again before the workflow ends (steps.h).
  std::string CancelStep() const override;
  // The instances the campaign patches: two workflows never patch one instance at once.
  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override;
  // Also their target groups: a guard alarm on a group rolls back the campaign patching into it.
  std::vector<std::string> GuardedResources(const v1::WorkflowCheckpoint& wf) const override;
  // The same: a guard alarm on an instance or a group of the campaign pauses it.
  std::vector<std::string> PausingResources(const v1::WorkflowCheckpoint& wf) const override;

 private:
  v1::PatchConfig config_;
  v1::CommandsConfig commands_;
  std::vector<std::string> guard_tags_;  // GroupTagKeys: of the guards and the blackout windows
  StepTable steps_;
};

// The registry's entry (handlers/factory.h).
const HandlerFactory& Factory();

}  // namespace fleetkeeper::handlers::patch
