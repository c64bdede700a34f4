#include "handlers/engine/dispatcher.h"

#include <fmt/format.h>

#include <algorithm>

#include "handlers/registry.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers {

Dispatcher::Dispatcher(const v1::WorkerConfig& config, const Clock& clock,
                       std::vector<std::pair<EventKind, std::unique_ptr<Handler>>> overrides)
    : config_(config), clock_(clock) {
  for (const HandlerFactory* factory : HandlerCatalog()) {
    const std::string name(factory->name());
    std::string why;
    std::unique_ptr<Handler> built;
    if (!factory->Enabled(config)) {
      why = fmt::format("handler {} is disabled (handlers.{}.enabled: false)", name, name);
    } else {
      built = factory->Make(config);
    }
    const auto kinds = factory->kinds();
    for (size_t i = 0; i < kinds.size(); ++i) {
      if (built) {
        // One handler instance serves all of its kinds; the map owns it under its first kind.
        if (i == 0) by_kind_[kinds[i]] = std::move(built);
      } else {
        disabled_[kinds[i]] = why;
      }
    }
  }
  for (auto& [kind, handler] : overrides) {
    disabled_.erase(kind);
    by_kind_[kind] = std::move(handler);
  }
}

std::vector<std::string> Dispatcher::ActiveHandlers() const {
  std::vector<std::string> out;
  for (const auto& [kind, handler] : by_kind_) out.emplace_back(handler->name());
  return out;
}

std::vector<WorkflowHandler*> Dispatcher::WorkflowHandlers() const {
  std::vector<WorkflowHandler*> out;
  for (const auto& [kind, handler] : by_kind_) {
    auto* wh = dynamic_cast<WorkflowHandler*>(handler.get());
    if (wh != nullptr && std::find(out.begin(), out.end(), wh) == out.end()) out.push_back(wh);
  }
  return out;
}

WorkflowHandler* Dispatcher::WorkflowHandlerNamed(const std::string& name) const {
  for (const auto& [kind, handler] : by_kind_) {
    if (handler->name() == name) return dynamic_cast<WorkflowHandler*>(handler.get());
  }
  return nullptr;
}

Dispatch Dispatcher::Route(const v1::Event& event, bool frozen, CellStore* store) {
  const EventKind kind = event.body_case();
  Dispatch d;
  // Signals: delivered to a running workflow, if there is one. The runtime delivers them before
  // routing; here they found none.
  if (kind == v1::Event::kApproval || kind == v1::Event::kCancel) {
    const bool approval = kind == v1::Event::kApproval;
    const std::string& target =
        approval ? event.approval().workflow_id() : event.cancel().workflow_id();
    const std::string& request =
        approval ? event.approval().request_id() : event.cancel().request_id();
    d.status = v1::Result::REJECTED;
    d.reason = fmt::format("{} names unknown workflow {}", EventKindName(kind),
                           target.empty() ? "for request " + request : target);
    d.workflow_id = target;
    return d;
  }
  if (IsProgressSignal(kind)) {
    d.status = v1::Result::SKIPPED;
    d.reason = "no matching workflow";
    return d;
  }
  if (kind == v1::Event::kParameterChange && event.parameter_change().operation() == "Delete") {
    d.status = v1::Result::SKIPPED;
    d.handler = "ami_rollout";
    d.reason = fmt::format("parameter {} was deleted: nothing to roll out",
                           event.parameter_change().name());
    return d;
  }
  auto it = by_kind_.find(kind);
  if (it == by_kind_.end()) {
    auto off = disabled_.find(kind);
    d.status = v1::Result::REJECTED;
    d.reason =
        off != disabled_.end()
            ? fmt::format("no enabled handler for {} events: {}", EventKindName(kind), off->second)
            : fmt::format("no handler for {} events", EventKindName(kind));
    return d;
  }
  AdmissionContext ctx{config_, clock_, frozen, store};
  Admission a = it->second->Admit(event, ctx);
  d.handler = std::string(it->second->name());
  if (a.kind == Admission::Kind::kWorkflow) {
    if (dynamic_cast<WorkflowHandler*>(it->second.get()) == nullptr) {
      d.status = v1::Result::FAILED;
      d.reason = fmt::format("handler {} admitted a workflow but cannot run steps", d.handler);
      return d;
    }
    d.status = v1::Result::IN_PROGRESS;
    d.workflow_id = a.workflow.workflow_id();
    d.workflow = std::move(a.workflow);
    return d;
  }
  d.status = a.status;
  d.reason = std::move(a.reason);
  return d;
}

}  // namespace fleetkeeper::handlers
