// What arrives on a work partition (WorkflowRuntime::OnWorkItem), by kind: a request that may
// admit a workflow, an approval, a cancel, a progress signal for a waiting workflow, or a fan-out
// report between a parent workflow and its children.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "handlers/authorization.h"
#include "handlers/engine/partition_state.h"
#include "handlers/event.h"

namespace fleetkeeper::handlers {

namespace {
// What the runtime reads of a native request (a patch request, an ECS command): its id, which an
// approval or a cancel may name instead of the workflow id (a request that came in an EventBridge
// envelope has the envelope's id as its event id), its own dry run, and who asked (whom an
// approval may not come from).
struct NativeRequestFields {
  const std::string& request_id;
  bool dry_run;
  const std::string& requested_by;
};
std::optional<NativeRequestFields> NativeRequestOf(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kPatchRequest:
      return NativeRequestFields{event.patch_request().request_id(),
                                 event.patch_request().dry_run(),
                                 event.patch_request().requested_by()};
    case v1::Event::kEcsCommand:
      return NativeRequestFields{event.ecs_command().request_id(), event.ecs_command().dry_run(),
                                 event.ecs_command().requested_by()};
    default:
      return std::nullopt;
  }
}

// A native request may ask for a dry run of its own, whatever the worker's setting.
bool RequestsDryRun(const v1::Event& event) {
  auto request = NativeRequestOf(event);
  return request && request->dry_run;
}
}  // namespace

void WorkflowRuntime::OnWorkItem(int32_t partition, const v1::Event& event, bool frozen,
                                 RuntimeOutput& out) {
  PartitionState* st = Find(partition);
  if (st == nullptr) {
    // The worker pauses a partition until it is restored, so this is a bug, not an input error.
    spdlog::error("work item for partition {} which is not restored; answering FAILED", partition);
    out.Result(
        ResultFor(event, v1::Result::FAILED, "internal: partition state not restored", "", ""));
    return;
  }
  st->dirty = true;
  const int64_t now = clock_.NowMs();
  if (!st->seen_events.Insert(event.id(), now)) {
    spdlog::info("event {} seen before: no second outcome", event.id());
    return;
  }
  // Written with the batch's other ids when it closes (EndBatch): a record per event id was a
  // third of everything the pipeline produced.
  st->batch_seen.push_back(event.id());
  st->batch_seen_ms = now;
  Touch(partition);

  if (event.has_alarm() && config_.safety().guards_size() > 0) {
    Store guard_store(*this, *st, CellOf(event), out);
    ObserveGuardAlarm(config_.safety(), event.alarm(), guard_store);
  }
  const EventKind kind = event.body_case();
  switch (kind) {
    case v1::Event::kCancel:
      OnCancel(*st, event, out);
      return;
    case v1::Event::kApproval:
      OnApproval(*st, event, out);
      return;
    case v1::Event::kFanOut:
      OnFanOut(*st, event, out);
      return;
    default:
      break;
  }
  if (IsProgressSignal(kind)) {
    OnProgressSignal(*st, event, out);
    return;
  }
  Admit(*st, event, frozen, now, out);
}

void WorkflowRuntime::Admit(PartitionState& st, const v1::Event& event, bool frozen, int64_t now,
                            RuntimeOutput& out) {
  // A request: a duplicate of a fact some workflow already owns gets SKIPPED naming it.
  if (!event.dedup_key().empty()) {
    auto d = st.dedup.find(event.dedup_key());
    if (d != st.dedup.end()) {
      std::string reason =
          "duplicate: workflow " + d->second.workflow_id() + " owns " + event.dedup_key();
      if (HoldForOwner(st, d->second.workflow_id(), event, out)) {
        reason += " (it reads the parameter again before it finishes)";
      }
      out.Result(ResultFor(event, v1::Result::SKIPPED, reason, "", d->second.workflow_id()));
      return;
    }
  }
  Store store(*this, st, CellOf(event), out);
  if (std::string stale = StaleReason(st.applied_marks, store, event); !stale.empty()) {
    out.Result(ResultFor(event, v1::Result::SKIPPED, std::move(stale), "", ""));
    return;
  }
  Dispatch d = dispatcher_.Route(event, frozen, &store);
  if (!d.workflow) {
    // A SKIPPED or REJECTED event changed nothing: it sets no mark.
    if (d.status != v1::Result::SKIPPED && d.status != v1::Result::REJECTED) {
      MarkApplied(store, event);
    }
    out.Result(ResultFor(event, d.status, d.reason, d.handler, d.workflow_id));
    return;
  }
  v1::WorkflowCheckpoint cp = std::move(*d.workflow);
  auto existing = st.workflows.find(cp.workflow_id());
  if (existing != st.workflows.end() && existing->second.cp.has_final_result()) {
    // The dedup key was released when that workflow finished (see Finish): this is a new fact
    // under the same key. A distinct id keeps its idempotency tokens apart from the old run's.
    cp.set_workflow_id(WorkflowId(event.account(), event.region(), cp.kind(),
                                  event.dedup_key() + "#" + event.id()));
    existing = st.workflows.find(cp.workflow_id());
  }
  if (existing != st.workflows.end()) {
    out.Result(ResultFor(event, v1::Result::SKIPPED,
                         "duplicate: workflow " + cp.workflow_id() + " owns " + event.dedup_key(),
                         d.handler, cp.workflow_id()));
    return;
  }
  MarkApplied(store, event);
  cp.set_schema_version(kCheckpointSchemaVersion);
  if (!cp.has_dry_run()) cp.set_dry_run(options_.dry_run || RequestsDryRun(event));
  cp.set_deadline_ms(now + options_.workflow_deadline_ms);
  cp.set_created_at_ms(now);
  cp.set_updated_at_ms(now);
  cp.set_due_at_ms(0);
  cp.set_waiting_on("");
  LiveWorkflow wf;
  wf.cp = cp;
  wf.committed = false;  // the first step runs once the creation is committed
  v1::DedupRecord dedup;
  dedup.set_dedup_key(event.dedup_key());
  dedup.set_workflow_id(cp.workflow_id());
  dedup.set_event_id(event.id());
  dedup.set_at_ms(now);
  if (!event.dedup_key().empty()) {
    st.dedup[event.dedup_key()] = dedup;
    out.Dedup(st.partition, dedup);
  }
  EmitCheckpoint(st, cp, out);
  out.Result(ResultFor(event, v1::Result::IN_PROGRESS, "workflow " + cp.workflow_id() + " started",
                       d.handler, cp.workflow_id()));
  {
    LogWorkflowScope scope(event.id(), LogFieldsOf(cp));
    spdlog::info("workflow {} admitted ({}), first step {}", cp.workflow_id(), cp.handler(),
                 cp.step());
  }
  st.workflows[cp.workflow_id()] = std::move(wf);
}

bool WorkflowRuntime::HoldForOwner(PartitionState& st, const std::string& owner,
                                   const v1::Event& event, RuntimeOutput& out) {
  // A parameter change carries the parameter's name, not its version: the put it reports may be
  // newer than the owner's last read of the parameter. The owner gets it as a signal, checkpointed
  // with it in this transaction, and does not finish before a read that began after it (see
  // ApplyCompletion).
  if (!event.has_parameter_change()) return false;
  auto w = st.workflows.find(owner);
  if (w == st.workflows.end() || w->second.cp.has_final_result()) return false;
  LiveWorkflow& wf = w->second;
  if (UnseenParameterChanges(wf, wf.running ? wf.signals_seen : 0) > 0) return true;  // one will do
  *wf.cp.add_pending_signals() = event;
  wf.committed = false;
  EmitCheckpoint(st, wf.cp, out);
  return true;
}

int WorkflowRuntime::UnseenParameterChanges(const LiveWorkflow& wf, int seen) {
  int n = 0;
  for (int i = seen; i < wf.cp.pending_signals_size(); ++i) {
    if (wf.cp.pending_signals(i).has_parameter_change()) ++n;
  }
  return n;
}

void WorkflowRuntime::OnProgressSignal(PartitionState& st, const v1::Event& event,
                                       RuntimeOutput& out) {
  std::string target;
  if (DeliverSignal(st, event, &target)) {
    SignalDelivered(st, st.workflows[target], event, "delivered to workflow " + target, out);
  } else {
    out.Result(ResultFor(event, v1::Result::SKIPPED, "no matching workflow", "", ""));
  }
}

bool WorkflowRuntime::DeliverSignal(PartitionState& st, const v1::Event& event,
                                    std::string* workflow_id) {
  const std::string key = SignalKeyOf(event);
  if (key.empty()) return false;
  bool delivered = false;
  for (auto& [id, wf] : st.workflows) {
    if (wf.cp.has_final_result()) continue;
    bool waits = false;
    for (const auto& s : wf.cp.wait_signals()) waits = waits || s == key;
    if (!waits) continue;
    *wf.cp.add_pending_signals() = event;
    wf.cp.set_due_at_ms(0);  // wake now
    if (!delivered) *workflow_id = id;
    delivered = true;
  }
  return delivered;
}

void WorkflowRuntime::SignalDelivered(PartitionState& st, LiveWorkflow& wf, const v1::Event& event,
                                      const std::string& delivered, RuntimeOutput& out) {
  wf.cp.set_due_at_ms(0);
  wf.committed = false;
  EmitCheckpoint(st, wf.cp, out);
  out.Result(
      ResultFor(event, v1::Result::SUCCEEDED, delivered, wf.cp.handler(), wf.cp.workflow_id()));
}

LiveWorkflow* WorkflowRuntime::ControlTarget(PartitionState& st, const v1::Event& event,
                                             const std::string& named, const std::string& request,
                                             RuntimeOutput& out) {
  std::string target = named;
  if (target.empty() && !request.empty()) {
    // Only in the signal's own cell: a request id names a request of that account and region.
    // A request id may have had a finished workflow before this one (see the dedup release in
    // Finish): the one still running wins.
    // A fan-out's parent and its child in the parent's own cell answer to the same request id:
    // the parent wins (it forwards to its children).
    const std::string cell = CellOf(event);
    int best = -1;
    for (const auto& [id, wf] : st.workflows) {
      // A workflow started by an AWS event answers to that event's id.
      const auto trigger_request = NativeRequestOf(wf.cp.trigger());
      const std::string& answers_to =
          trigger_request ? trigger_request->request_id : wf.cp.trigger().id();
      if (answers_to != request || wf.cp.cell() != cell) continue;
      const int rank = (wf.cp.has_final_result() ? 0 : 2) + (wf.cp.trigger().has_parent() ? 0 : 1);
      if (rank >= best) {
        best = rank;
        target = id;
      }
    }
  }
  auto it = st.workflows.find(target);
  if (it == st.workflows.end() || it->second.cp.has_final_result()) {
    out.Result(
        ResultFor(event, v1::Result::REJECTED,
                  fmt::format("{} names {} workflow {}", EventKindName(event.body_case()),
                              it == st.workflows.end() ? "unknown" : "finished",
                              named.empty() && target.empty() ? "for request " + request : target),
                  "", target));
    return nullptr;
  }
  return &it->second;
}

void WorkflowRuntime::OnCancel(PartitionState& st, const v1::Event& event, RuntimeOutput& out) {
  const v1::Cancel& cancel = event.cancel();
  LiveWorkflow* wf = ControlTarget(st, event, cancel.workflow_id(), cancel.request_id(), out);
  if (wf == nullptr) return;
  wf->cp.set_cancel_requested(true);
  wf->cp.set_cancel_reason(cancel.reason().empty() ? "cancelled" : cancel.reason());
  SignalDelivered(
      st, *wf, event,
      "cancel delivered to workflow " + wf->cp.workflow_id() + "; it ends at its next step", out);
}

void WorkflowRuntime::OnApproval(PartitionState& st, const v1::Event& event, RuntimeOutput& out) {
  const v1::Approval& approval = event.approval();
  LiveWorkflow* wf = ControlTarget(st, event, approval.workflow_id(), approval.request_id(), out);
  if (wf == nullptr) return;
  // The commands rule on approvals (DESIGN.md "Guarantees"): a refused approval never reaches
  // the workflow, which keeps waiting for a valid one.
  const auto request = NativeRequestOf(wf->cp.trigger());
  if (std::string why = AuthorizeApproval(request ? request->requested_by : "", approval);
      !why.empty()) {
    out.Result(ResultFor(
        event, v1::Result::REJECTED,
        fmt::format("approval refused: {}; workflow {} still waits", why, wf->cp.workflow_id()),
        wf->cp.handler(), wf->cp.workflow_id()));
    return;
  }
  *wf->cp.add_pending_signals() = event;
  SignalDelivered(st, *wf, event, "approval delivered to workflow " + wf->cp.workflow_id(), out);
}

void WorkflowRuntime::OnFanOut(PartitionState& st, const v1::Event& event, RuntimeOutput& out) {
  // A fan-out's parent and children (handlers/fanout.h) address each other by workflow id, each
  // report a signal to the one it is for, delivered whatever that one waits for: a child's result
  // must not be lost because its parent was in another step when it came.
  const v1::FanOut& f = event.fan_out();
  const std::string target = FanOutAddressee(f);
  auto it = st.workflows.find(target);
  if (it == st.workflows.end() || it->second.cp.has_final_result()) {
    out.Result(ResultFor(event, v1::Result::SKIPPED,
                         fmt::format("fan-out {} for {} workflow {}", f.kind(),
                                     it == st.workflows.end() ? "unknown" : "finished", target),
                         "", target));
    return;
  }
  LiveWorkflow& wf = it->second;
  *wf.cp.add_pending_signals() = event;
  SignalDelivered(st, wf, event,
                  fmt::format("fan-out {} delivered to workflow {}", f.kind(), target), out);
}

}  // namespace fleetkeeper::handlers
