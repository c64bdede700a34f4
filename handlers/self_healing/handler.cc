#include "handlers/self_healing/handler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "fleetkeeper/v1/self_healing_state.pb.h"
#include "handlers/event.h"
#include "handlers/safety_config.h"
#include "handlers/self_healing/config_check.h"
#include "handlers/self_healing/permissions.h"
#include "handlers/self_healing/rules.h"
#include "handlers/self_healing/steps.h"
#include "handlers/self_healing/throttles.h"

namespace fleetkeeper::handlers::self_healing {

SelfHealingHandler::SelfHealingHandler(const v1::WorkerConfig& config)
    : config_(config.handlers().self_healing()),
      group_tag_keys_(GroupTagKeys(config.safety())),
      steps_(HealingSteps(config_, group_tag_keys_)) {}

Admission SelfHealingHandler::Admit(const v1::Event& event, const AdmissionContext& context) {
  if (event.body_case() != v1::Event::kAlarm) {
    return Admission::Final(v1::Result::SKIPPED,
                            fmt::format("self-healing acts on alarms, not on {}", event.origin()));
  }
  const auto& alarm = event.alarm();
  const auto rules = MatchingRules(config_, alarm);
  if (rules.empty()) {
    return Admission::Final(
        v1::Result::SKIPPED,
        fmt::format("no self-healing rule matches alarm {} in state {}", alarm.alarm_name(),
                    alarm.state().empty() ? "unknown" : alarm.state()));
  }
  if (context.frozen && !config_.exempt_from_freeze()) {
    return Admission::Final(
        v1::Result::REJECTED,
        fmt::format("frozen: rule {} matched alarm {}, but self-healing does not act during a "
                    "freeze (handlers.self_healing.exempt_from_freeze is false)",
                    rules.front()->name(), alarm.alarm_name()));
  }
  if (context.store == nullptr) {
    // Without the durable store the throttles would be forgotten on restart: refuse to act.
    return Admission::Final(
        v1::Result::REJECTED,
        fmt::format("rule {} matched alarm {}, but this worker has no durable cell store for the "
                    "self-healing throttles",
                    rules.front()->name(), alarm.alarm_name()));
  }

  CellThrottles throttles(*context.store, config_);
  const int64_t now = context.clock.NowMs();
  v1::HealingWorkflowState state;
  state.set_alarm_name(alarm.alarm_name());
  state.set_alarm_arn(alarm.alarm_arn());
  state.set_dry_run(context.config.dry_run());
  std::vector<const v1::HealingRule*> admitted_rules;
  std::vector<std::string> rejected, skipped;
  std::vector<v1::Action> held_back;
  for (const auto* rule : rules) {
    auto target = ResolveTarget(*rule, alarm);
    if (!target.ok()) {
      rejected.push_back(target.error().message);
      continue;
    }
    auto hold = [&](ThrottleVerdict v) {
      (v.kind == ThrottleVerdict::Kind::kRejected ? rejected : skipped).push_back(v.reason);
      v1::Action a;
      a.set_resource(target->resource());
      a.set_action(rule->action().type());
      a.set_status(v.kind == ThrottleVerdict::Kind::kRejected ? "rejected" : "skipped");
      a.set_detail(v.reason);
      held_back.push_back(std::move(a));
    };
    if (const std::string pattern = ExcludedBy(config_, *target); !pattern.empty()) {
      hold({ThrottleVerdict::Kind::kRejected,
            fmt::format("excluded: {} matches excluded_resources entry \"{}\"", target->resource(),
                        pattern)});
      continue;
    }
    if (auto v = throttles.CheckRule(*rule, target->resource(), now); !v.act()) {
      hold(std::move(v));
      continue;
    }
    if (auto v = throttles.CheckBreaker(static_cast<int>(admitted_rules.size()), now); !v.act()) {
      hold(std::move(v));
      continue;
    }
    target->set_started_at_ms(now);
    *state.add_actions() = *target;
    admitted_rules.push_back(rule);
  }
  if (state.actions_size() == 0) {
    throttles.ReportBreaker(CellOf(event), now);
    std::vector<std::string> reasons = rejected;
    reasons.insert(reasons.end(), skipped.begin(), skipped.end());
    return Admission::Final(rejected.empty() ? v1::Result::SKIPPED : v1::Result::REJECTED,
                            fmt::format("{}", fmt::join(reasons, "; ")));
  }
  *state.mutable_admitted() = state.actions();
  state.set_current(0);

  Admission a;
  a.kind = Admission::Kind::kWorkflow;
  a.workflow = NewWorkflow(event, kWorkflowKind, kHandlerName, FirstStepOf(state.actions(0).type()),
                           state, now);
  for (auto& held : held_back) *a.workflow.add_actions() = std::move(held);
  for (int i = 0; i < state.actions_size(); ++i) {
    throttles.RecordAction(*admitted_rules[static_cast<size_t>(i)], state.actions(i).resource(),
                           a.workflow.workflow_id(), now);
  }
  throttles.ReportBreaker(CellOf(event), now);
  a.status = v1::Result::IN_PROGRESS;
  a.reason = fmt::format("rule {} matched alarm {}: {} {}", state.actions(0).rule(),
                         alarm.alarm_name(), state.actions(0).type(), state.actions(0).resource());
  return a;
}

StepOutcome SelfHealingHandler::RunStep(const std::string& step, StepContext& context) {
  return steps_.Run(step, context);
}

void SelfHealingHandler::OnStepOutcome(const std::string& step, v1::WorkflowCheckpoint& wf,
                                       StepOutcome& outcome, CellStore& store, int64_t now_ms) {
  if (step != step::kRepeatCheck || outcome.kind != StepOutcome::Kind::kNext) return;
  v1::HealingWorkflowState state;
  if (!wf.state().UnpackTo(&state) || state.current() < 0 ||
      state.current() >= state.actions_size()) {
    return;
  }
  v1::HealingActionState& round = *state.mutable_actions(state.current());
  if (round.round() == 0 || round.status() != "pending") return;
  CellThrottles throttles(store, config_);
  if (ThrottleVerdict v = throttles.CheckBreaker(0, now_ms); !v.act()) {
    const std::string why = "repeat not taken: " + v.reason;
    round.set_status("rejected");
    round.set_detail(why);
    v1::Action rejected;
    rejected.set_resource(round.resource());
    rejected.set_action("repeat_while_alarm");
    rejected.set_status("rejected");
    rejected.set_detail(why);
    std::vector<v1::Action> actions = std::move(outcome.actions);
    actions.push_back(std::move(rejected));
    outcome = NextActionOrFinish(state, std::move(actions));
    wf.mutable_state()->PackFrom(state);
    throttles.ReportBreaker(wf.cell(), now_ms);
    return;
  }
  throttles.RecordAction(round.rule_config(), round.resource(), wf.workflow_id(), now_ms);
  throttles.ReportBreaker(wf.cell(), now_ms);
}

bool SelfHealingHandler::StepMutates(const std::string& step) const { return steps_.Mutates(step); }

std::vector<std::string> SelfHealingHandler::LockedResources(
    const v1::WorkflowCheckpoint& wf) const {
  v1::HealingWorkflowState state;
  if (!wf.state().UnpackTo(&state)) return {};
  std::vector<std::string> out;
  for (const auto& a : state.actions()) {
    for (auto& name : LockNamesOf(a)) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> SelfHealingHandler::PausingResources(
    const v1::WorkflowCheckpoint& wf) const {
  std::vector<std::string> out = LockedResources(wf);
  for (const auto& tagged : wf.tagged_guards()) out.push_back(tagged.lock());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::unique_ptr<Handler> MakeHandler(const v1::WorkerConfig& config) {
  return std::make_unique<SelfHealingHandler>(config);
}

namespace {

class SelfHealingFactory final : public HandlerFactory {
 public:
  std::string_view name() const override { return kHandlerName; }
  std::vector<EventKind> kinds() const override { return {v1::Event::kAlarm}; }
  bool Enabled(const v1::WorkerConfig& config) const override {
    const auto& section = config.handlers().self_healing();
    return !section.has_enabled() || section.enabled();
  }
  void ApplyDefaults(v1::WorkerConfig& config) const override {
    self_healing::ApplyDefaults(*config.mutable_handlers()->mutable_self_healing());
  }
  void Validate(const v1::WorkerConfig& config, ConfigChecker& check) const override {
    self_healing::Validate(config.handlers().self_healing(), ChildPath("handlers", name()), check);
  }
  std::vector<std::string> Permissions(const v1::WorkerConfig& config) const override {
    return self_healing::Permissions(config);
  }
  std::unique_ptr<Handler> Make(const v1::WorkerConfig& config) const override {
    return MakeHandler(config);
  }
};

}  // namespace

const HandlerFactory& Factory() {
  static const SelfHealingFactory factory;
  return factory;
}

}  // namespace fleetkeeper::handlers::self_healing
