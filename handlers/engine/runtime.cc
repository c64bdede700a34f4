// The runtime's ownership of partitions and its batch boundaries. What arrives is in
// work_items.cc, the scheduling loop in scheduling.cc, steps in steps.cc, restore in restore.cc.
#include "handlers/engine/runtime.h"

#include "handlers/engine/partition_state.h"
#include "handlers/event.h"

namespace fleetkeeper::handlers {

WorkflowRuntime::WorkflowRuntime(const v1::WorkerConfig& config, RuntimeOptions options,
                                 Dispatcher& dispatcher, aws::ClientProvider* clients,
                                 Executor& executor, const Clock& clock)
    : config_(config),
      options_(std::move(options)),
      dispatcher_(dispatcher),
      clients_(clients),
      executor_(executor),
      clock_(clock),
      guard_poller_(config, clients, executor) {}

WorkflowRuntime::~WorkflowRuntime() = default;

PartitionState* WorkflowRuntime::Find(int32_t partition) {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? nullptr : it->second.get();
}

bool WorkflowRuntime::Owns(int32_t partition) const { return partitions_.count(partition) > 0; }

std::vector<int32_t> WorkflowRuntime::OwnedPartitions() const {
  std::vector<int32_t> out;
  for (const auto& [p, st] : partitions_) out.push_back(p);
  return out;
}

size_t WorkflowRuntime::live_workflows() const {
  size_t n = 0;
  for (const auto& [p, st] : partitions_) n += UnfinishedWorkflows(p);
  return n;
}

size_t WorkflowRuntime::UnfinishedWorkflows(int32_t partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return 0;
  size_t n = 0;
  for (const auto& [id, wf] : it->second->workflows) n += wf.cp.has_final_result() ? 0 : 1;
  return n;
}

std::map<std::pair<std::string, std::string>, size_t> WorkflowRuntime::LiveWorkflowsByState()
    const {
  std::map<std::pair<std::string, std::string>, size_t> counts;
  const int64_t now = clock_.NowMs();
  for (const auto& [p, st] : partitions_) {
    for (const auto& [id, wf] : st->workflows) {
      if (wf.cp.has_final_result()) continue;
      const char* state = wf.running                                               ? "running"
                          : wf.cp.due_at_ms() > now || !wf.cp.waiting_on().empty() ? "waiting"
                                                                                   : "ready";
      ++counts[{wf.cp.handler(), state}];
    }
  }
  return counts;
}

void WorkflowRuntime::Touch(int32_t partition) { touched_.insert(partition); }

void WorkflowRuntime::EndBatch(RuntimeOutput& out, std::set<int32_t>* touched) {
  // Well under the producer's message.max.bytes (1 MB by default), whatever the ids' length.
  constexpr size_t kSeenRecordBytes = 256 * 1024;
  for (auto& [p, stp] : partitions_) {
    PartitionState& st = *stp;
    if (st.batch_seen.empty()) continue;
    size_t i = 0;
    while (i < st.batch_seen.size()) {
      v1::SeenEvents seen;
      seen.set_at_ms(st.batch_seen_ms);
      for (size_t bytes = 0; i < st.batch_seen.size() && bytes < kSeenRecordBytes; ++i) {
        bytes += st.batch_seen[i].size() + 2;
        seen.add_event_ids(std::move(st.batch_seen[i]));
      }
      st.seen_records[SeenEventsRecord(st.batch_seen_ms, seen.event_ids(0))] = st.batch_seen_ms;
      out.SeenEvents(p, std::move(seen));
    }
    st.batch_seen.clear();
    touched->insert(p);  // already in touched_: OnWorkItem touched p when it saw the ids
  }
}

void WorkflowRuntime::OnCommitted() {
  for (int32_t p : touched_) {
    if (auto* st = Find(p)) {
      st->dirty = true;
      for (auto& [id, wf] : st->workflows) wf.committed = true;
    }
  }
  touched_.clear();
}

std::vector<int32_t> WorkflowRuntime::OnAborted() {
  std::vector<int32_t> out(touched_.begin(), touched_.end());
  for (int32_t p : out) partitions_.erase(p);
  touched_.clear();
  return out;
}

WorkflowHandler* WorkflowRuntime::HandlerFor(const v1::WorkflowCheckpoint& wf) const {
  return dispatcher_.WorkflowHandlerNamed(wf.handler());
}

const v1::Result& WorkflowRuntime::ResultFor(const v1::Event& event, v1::Result::Status status,
                                             std::string reason, std::string handler,
                                             std::string workflow_id) {
  FillResult(&result_scratch_, event, status, std::move(reason), std::move(handler), clock_.NowMs(),
             std::move(workflow_id));
  return result_scratch_;
}

void WorkflowRuntime::EmitCheckpoint(PartitionState& st, const v1::WorkflowCheckpoint& wf,
                                     RuntimeOutput& out) {
  out.Checkpoint(st.partition, wf);
  Touch(st.partition);
}

}  // namespace fleetkeeper::handlers
