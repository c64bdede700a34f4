#include "handlers/patch/handler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "fleetkeeper/v1/patch_state.pb.h"
#include "handlers/authorization.h"
#include "handlers/safety_config.h"
#include "handlers/patch/config.h"
#include "handlers/patch/fanout.h"
#include "handlers/patch/permissions.h"
#include "handlers/patch/steps.h"

namespace fleetkeeper::handlers::patch {

PatchHandler::PatchHandler(const v1::WorkerConfig& config)
    : config_(config.handlers().patch()),
      commands_(config.commands()),
      guard_tags_(GroupTagKeys(config.safety())),
      steps_(PatchSteps(config_, commands_, guard_tags_)) {}

std::string_view PatchHandler::name() const { return kHandlerName; }

Admission PatchHandler::Admit(const v1::Event& event, const AdmissionContext& context) {
  if (event.body_case() != v1::Event::kPatchRequest) {
    return Admission::Final(v1::Result::SKIPPED, "the patch handler takes patch requests only");
  }
  const v1::PatchRequest& r = event.patch_request();
  if (auto problems = ValidateRequest(r); !problems.empty()) {
    return Admission::Final(v1::Result::REJECTED,
                            fmt::format("invalid patch request: {}", fmt::join(problems, "; ")));
  }
  if (auto plan = ResolvePlan(r, config_); !plan.ok()) {
    return Admission::Final(v1::Result::REJECTED, plan.error().message);
  }
  // A request over other cells than its own fans out one child workflow per cell (fanout.h), each
  // authorized again when it is admitted in its cell: the parent refuses at once what a child
  // would.
  const bool fans_out = SpansCells(event);
  std::set<std::string> cells = {CellOf(event)};
  if (fans_out) {
    const std::set<std::string> targets = TargetCells(event);
    cells.insert(targets.begin(), targets.end());
  }
  for (const auto& cell : cells) {
    const std::string account = cell.substr(0, cell.find('/'));
    if (std::string why = AuthorizeCell(context.config.commands(), account, r.role_arn());
        !why.empty()) {
      return Admission::Final(
          v1::Result::REJECTED,
          fmt::format("{}{}; nothing touched", why, fans_out ? " (cell " + cell + ")" : ""));
    }
  }
  v1::PatchWorkflowState state;
  state.set_current_batch(-1);
  Admission a;
  a.kind = Admission::Kind::kWorkflow;
  a.workflow = NewWorkflow(event, kWorkflowKind, kHandlerName,
                           fans_out ? kStepFanOut : kStepDiscover, state, context.clock.NowMs());
  a.status = v1::Result::IN_PROGRESS;
  a.reason =
      fans_out ? fmt::format("patch request {} by {}: one child workflow per cell ({})",
                             r.request_id(), r.requested_by(), fmt::join(TargetCells(event), ", "))
               : fmt::format("patch request {} by {}: discovering instances", r.request_id(),
                             r.requested_by());
  return a;
}

StepOutcome PatchHandler::RunStep(const std::string& step, StepContext& context) {
  return steps_.Run(step, context);
}

bool PatchHandler::StepMutates(const std::string& step) const { return steps_.Mutates(step); }

std::string PatchHandler::CancelStep() const { return kStepCancel; }

std::vector<std::string> PatchHandler::LockedResources(const v1::WorkflowCheckpoint& wf) const {
  v1::PatchWorkflowState state;
  if (!wf.state().UnpackTo(&state)) return {};
  std::vector<std::string> out;
  for (const auto& i : state.instances()) {
    if (i.outcome() != kSkipped) out.push_back(Resource(i.instance_id()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PatchHandler::GuardedResources(const v1::WorkflowCheckpoint& wf) const {
  std::vector<std::string> out = LockedResources(wf);
  v1::PatchWorkflowState state;
  if (!wf.state().UnpackTo(&state)) return out;
  for (const auto& i : state.instances()) {
    if (i.outcome() == kSkipped) continue;
    for (const auto& tg : i.target_groups()) out.push_back("tg:" + tg.arn());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> PatchHandler::PausingResources(const v1::WorkflowCheckpoint& wf) const {
  return GuardedResources(wf);
}

namespace {

class PatchFactory final : public HandlerFactory {
 public:
  std::string_view name() const override { return kHandlerName; }
  std::vector<EventKind> kinds() const override { return {v1::Event::kPatchRequest}; }
  bool Enabled(const v1::WorkerConfig& config) const override {
    const auto& section = config.handlers().patch();
    return !section.has_enabled() || section.enabled();
  }
  void ApplyDefaults(v1::WorkerConfig& config) const override {
    ApplyPatchDefaults(*config.mutable_handlers()->mutable_patch());
  }
  void Validate(const v1::WorkerConfig& config, ConfigChecker& check) const override {
    ValidatePatchConfig(config.handlers().patch(), check);
  }
  std::vector<std::string> Permissions(const v1::WorkerConfig& config) const override {
    return patch::Permissions(config);
  }
  std::unique_ptr<Handler> Make(const v1::WorkerConfig& config) const override {
    return std::make_unique<PatchHandler>(config);
  }
};

}  // namespace

const HandlerFactory& Factory() {
  static const PatchFactory factory;
  return factory;
}

}  // namespace fleetkeeper::handlers::patch
