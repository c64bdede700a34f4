// The durable workflow runtime of the work stage (DESIGN.md "Guarantees", "Handlers").
//
// Every workflow, lock, dedup record and cell-store value of a cell lives with the owner of the
// cell's fleet.work partition p and is checkpointed to fleet.state partition p. Memory is never
// ahead of what is committed: records are staged into the batch the worker is building; on commit
// the staged changes become live, on abort the touched partitions are dropped and restored from
// fleet.state. Steps run on the executor; their completions come back to the poll thread.
//
// Thread-safety: every public method is for the poll thread, except where noted.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/executor.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/engine/blackout.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/guards.h"
#include "handlers/engine/output.h"
#include "handlers/workflow.h"

namespace fleetkeeper::aws {
class ClientProvider;
}

namespace fleetkeeper::handlers {

struct RuntimeOptions {
  int64_t dedup_retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t workflow_deadline_ms = 24LL * 3600 * 1000;
  bool dry_run = false;
  // Backpressure: at most this many steps queued or running on the executor; due steps beyond it
  // wait for the next pump (0 = unbounded).
  size_t max_running_steps = 64;
  // The fleet.work partition of a cell ("<account>/<region>"), as the worker routes work items.
  // Without it no timed workflow (WorkflowHandler::TimedWorkflows) is started.
  std::function<int32_t(const std::string& cell)> partition_of_cell;
};

// Everything one work partition owns, and one of its workflows (partition_state.h).
struct PartitionState;
struct LiveWorkflow;

class WorkflowRuntime {
 public:
  WorkflowRuntime(const v1::WorkerConfig& config, RuntimeOptions options, Dispatcher& dispatcher,
                  aws::ClientProvider* clients, Executor& executor, const Clock& clock);
  ~WorkflowRuntime();

  // --- partition ownership -----------------------------------------------------------------
  // Installs the state of partition p rebuilt from fleet.state (records in offset order; a null
  // value is a tombstone) and marks it ready.
  void Install(int32_t partition, const std::vector<std::pair<std::string, std::string>>& records);
  // Forgets partition p: its in-flight steps are discarded when they complete.
  void Drop(int32_t partition);
  bool Owns(int32_t partition) const;
  std::vector<int32_t> OwnedPartitions() const;

  // --- the batch ---------------------------------------------------------------------------
  // A work item consumed from fleet.work partition p. Writes what it decides to `out`.
  void OnWorkItem(int32_t partition, const v1::Event& event, bool frozen, RuntimeOutput& out);
  // Collects finished steps and starts due ones. Writes to `out`, and adds the partitions it wrote
  // state for to `touched` (the pipeline then sends an offset for each, for fencing).
  void Pump(bool frozen, RuntimeOutput& out, std::set<int32_t>* touched);
  // The batch closes: writes the event ids it saw (SeenEvents, one per partition, split when
  // large) and adds the partitions they are for. Call it before the batch commits.
  void EndBatch(RuntimeOutput& out, std::set<int32_t>* touched);
  // The batch committed: staged changes become live; newly created workflows may run.
  void OnCommitted();
  // The batch aborted: the partitions it touched must be restored; returns them (already dropped).
  std::vector<int32_t> OnAborted();

  // Called from an executor thread each time a step completes, so that the poll thread can pump
  // at once instead of at its next batch boundary (the worker wakes its consumer poll). Set it
  // before the first step starts.
  void SetCompletionNotifier(std::function<void()> notify) { notify_ = std::move(notify); }
  // True when completed steps wait for Pump. Any thread.
  bool HasCompletions() const { return pending_completions_.load() > 0; }

  // --- introspection -----------------------------------------------------------------------
  size_t live_workflows() const;
  // Workflows of partition p without a final result (0 when p is not owned here).
  size_t UnfinishedWorkflows(int32_t partition) const;
  // Live workflows by (handler, state): "running" (a step on the executor), "ready" (due, waiting
  // for a slot or for its checkpoint to commit), "waiting" (a timer, a signal or a hold).
  std::map<std::pair<std::string, std::string>, size_t> LiveWorkflowsByState() const;
  size_t running_steps() const { return running_.load(); }

 private:
  struct Completion;
  class Store;
  class Context;

  PartitionState* Find(int32_t partition);
  void Touch(int32_t partition);
  void EmitCheckpoint(PartitionState& st, const v1::WorkflowCheckpoint& wf, RuntimeOutput& out);
  // The result in result_scratch_, valid until the next call: copy it to keep it.
  const v1::Result& ResultFor(const v1::Event& event, v1::Result::Status status, std::string reason,
                              std::string handler, std::string workflow_id);
  // What arrived (work_items.cc): a request, which may admit a workflow; a cancel or an approval,
  // to the workflow it names by id or by its request's request_id; a progress signal, to the
  // workflows waiting for it; a fan-out report, to the parent or child it names.
  void Admit(PartitionState& st, const v1::Event& event, bool frozen, int64_t now,
             RuntimeOutput& out);
  // A duplicate parameter change for `owner`, unfinished: held as its signal. True if held.
  bool HoldForOwner(PartitionState& st, const std::string& owner, const v1::Event& event,
                    RuntimeOutput& out);
  // Parameter changes among `wf`'s pending signals from index `seen` on.
  static int UnseenParameterChanges(const LiveWorkflow& wf, int seen);
  void OnCancel(PartitionState& st, const v1::Event& event, RuntimeOutput& out);
  void OnApproval(PartitionState& st, const v1::Event& event, RuntimeOutput& out);
  // A FanOut, to the parent or child workflow it names, as a signal.
  void OnFanOut(PartitionState& st, const v1::Event& event, RuntimeOutput& out);
  void OnProgressSignal(PartitionState& st, const v1::Event& event, RuntimeOutput& out);
  // The live workflow a cancel or an approval names, or null once the event is answered REJECTED.
  LiveWorkflow* ControlTarget(PartitionState& st, const v1::Event& event, const std::string& named,
                              const std::string& request, RuntimeOutput& out);
  bool DeliverSignal(PartitionState& st, const v1::Event& event, std::string* workflow_id);
  // `event` reached `wf`: it wakes, is checkpointed, and the event SUCCEEDED saying `delivered`.
  void SignalDelivered(PartitionState& st, LiveWorkflow& wf, const v1::Event& event,
                       const std::string& delivered, RuntimeOutput& out);
  void StartStep(PartitionState& st, const std::string& workflow_id);
  void Finish(PartitionState& st, const std::string& workflow_id, v1::Result::Status status,
              const std::string& reason, RuntimeOutput& out);
  void ApplyCompletion(Completion& c, RuntimeOutput& out);
  // A finishing step that only read, run while a duplicate parameter change arrived: run it
  // again instead (true) rather than finish on a read older than that put.
  bool RunAgainToSeeParameterChange(PartitionState& st, LiveWorkflow& wf, const Completion& c,
                                    RuntimeOutput& out);
  void ExpireFinished(PartitionState& st, RuntimeOutput& out);
  // Creates the handlers' timed workflows that are due to exist in the partitions owned here.
  void StartTimedWorkflows(RuntimeOutput& out);
  WorkflowHandler* HandlerFor(const v1::WorkflowCheckpoint& wf) const;
  // The safety guards' hold of a due mutating step (alarm guards, blackout windows), or "". They
  // end with an alarm event, a guard read or a timer, never by polling: `wake` gets the timer.
  // A due mutating step of `wf` held by a freeze, a lock, the blast-radius budget or a safety
  // guard: reports the hold once and returns true. Otherwise takes the step's locks, false.
  bool HoldMutatingStep(PartitionState& st, const std::string& id, LiveWorkflow& wf,
                        const WorkflowHandler& handler, bool frozen, int64_t now, int64_t* wake,
                        RuntimeOutput& out);
  // A guard alarm whose handler rolls back sets wf.guard_rollback instead of holding.
  std::string SafetyHold(PartitionState& st, v1::WorkflowCheckpoint& wf,
                         const WorkflowHandler& handler, int64_t now, int64_t* wake,
                         RuntimeOutput& out);

  const v1::WorkerConfig& config_;
  RuntimeOptions options_;
  Dispatcher& dispatcher_;
  aws::ClientProvider* clients_;
  Executor& executor_;
  const Clock& clock_;

  std::map<int32_t, std::unique_ptr<PartitionState>> partitions_;
  std::set<int32_t> touched_;  // partitions this batch wrote state for
  v1::Result result_scratch_;  // ResultFor's answer, reused (poll thread)
  std::atomic<size_t> running_{0};
  int64_t timed_checked_ms_ = 0;  // last StartTimedWorkflows; 0 after an Install

  std::mutex completions_mu_;
  std::deque<std::unique_ptr<Completion>> completions_;
  std::atomic<size_t> pending_completions_{0};
  std::function<void()> notify_;
  GuardAlarmPoller guard_poller_;
  std::optional<BlackoutCalendar> blackout_;  // built at the first hold check
};

}  // namespace fleetkeeper::handlers
