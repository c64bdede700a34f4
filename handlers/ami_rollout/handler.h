// Parameter change -> AMI rollout (DESIGN.md "Handlers"): a durable workflow that reads the new
// AMI from SSM Parameter Store and rolls it out to the Auto Scaling groups (instance refresh) and
// standalone instances (relaunch or replace-root-volume) bound to the parameter.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "awsclient/describe_coalescer.h"
#include "handlers/ami_rollout/config.h"
#include "handlers/factory.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::ami_rollout {

class AmiRolloutHandler final : public WorkflowHandler {
 public:
  explicit AmiRolloutHandler(RolloutConfig config);

  std::string_view name() const override { return "ami_rollout"; }
  // Delete -> SKIPPED; otherwise a workflow whose id derives from the event's dedup key
  // ("param:<name>"), so that two events of one put (Parameter Store Change and the CloudTrail
  // PutParameter call) meet the same workflow. The first step reads the version.
  Admission Admit(const v1::Event& event, const AdmissionContext& context) override;
  StepOutcome RunStep(const std::string& step, StepContext& context) override;
  bool StepMutates(const std::string& step) const override;
  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override;
  // Also the instances already replaced (both of them) and their target groups.
  std::vector<std::string> GuardedResources(const v1::WorkflowCheckpoint& wf) const override;

 private:
  // The read coalescer of the cell whose EC2 client this is (made on first use, kept for the
  // handler's lifetime, as the clients themselves are).
  aws::Ec2ReadCoalescer& ReadsFor(aws::Ec2& ec2);

  RolloutConfig config_;
  std::mutex reads_mu_;
  std::map<aws::Ec2*, std::unique_ptr<aws::Ec2ReadCoalescer>> reads_;
  StepTable steps_;  // over config_ and ReadsFor
};

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config);

// The registry's entry (handlers/factory.h).
const HandlerFactory& Factory();

}  // namespace fleetkeeper::handlers::ami_rollout
