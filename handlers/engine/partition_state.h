// What the workflow runtime keeps per work partition, shared by its files (runtime.cc: ownership
// and the batch; restore.cc: Install; work_items.cc: what arrives; scheduling.cc: the pump).
// Internal to handlers/engine/: nothing outside it includes this.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/engine/ledger.h"
#include "handlers/engine/runtime.h"
#include "handlers/engine/seen_ids.h"
#include "handlers/engine/stale_rule.h"

namespace fleetkeeper::handlers {

// due_at_ms of a wait with no timer: only a signal, a cancel or the deadline ends it.
constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::max();

struct LiveWorkflow {
  v1::WorkflowCheckpoint cp;
  bool committed = false;  // its latest checkpoint is committed: the next step may start
  bool running = false;
  int signals_seen = 0;   // while a step runs: how many of the pending signals it was given
  std::string last_note;  // last waiting note published, so a hold is reported once
};

struct PartitionState {
  int32_t partition = 0;
  uint64_t generation = 0;
  std::map<std::string, LiveWorkflow> workflows;
  std::map<std::string, v1::DedupRecord> dedup;  // dedup key -> owner
  SeenIds seen_events;  // every event id of the retention window -> first seen (ms)
  // The fleet.state records that hold those ids ("seen:" per batch, "event:" per id from before)
  // -> the newest time in them: each is tombstoned once that is past the retention.
  std::unordered_map<std::string, int64_t> seen_records;
  // Ids first seen in the open batch, written as SeenEvents records when it closes (EndBatch).
  std::vector<std::string> batch_seen;
  int64_t batch_seen_ms = 0;
  std::map<std::string, v1::CellRecord> store;  // CellStoreRecord key -> value
  // Stale-rule marks (`applied/<resource>` cell records) in `store`: none, and the rule costs
  // nothing per event (most alarms start nothing and set none).
  size_t applied_marks = 0;
  std::map<std::string, std::string> locks;  // resource -> workflow id
  std::unique_ptr<CellLedgers> ledgers;      // capacity out of service, per cell
  int64_t last_expiry_ms = 0;
  // Pump scans a partition's workflows only when something changed (`dirty`: a work item, a
  // completion, a commit, a hold) or when its earliest timer or deadline (`next_wake_ms`) has come:
  // thousands of workflows waiting on timers then cost nothing per idle pump.
  bool dirty = true;
  int64_t next_wake_ms = 0;
};

struct WorkflowRuntime::Completion {
  int32_t partition;
  uint64_t generation;
  v1::WorkflowCheckpoint cp;  // with the step's state changes
  StepOutcome outcome;
};

// The cell store of one cell, writing through to the batch.
class WorkflowRuntime::Store final : public CellStore {
 public:
  Store(WorkflowRuntime& rt, PartitionState& st, std::string cell, RuntimeOutput& out)
      : rt_(rt), st_(st), cell_(std::move(cell)), out_(out) {}

  const google::protobuf::Any* Get(const std::string& key) const override {
    auto it = st_.store.find(CellStoreRecord(cell_, key));
    return it == st_.store.end() ? nullptr : &it->second.value();
  }
  void Put(const std::string& key, const google::protobuf::Message& value) override {
    v1::CellRecord rec;
    rec.set_cell(cell_);
    rec.set_key(key);
    rec.mutable_value()->PackFrom(value);
    rec.set_updated_at_ms(rt_.clock_.NowMs());
    std::string k = CellStoreRecord(cell_, key);
    if (IsAppliedMark(key) && st_.store.count(k) == 0) ++st_.applied_marks;
    out_.CellWrite(st_.partition, rec);
    st_.store[k] = std::move(rec);
    rt_.Touch(st_.partition);
  }
  void Erase(const std::string& key) override {
    std::string k = CellStoreRecord(cell_, key);
    if (st_.store.erase(k) == 0) return;
    out_.Tombstone(st_.partition, k);
    rt_.Touch(st_.partition);
  }

 private:
  WorkflowRuntime& rt_;
  PartitionState& st_;
  std::string cell_;
  RuntimeOutput& out_;
};

// What the log lines about a workflow carry (common/log.h).
inline LogWorkflow LogFieldsOf(const v1::WorkflowCheckpoint& cp) {
  return {cp.workflow_id(), cp.cell(), cp.handler(), cp.step()};
}

}  // namespace fleetkeeper::handlers
