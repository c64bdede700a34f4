// A workflow's steps: run on the executor (StartStep), their outcomes applied on the poll thread
// (ApplyCompletion), and the end of the workflow (Finish).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "awsclient/clients.h"
#include "common/metrics.h"
#include "handlers/engine/partition_state.h"

namespace fleetkeeper::handlers {

// What a step sees, on an executor thread. Owns a copy of the checkpoint.
class WorkflowRuntime::Context final : public StepContext {
 public:
  Context(v1::WorkflowCheckpoint* cp, aws::CellClients* clients, const Clock& clock, bool dry_run,
          std::shared_ptr<BlastRadiusLedger> ledger)
      : cp_(cp),
        clients_(clients),
        clock_(clock),
        dry_run_(dry_run),
        capacity_(std::move(ledger), cp, clock) {
    signals_.assign(cp->pending_signals().begin(), cp->pending_signals().end());
  }
  const v1::WorkflowCheckpoint& workflow() const override { return *cp_; }
  google::protobuf::Any* mutable_state() override { return cp_->mutable_state(); }
  aws::CellClients& aws() override { return *clients_; }
  const Clock& clock() const override { return clock_; }
  bool dry_run() const override { return dry_run_; }
  const std::vector<v1::Event>& signals() const override { return signals_; }
  std::string IdempotencyToken(const std::string& discriminator) const override {
    return StepIdempotencyToken(*cp_, discriminator);
  }
  CapacityLedger* capacity() override { return &capacity_; }
  google::protobuf::RepeatedPtrField<v1::TaggedGuard>* mutable_tagged_guards() override {
    return cp_->mutable_tagged_guards();
  }

 private:
  v1::WorkflowCheckpoint* cp_;
  aws::CellClients* clients_;
  const Clock& clock_;
  bool dry_run_;
  std::vector<v1::Event> signals_;
  StepCapacity capacity_;
};

void WorkflowRuntime::Finish(PartitionState& st, const std::string& workflow_id,
                             v1::Result::Status status, const std::string& reason,
                             RuntimeOutput& out) {
  auto& wf = st.workflows[workflow_id];
  const int64_t now = clock_.NowMs();
  st.ledgers->ReleaseAll(wf.cp);
  v1::Result r = ResultFor(wf.cp.trigger(), status, WithCapacityNotes(reason, wf.cp),
                           wf.cp.handler(), workflow_id);
  for (const auto& a : wf.cp.actions()) *r.add_actions() = a;
  r.set_started_at(FormatRfc3339(wf.cp.created_at_ms()));
  *wf.cp.mutable_final_result() = r;
  wf.cp.set_finished_at_ms(now);
  wf.cp.set_updated_at_ms(now);
  wf.cp.set_waiting_on("");
  wf.cp.clear_wait_signals();
  for (const auto& res : wf.cp.locks()) {
    auto it = st.locks.find(res);
    if (it != st.locks.end() && it->second == workflow_id) st.locks.erase(it);
  }
  wf.cp.clear_locks();
  wf.committed = false;
  // A parameter change's dedup key is only the parameter's name: the fact is name + version,
  // which the handler reads. Once the rollout is over, the next put of the parameter is a new
  // fact, so its key is released (a duplicate trigger of the same put arriving later finds every
  // target current).
  const std::string& dk = wf.cp.trigger().dedup_key();
  auto d = st.dedup.find(dk);
  if (wf.cp.trigger().has_parameter_change() && d != st.dedup.end() &&
      d->second.workflow_id() == workflow_id) {
    st.dedup.erase(d);
    out.Tombstone(st.partition, DedupKeyRecord(dk));
  }
  EmitCheckpoint(st, wf.cp, out);
  out.Result(r);
  // A fan-out child's end goes to its parent, in this transaction (handlers/fanout.h).
  if (wf.cp.trigger().has_parent()) out.WorkItem(ResultToParent(wf.cp, r));
  metrics::WorkflowsFinished(wf.cp.handler(), v1::Result::Status_Name(status)).Increment();
  LogWorkflowScope scope(wf.cp.trigger().id(), LogFieldsOf(wf.cp));
  spdlog::info("workflow {} finished: {} {}", workflow_id, v1::Result::Status_Name(status), reason);
}

void WorkflowRuntime::StartStep(PartitionState& st, const std::string& workflow_id) {
  auto& wf = st.workflows[workflow_id];
  WorkflowHandler* handler = HandlerFor(wf.cp);
  wf.running = true;
  wf.signals_seen = wf.cp.pending_signals_size();
  ++running_;
  // std::function needs a copyable task: the completion travels in a shared_ptr.
  auto completion = std::make_shared<Completion>();
  completion->partition = st.partition;
  completion->generation = st.generation;
  completion->cp = wf.cp;
  std::string role;
  auto acct = config_.aws().accounts().find(wf.cp.trigger().account());
  if (acct != config_.aws().accounts().end()) role = acct->second.role_arn();
  // A checkpoint from before the workflow kept its own setting follows the worker's.
  const bool dry_run = wf.cp.has_dry_run() ? wf.cp.dry_run() : options_.dry_run;
  executor_.Submit([this, handler, role, dry_run, ledger = st.ledgers->For(wf.cp.cell()),
                    c = std::move(completion)]() {
    LogWorkflowScope scope(c->cp.trigger().id(), LogFieldsOf(c->cp));
    if (clients_ == nullptr) {
      c->outcome = StepOutcome::Finish(v1::Result::FAILED, "no AWS client configured");
    } else {
      auto cell = clients_->For(c->cp.trigger().account(), c->cp.trigger().region(), role);
      if (!cell.ok()) {
        c->outcome =
            StepOutcome::Finish(v1::Result::FAILED, "AWS clients for cell " + c->cp.cell() + ": " +
                                                        cell.error().ToString());
      } else {
        Context ctx(&c->cp, *cell, clock_, dry_run, ledger);
        const int64_t started = clock_.MonotonicMs();
        c->outcome = handler->RunStep(c->cp.step(), ctx);
        metrics::StepDuration(c->cp.handler())
            .Observe(static_cast<double>(clock_.MonotonicMs() - started) / 1000.0);
      }
    }
    {
      std::lock_guard<std::mutex> lock(completions_mu_);
      completions_.push_back(std::make_unique<Completion>(std::move(*c)));
      ++pending_completions_;
    }
    if (notify_) notify_();
  });
}

bool WorkflowRuntime::RunAgainToSeeParameterChange(PartitionState& st, LiveWorkflow& wf,
                                                   const Completion& c, RuntimeOutput& out) {
  // A duplicate of the trigger arrived while this step ran (HoldForOwner): the put it reports may
  // be newer than anything the step read, so a step that only reads does not finish the workflow
  // on what it read. Its outcome is dropped and it runs again, from the same checkpoint, seeing
  // the signal. (A step that changed AWS finishes: its effects are recorded in its outcome.)
  if (c.outcome.kind != StepOutcome::Kind::kFinish) return false;
  if (UnseenParameterChanges(wf, c.cp.pending_signals_size()) == 0) return false;
  WorkflowHandler* handler = HandlerFor(wf.cp);
  if (handler == nullptr || handler->StepMutates(wf.cp.step())) return false;
  wf.committed = false;
  wf.cp.set_due_at_ms(0);
  EmitCheckpoint(st, wf.cp, out);
  LogWorkflowScope scope(wf.cp.trigger().id(), LogFieldsOf(wf.cp));
  spdlog::info("workflow {}: a parameter change arrived while step {} ran; running it again",
               wf.cp.workflow_id(), wf.cp.step());
  return true;
}

void WorkflowRuntime::ApplyCompletion(Completion& c, RuntimeOutput& out) {
  PartitionState* st = Find(c.partition);
  if (st == nullptr || st->generation != c.generation) return;  // dropped since: discard
  st->dirty = true;
  auto it = st->workflows.find(c.cp.workflow_id());
  if (it == st->workflows.end()) return;
  LiveWorkflow& wf = it->second;
  wf.running = false;
  if (RunAgainToSeeParameterChange(*st, wf, c, out)) return;
  // The step's copy carries its state changes; signals it has seen are consumed.
  v1::WorkflowCheckpoint cp = std::move(c.cp);
  const int consumed = cp.pending_signals_size();
  cp.clear_pending_signals();
  for (int i = consumed; i < wf.cp.pending_signals_size(); ++i) {
    *cp.add_pending_signals() = wf.cp.pending_signals(i);  // arrived while the step ran
  }
  cp.set_cancel_requested(wf.cp.cancel_requested() || cp.cancel_requested());
  cp.set_cancel_reason(wf.cp.cancel_reason().empty() ? cp.cancel_reason() : wf.cp.cancel_reason());
  const int64_t now = clock_.NowMs();
  if (WorkflowHandler* handler = HandlerFor(cp)) {
    Store store(*this, *st, cp.cell(), out);
    handler->OnStepOutcome(cp.step(), cp, c.outcome, store, now);
  }
  for (const auto& a : c.outcome.actions) *cp.add_actions() = a;
  cp.set_updated_at_ms(now);
  wf.cp = std::move(cp);
  st->ledgers->Follow(wf.cp);
  const StepOutcome& o = c.outcome;
  if (o.kind == StepOutcome::Kind::kFinish) {
    Finish(*st, wf.cp.workflow_id(), o.status, o.reason, out);
    for (const auto& item : o.emit) out.WorkItem(item);
    return;
  }
  const std::string step_done = wf.cp.step();
  const bool same_step = o.next_step == wf.cp.step();
  if (o.retry_same_step) {
    wf.cp.set_attempt(wf.cp.attempt() + 1);
  } else if (!same_step) {
    wf.cp.set_attempt(0);
  }
  wf.cp.set_step(o.next_step);
  wf.cp.clear_wait_signals();
  if (o.kind == StepOutcome::Kind::kWait) {
    // A wait for signals only has no timer: it must not be due until a signal (or the deadline)
    // comes; 0 would mean "now" and run the next step at once.
    wf.cp.set_due_at_ms(o.wait_ms > 0 ? now + o.wait_ms : kNoTimer);
    for (const auto& s : o.wait_signals) wf.cp.add_wait_signals(s);
    wf.cp.set_waiting_on(o.wait_signals.empty() ? fmt::format("timer ({} ms)", o.wait_ms)
                                                : fmt::format("signal {} or timer ({} ms)",
                                                              o.wait_signals.front(), o.wait_ms));
    if (o.wait_ms <= 0 && o.wait_signals.empty()) wf.cp.set_due_at_ms(now);
    // A signal that arrived while the step ran wakes the wait at once.
    for (const auto& ev : wf.cp.pending_signals()) {
      for (const auto& s : o.wait_signals) {
        if (SignalKeyOf(ev) == s) wf.cp.set_due_at_ms(0);
      }
    }
  } else {
    wf.cp.set_due_at_ms(0);
    wf.cp.set_waiting_on("");
  }
  wf.committed = false;
  EmitCheckpoint(*st, wf.cp, out);
  // In the transaction of the checkpoint that records them: exactly once with it.
  for (const auto& item : o.emit) out.WorkItem(item);
  {
    LogWorkflowScope scope(wf.cp.trigger().id(), LogFieldsOf(wf.cp));
    // A step that waits and runs again (a poll) is not a change of state: debug only.
    spdlog::log(same_step ? spdlog::level::debug : spdlog::level::info,
                "workflow {} step {} -> {}{}", wf.cp.workflow_id(), step_done, wf.cp.step(),
                wf.cp.waiting_on().empty() ? "" : ", waiting on " + wf.cp.waiting_on());
  }
  if (o.publish_progress && !o.reason.empty()) {
    v1::Result progress = ResultFor(wf.cp.trigger(), v1::Result::IN_PROGRESS, o.reason,
                                    wf.cp.handler(), wf.cp.workflow_id());
    for (const auto& a : o.actions) *progress.add_actions() = a;
    out.Result(progress);
  }
}

}  // namespace fleetkeeper::handlers
