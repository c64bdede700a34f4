// The scheduling loop (WorkflowRuntime::Pump): collect finished steps, create due timed
// workflows, and start each due step unless a freeze, a lock, the blast-radius budget or a safety
// guard holds it; then expire what is past its retention.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "handlers/engine/partition_state.h"

namespace fleetkeeper::handlers {

std::string WorkflowRuntime::SafetyHold(PartitionState& st, v1::WorkflowCheckpoint& wf,
                                        const WorkflowHandler& handler, int64_t now, int64_t* wake,
                                        RuntimeOutput& out) {
  const auto& safety = config_.safety();
  if (safety.guards_size() == 0 && safety.blackout_size() == 0) return "";
  const std::vector<std::string> locks = handler.LockedResources(wf);
  // The groups the workflow takes capacity out of: what a guard alarm that pauses it and a
  // window by tag watch.
  const std::vector<std::string> watched = handler.PausingResources(wf);
  Store store(*this, st, wf.cell(), out);
  // A workflow rolling back on a guard alarm is not held by the alarms; the alarms that roll it
  // back watch what it has changed too (docs/safety.md).
  if (!RollsBackOnGuardAlarm(safety, handler.name())) {
    if (std::string alarm = AlarmHold(safety, wf, watched, store); !alarm.empty()) return alarm;
  } else if (wf.guard_rollback().empty()) {
    const std::vector<std::string> guarded = handler.GuardedResources(wf);
    if (std::string alarm = GuardAlarmFiring(safety, wf, guarded, store); !alarm.empty()) {
      wf.set_guard_rollback("rolled back on guard " + alarm);
      spdlog::warn("workflow {}: {}", wf.workflow_id(), wf.guard_rollback());
      out.Result(ResultFor(wf.trigger(), v1::Result::IN_PROGRESS, "rolling back on guard " + alarm,
                           wf.handler(), wf.workflow_id()));
    }
  }
  if (!blackout_) blackout_.emplace(safety);  // the config is final by the first step
  auto window = blackout_->HoldAt(wf, locks, watched, now);
  if (!window) return "";
  *wake = std::min(*wake, window->until_ms);
  return window->reason;
}

void WorkflowRuntime::ExpireFinished(PartitionState& st, RuntimeOutput& out) {
  const int64_t now = clock_.NowMs();
  if (now - st.last_expiry_ms < 60000) return;
  st.last_expiry_ms = now;
  auto tombstone = [&](const std::string& key) {
    out.Tombstone(st.partition, key);
    Touch(st.partition);
  };
  // Compaction alone never expires a key: finished workflows and dedup records get tombstones.
  for (auto it = st.workflows.begin(); it != st.workflows.end();) {
    const auto& cp = it->second.cp;
    if (cp.has_final_result() && it->second.committed &&
        now - cp.finished_at_ms() > options_.dedup_retention_ms) {
      tombstone(WorkflowKey(it->first));
      const std::string& dk = cp.trigger().dedup_key();
      auto d = st.dedup.find(dk);
      if (d != st.dedup.end() && d->second.workflow_id() == it->first) {
        tombstone(DedupKeyRecord(dk));
        st.dedup.erase(d);
      }
      it = st.workflows.erase(it);
    } else {
      ++it;
    }
  }
  st.seen_events.EraseIf([&](int64_t at) { return now - at > options_.dedup_retention_ms; });
  for (auto it = st.seen_records.begin(); it != st.seen_records.end();) {
    if (now - it->second > options_.dedup_retention_ms) {
      tombstone(it->first);
      it = st.seen_records.erase(it);
    } else {
      ++it;
    }
  }
}

void WorkflowRuntime::StartTimedWorkflows(RuntimeOutput& out) {
  const int64_t now = clock_.NowMs();
  if (!options_.partition_of_cell || partitions_.empty()) return;
  if (timed_checked_ms_ != 0 && now - timed_checked_ms_ < 1000) return;
  timed_checked_ms_ = now;
  for (WorkflowHandler* handler : dispatcher_.WorkflowHandlers()) {
    for (v1::WorkflowCheckpoint& cp : handler->TimedWorkflows(now)) {
      PartitionState* st = Find(options_.partition_of_cell(cp.cell()));
      if (st == nullptr || st->workflows.count(cp.workflow_id()) != 0) continue;
      const int64_t due = std::max(cp.due_at_ms(), now);
      cp.set_schema_version(kCheckpointSchemaVersion);
      if (!cp.has_dry_run()) cp.set_dry_run(options_.dry_run);
      cp.set_deadline_ms(due + options_.workflow_deadline_ms);
      cp.set_created_at_ms(now);
      cp.set_updated_at_ms(now);
      cp.set_waiting_on("timer (due " + FormatRfc3339(due) + ")");
      LiveWorkflow wf;
      wf.cp = cp;
      wf.committed = false;  // its timer counts once the creation is committed
      EmitCheckpoint(*st, cp, out);
      out.Result(ResultFor(cp.trigger(), v1::Result::IN_PROGRESS,
                           "workflow " + cp.workflow_id() + " due " + FormatRfc3339(due),
                           cp.handler(), cp.workflow_id()));
      spdlog::info("timed workflow {} ({}) created, due {}", cp.workflow_id(), cp.handler(),
                   FormatRfc3339(due));
      st->dirty = true;
      st->workflows[cp.workflow_id()] = std::move(wf);
    }
  }
}

bool WorkflowRuntime::HoldMutatingStep(PartitionState& st, const std::string& id, LiveWorkflow& wf,
                                       const WorkflowHandler& handler, bool frozen, int64_t now,
                                       int64_t* wake, RuntimeOutput& out) {
  std::string hold;
  if (frozen && !handler.ExemptFromFreeze()) {
    hold = "frozen: mutating step " + wf.cp.step() + " held";
  } else {
    for (const auto& r : handler.LockedResources(wf.cp)) {
      auto l = st.locks.find(r);
      if (l != st.locks.end() && l->second != id) {
        hold = "waiting for " + r + " (held by " + l->second + ")";
        break;
      }
    }
  }
  if (hold.empty()) hold = CapacityHold(*st.ledgers, wf.cp, now);
  // A freeze or a lock ends without a change to this partition, and a capacity hold when
  // its claim's wait passes: look again at each pump. Guards set their own timers.
  const bool recheck = !hold.empty();
  if (hold.empty()) hold = SafetyHold(st, wf.cp, handler, now, wake, out);
  if (!hold.empty()) {
    if (recheck) st.dirty = true;
    if (wf.last_note != hold) {
      wf.last_note = hold;
      wf.cp.set_waiting_on(hold);
      // The hold is checkpointed too, so that readers of fleet.state (`fleetkeeper
      // workflows`) see what the workflow waits for, not the wait it finished.
      EmitCheckpoint(st, wf.cp, out);
      out.Result(ResultFor(wf.cp.trigger(), v1::Result::IN_PROGRESS, hold, wf.cp.handler(), id));
    }
    return true;
  }
  for (const auto& r : handler.LockedResources(wf.cp)) {
    if (!st.locks.count(r)) {
      st.locks[r] = id;
      wf.cp.add_locks(r);
    }
  }
  return false;
}

void WorkflowRuntime::Pump(bool frozen, RuntimeOutput& out, std::set<int32_t>* touched) {
  StartTimedWorkflows(out);
  std::deque<std::unique_ptr<Completion>> done;
  {
    std::lock_guard<std::mutex> lock(completions_mu_);
    done.swap(completions_);
    pending_completions_.store(0);
  }
  for (auto& c : done) {
    --running_;
    ApplyCompletion(*c, out);
  }
  guard_poller_.Collect([&](int32_t p, uint64_t generation, const std::string& cell,
                            const v1::AlarmStateChange& alarm) {
    PartitionState* st = Find(p);
    if (st == nullptr || st->generation != generation) return;
    Store store(*this, *st, cell, out);
    if (ObserveGuardAlarm(config_.safety(), alarm, store)) st->dirty = true;
  });
  const int64_t now = clock_.NowMs();
  for (auto& [p, stp] : partitions_) {
    PartitionState& st = *stp;
    if (!st.dirty && now < st.next_wake_ms) {
      ExpireFinished(st, out);
      continue;
    }
    st.dirty = false;
    int64_t wake = kNoTimer;
    std::vector<std::string> ids;
    for (const auto& [id, wf] : st.workflows) {
      if (!wf.cp.has_final_result() && wf.committed && !wf.running) ids.push_back(id);
    }
    for (const auto& id : ids) {
      LiveWorkflow& wf = st.workflows[id];
      wake =
          std::min(wake, guard_poller_.Poll(st.partition, st.generation, wf.cp.trigger().account(),
                                            wf.cp.trigger().region(), now, notify_));
      if (wf.cp.cancel_requested()) {
        const WorkflowHandler* h = HandlerFor(wf.cp);
        const std::string cleanup = h == nullptr ? "" : h->CancelStep();
        if (cleanup.empty()) {
          Finish(st, id, v1::Result::CANCELLED, wf.cp.cancel_reason(), out);
          continue;
        }
        if (wf.cp.step() != cleanup) {  // the handler's cancel step, from now on until it finishes
          wf.cp.set_step(cleanup);
          wf.cp.set_attempt(0);
          wf.cp.set_due_at_ms(0);
          wf.cp.clear_wait_signals();
        }
      }
      if (wf.cp.deadline_ms() > 0 && now > wf.cp.deadline_ms()) {
        Finish(st, id, v1::Result::FAILED, "deadline", out);
        continue;
      }
      if (wf.cp.due_at_ms() > now) {
        wake = std::min(wake, wf.cp.due_at_ms());
        if (wf.cp.deadline_ms() > 0) wake = std::min(wake, wf.cp.deadline_ms() + 1);
        continue;
      }
      WorkflowHandler* handler = HandlerFor(wf.cp);
      if (handler == nullptr) {
        Finish(st, id, v1::Result::FAILED,
               "no workflow handler named " + wf.cp.handler() + " in this worker", out);
        continue;
      }
      if (wf.cp.schema_version() > kCheckpointSchemaVersion) {
        Finish(st, id, v1::Result::FAILED,
               fmt::format("checkpoint schema version {} is newer than this worker's {}",
                           wf.cp.schema_version(), kCheckpointSchemaVersion),
               out);
        continue;
      }
      if (options_.max_running_steps > 0 && running_.load() >= options_.max_running_steps) {
        st.dirty = true;  // due, but the executor is full: look again at the next pump
        continue;
      }
      if (handler->StepMutates(wf.cp.step()) &&
          HoldMutatingStep(st, id, wf, *handler, frozen, now, &wake, out)) {
        continue;
      }
      wf.last_note.clear();
      StartStep(st, id);
    }
    st.next_wake_ms = wake;
    ExpireFinished(st, out);
  }
  for (int32_t p : touched_) touched->insert(p);
}

}  // namespace fleetkeeper::handlers
