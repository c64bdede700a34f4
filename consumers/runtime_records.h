// The pipeline's side of the workflow runtime's output port (handlers/engine/output.h): each
// output becomes a record of the batch being built. State outputs go to the state topic's
// partition p (the work partition they are for) under their fleet.state key, as a StateRecord or
// a tombstone; results go to the results topic, keyed by correlation id; work items to the work
// topic, keyed by their cell.
#pragma once

#include <string>
#include <vector>

#include "consumers/kafka.h"
#include "consumers/results.h"
#include "handlers/engine/output.h"

namespace fleetkeeper::consumers {

class RuntimeRecords final : public handlers::RuntimeOutput {
 public:
  // Appends to `out`, which must outlive this.
  RuntimeRecords(const std::string& state_topic, const OutputTopics& topics,
                 std::vector<OutRecord>* out)
      : state_topic_(state_topic), topics_(topics), out_(out) {}

  void Checkpoint(int32_t partition, const v1::WorkflowCheckpoint& workflow) override;
  void Dedup(int32_t partition, const v1::DedupRecord& record) override;
  void CellWrite(int32_t partition, const v1::CellRecord& record) override;
  void SeenEvents(int32_t partition, v1::SeenEvents&& seen) override;
  void Tombstone(int32_t partition, const std::string& state_key) override;
  void Result(const v1::Result& result) override;
  void WorkItem(const v1::Event& event) override;

 private:
  void State(int32_t partition, std::string key, const v1::StateRecord& record);

  const std::string& state_topic_;
  const OutputTopics& topics_;
  std::vector<OutRecord>* out_;
};

}  // namespace fleetkeeper::consumers
