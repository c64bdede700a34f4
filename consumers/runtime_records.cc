#include "consumers/runtime_records.h"

#include "common/metrics.h"

namespace fleetkeeper::consumers {

void RuntimeRecords::State(int32_t partition, std::string key, const v1::StateRecord& record) {
  OutRecord r;
  r.topic = state_topic_;
  r.partition = partition;
  r.key = std::move(key);
  r.value = record.SerializeAsString();
  out_->push_back(std::move(r));
}

void RuntimeRecords::Checkpoint(int32_t partition, const v1::WorkflowCheckpoint& workflow) {
  v1::StateRecord sr;
  *sr.mutable_workflow() = workflow;
  State(partition, handlers::WorkflowKey(workflow.workflow_id()), sr);
}

void RuntimeRecords::Dedup(int32_t partition, const v1::DedupRecord& record) {
  v1::StateRecord sr;
  *sr.mutable_dedup() = record;
  State(partition, handlers::DedupKeyRecord(record.dedup_key()), sr);
}

void RuntimeRecords::CellWrite(int32_t partition, const v1::CellRecord& record) {
  v1::StateRecord sr;
  *sr.mutable_cell() = record;
  State(partition, handlers::CellStoreRecord(record.cell(), record.key()), sr);
}

void RuntimeRecords::SeenEvents(int32_t partition, v1::SeenEvents&& seen) {
  std::string key = handlers::SeenEventsRecord(seen.at_ms(), seen.event_ids(0));
  v1::StateRecord sr;
  *sr.mutable_seen() = std::move(seen);
  State(partition, std::move(key), sr);
}

void RuntimeRecords::Tombstone(int32_t partition, const std::string& state_key) {
  OutRecord r;
  r.topic = state_topic_;
  r.partition = partition;
  r.key = state_key;
  out_->push_back(std::move(r));
}

void RuntimeRecords::Result(const v1::Result& result) {
  if (result.status() != v1::Result::IN_PROGRESS) {
    metrics::RecordsIn(result.source().topic(), v1::Result::Status_Name(result.status()))
        .Increment();
  }
  out_->push_back(ResultRecord(result, topics_));
}

void RuntimeRecords::WorkItem(const v1::Event& event) {
  out_->push_back(WorkRecord(event, topics_));
}

}  // namespace fleetkeeper::consumers
