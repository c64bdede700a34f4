// The workflow runtime's output port: what it decides to write, typed. The pipeline
// (consumers/runtime_records.h) turns each output into a record of the batch it is building;
// the runtime knows nothing of topics, records or serialization.
//
// Every state output is for one work partition p and lands on fleet.state partition p under the
// key the functions below give it, so that a restore (WorkflowRuntime::Install) reads back what
// was written.
#pragma once

#include <cstdint>
#include <string>

#include "fleetkeeper/v1/result.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::handlers {

// fleet.state keys.
std::string WorkflowKey(const std::string& workflow_id);   // "wf:<id>"
std::string DedupKeyRecord(const std::string& dedup_key);  // "dedup:<key>"
std::string EventIdRecord(const std::string& event_id);    // "event:<id>", read only
// "seen:<at_ms>/<first id>": the event ids a partition saw in one batch (SeenEvents).
std::string SeenEventsRecord(int64_t at_ms, const std::string& first_event_id);
std::string CellStoreRecord(const std::string& cell,
                            const std::string& key);  // "cell:<cell>|<key>"

// Outputs arrive in the order the runtime decides them, which is the order they must be
// produced in. Poll thread only, like the runtime's methods that take one.
class RuntimeOutput {
 public:
  virtual ~RuntimeOutput() = default;

  // The workflow's checkpoint (WorkflowKey).
  virtual void Checkpoint(int32_t partition, const v1::WorkflowCheckpoint& workflow) = 0;
  // The workflow that owns a dedup key (DedupKeyRecord).
  virtual void Dedup(int32_t partition, const v1::DedupRecord& record) = 0;
  // A cell-store value (CellStoreRecord of its cell and key).
  virtual void CellWrite(int32_t partition, const v1::CellRecord& record) = 0;
  // The event ids a batch saw (SeenEventsRecord of its time and first id); taken, not copied.
  virtual void SeenEvents(int32_t partition, v1::SeenEvents&& seen) = 0;
  // A state key that no longer holds anything: a released dedup key, an erased cell value, or a
  // workflow, dedup or seen record past its retention.
  virtual void Tombstone(int32_t partition, const std::string& state_key) = 0;
  // A result for fleet.results.
  virtual void Result(const v1::Result& result) = 0;
  // A work item for fleet.work, keyed (and so partitioned) by its cell "<account>/<region>", as the
  // ingest stage routes events: a fan-out's child request, a child's report to its parent.
  virtual void WorkItem(const v1::Event& event) = 0;
};

}  // namespace fleetkeeper::handlers
