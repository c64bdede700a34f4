#include "handlers/workflow.h"

#include "common/digest.h"
#include "handlers/event.h"

namespace fleetkeeper::handlers {

std::string SignalKeyOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kCommandProgress:
      return "ssm-command:" + event.command_progress().command_id();
    case v1::Event::kRefreshProgress:
      return "refresh:" + event.refresh_progress().auto_scaling_group_name();
    case v1::Event::kInstanceState:
      return "instance:" + event.instance_state().instance_id();
    case v1::Event::kApproval:
      return "approval:" + event.approval().workflow_id();
    case v1::Event::kFanOut:
      return "fan-out:" + FanOutAddressee(event.fan_out());
    default:
      return "";
  }
}

std::string WorkflowId(const std::string& account, const std::string& region,
                       const std::string& kind, const std::string& dedup_key) {
  return account + "/" + region + "/" + kind + "-" + Sha256Hex(dedup_key, 8);
}

v1::WorkflowCheckpoint NewWorkflow(const v1::Event& event, const std::string& kind,
                                   const std::string& handler, const std::string& first_step,
                                   const google::protobuf::Message& initial_state, int64_t now_ms) {
  v1::WorkflowCheckpoint wf;
  wf.set_schema_version(kCheckpointSchemaVersion);
  wf.set_workflow_id(WorkflowId(event.account(), event.region(), kind, event.dedup_key()));
  wf.set_kind(kind);
  wf.set_handler(handler);
  wf.set_cell(CellOf(event));
  wf.set_step(first_step);
  wf.set_attempt(0);
  wf.mutable_state()->PackFrom(initial_state);
  *wf.mutable_trigger() = event;
  wf.set_created_at_ms(now_ms);
  wf.set_updated_at_ms(now_ms);
  return wf;
}

StepTable::StepTable(std::string_view handler, std::vector<StepDef> steps)
    : handler_(handler), steps_(std::move(steps)) {}

const StepDef* StepTable::Find(const std::string& step) const {
  for (const StepDef& def : steps_) {
    if (def.name == step) return &def;
  }
  return nullptr;
}

StepOutcome StepTable::Run(const std::string& step, StepContext& context) const {
  const StepDef* def = Find(step);
  if (def == nullptr) {
    return StepOutcome::Finish(v1::Result::FAILED, handler_ + " workflow has unknown step \"" +
                                                       step +
                                                       "\" (a checkpoint of a newer version?)");
  }
  return def->run(context);
}

bool StepTable::Mutates(const std::string& step) const {
  const StepDef* def = Find(step);
  return def != nullptr && def->mutates;
}

std::string StepIdempotencyToken(const v1::WorkflowCheckpoint& wf,
                                 const std::string& discriminator) {
  const std::string basis =
      wf.workflow_id() + "|" + wf.step() + "|" + std::to_string(wf.attempt()) + "|" + discriminator;
  return "fk-" + Sha256Hex(basis, 24);
}

}  // namespace fleetkeeper::handlers
