#include "handlers/ecs/handler.h"

#include <fmt/format.h>

#include "fleetkeeper/v1/ecs_state.pb.h"
#include "handlers/authorization.h"
#include "handlers/ecs/config.h"
#include "handlers/ecs/intake.h"
#include "handlers/ecs/permissions.h"
#include "handlers/ecs/report.h"
#include "handlers/ecs/steps.h"
#include "handlers/safety_config.h"

namespace fleetkeeper::handlers::ecs {
namespace {

// Runs `body` over the workflow's unpacked state and packs it back.
template <typename Body>
StepOutcome WithState(StepContext& ctx, Body&& body) {
  v1::EcsWorkflowState state;
  if (!ctx.mutable_state()->UnpackTo(&state)) {
    return StepOutcome::Finish(
        v1::Result::FAILED,
        fmt::format("ECS workflow {} has no readable state (type {})", ctx.workflow().workflow_id(),
                    ctx.mutable_state()->type_url()));
  }
  StepOutcome out = body(state);
  ctx.mutable_state()->PackFrom(state);
  return out;
}

// A finished act or verify, with its metrics (report.h); a skipped occurrence did nothing.
StepOutcome Reported(const v1::EcsWorkflowState& s, StepContext& ctx, StepOutcome o) {
  if (o.status != v1::Result::SKIPPED) Report(s, ctx, o);
  return o;
}

}  // namespace

EcsHandler::EcsHandler(const v1::WorkerConfig& config)
    : config_(config.handlers().ecs()),
      commands_(config.commands()),
      group_tag_keys_(GroupTagKeys(config.safety())),
      steps_(kHandlerName, {
                               {kStepDiscover, false,
                                [this](StepContext& ctx) {
                                  return WithState(ctx, [&](v1::EcsWorkflowState& s) {
                                    return Discover(s, ctx, commands_, group_tag_keys_);
                                  });
                                }},
                               {kStepAct, true,
                                [](StepContext& ctx) {
                                  return WithState(ctx, [&](v1::EcsWorkflowState& s) {
                                    return Reported(s, ctx, Act(s, ctx));
                                  });
                                }},
                               {kStepVerify, false,
                                [](StepContext& ctx) {
                                  return WithState(ctx, [&](v1::EcsWorkflowState& s) {
                                    return Reported(s, ctx, Verify(s, ctx));
                                  });
                                }},
                           }) {
  ApplyDefaults(config_);
  schedules_ = ReadSchedules(config);
}

Admission EcsHandler::Admit(const v1::Event& event, const AdmissionContext& context) {
  if (event.body_case() != v1::Event::kEcsCommand) {
    return Admission::Final(v1::Result::SKIPPED,
                            fmt::format("the ECS handler takes ECS commands, not {}",
                                        EventKindName(event.body_case())));
  }
  const v1::EcsCommand& command = event.ecs_command();
  auto state = ReadCommand(command, config_);
  if (!state.ok()) return Admission::Final(v1::Result::REJECTED, state.error().message);
  if (auto why = AuthorizeCell(commands_, event.account(), command.role_arn()); !why.empty()) {
    return Admission::Final(v1::Result::REJECTED, why);
  }
  if (auto why = AuthorizeTargetCount(commands_, NamedTargets(*state)); !why.empty()) {
    return Admission::Final(v1::Result::REJECTED, why);
  }
  Admission a;
  a.kind = Admission::Kind::kWorkflow;
  a.workflow =
      NewWorkflow(event, kWorkflowKind, kHandlerName, kStepDiscover, *state, context.clock.NowMs());
  a.status = v1::Result::IN_PROGRESS;
  a.reason = fmt::format("{} {}", command.action(),
                         command.cluster().empty() ? "" : "in cluster " + command.cluster());
  return a;
}

StepOutcome EcsHandler::RunStep(const std::string& step, StepContext& context) {
  return steps_.Run(step, context);
}

std::vector<std::string> EcsHandler::LockedResources(const v1::WorkflowCheckpoint& wf) const {
  v1::EcsWorkflowState state;
  if (!wf.state().UnpackTo(&state)) return {};
  return LockNames(state);
}

std::vector<v1::WorkflowCheckpoint> EcsHandler::TimedWorkflows(int64_t now_ms) const {
  std::vector<v1::WorkflowCheckpoint> out;
  for (const ScheduleEntry& e : schedules_) {
    out.push_back(OccurrenceWorkflow(e, e.cron.NextAfter(now_ms), config_));
  }
  return out;
}

namespace {

class EcsFactory final : public HandlerFactory {
 public:
  std::string_view name() const override { return kHandlerName; }
  std::vector<EventKind> kinds() const override { return {v1::Event::kEcsCommand}; }
  bool Enabled(const v1::WorkerConfig& config) const override {
    const auto& section = config.handlers().ecs();
    return !section.has_enabled() || section.enabled();
  }
  void ApplyDefaults(v1::WorkerConfig& config) const override {
    ecs::ApplyDefaults(*config.mutable_handlers()->mutable_ecs());
  }
  void Validate(const v1::WorkerConfig& config, ConfigChecker& check) const override {
    ecs::Validate(config, check);
  }
  std::vector<std::string> Permissions(const v1::WorkerConfig& config) const override {
    return ecs::Permissions(config);
  }
  std::unique_ptr<Handler> Make(const v1::WorkerConfig& config) const override {
    return std::make_unique<EcsHandler>(config);
  }
};

}  // namespace

const HandlerFactory& Factory() {
  static const EcsFactory factory;
  return factory;
}

}  // namespace fleetkeeper::handlers::ecs
