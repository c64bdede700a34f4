// Restoring a work partition from fleet.state (WorkflowRuntime::Install), and the fleet.state keys
// that a restore reads back.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "handlers/engine/partition_state.h"

namespace fleetkeeper::handlers {

std::string WorkflowKey(const std::string& workflow_id) { return "wf:" + workflow_id; }
std::string DedupKeyRecord(const std::string& dedup_key) { return "dedup:" + dedup_key; }
std::string EventIdRecord(const std::string& event_id) { return "event:" + event_id; }
std::string SeenEventsRecord(int64_t at_ms, const std::string& first_event_id) {
  return fmt::format("seen:{}/{}", at_ms, first_event_id);
}
std::string CellStoreRecord(const std::string& cell, const std::string& key) {
  return "cell:" + cell + "|" + key;
}

namespace {
// What a fleet.state key holds, by its prefix (the functions above).
enum class StateKey { kWorkflow, kDedup, kEventId, kSeenEvents, kCell, kOther };

struct ParsedKey {
  StateKey kind;
  std::string_view rest;  // the key without its prefix
};

ParsedKey ParseStateKey(std::string_view key) {
  constexpr std::pair<std::string_view, StateKey> kPrefixes[] = {
      {"wf:", StateKey::kWorkflow},   {"dedup:", StateKey::kDedup},
      {"event:", StateKey::kEventId}, {"seen:", StateKey::kSeenEvents},
      {"cell:", StateKey::kCell},
  };
  for (const auto& [prefix, kind] : kPrefixes) {
    if (key.substr(0, prefix.size()) == prefix) return {kind, key.substr(prefix.size())};
  }
  return {StateKey::kOther, key};
}
}  // namespace

void WorkflowRuntime::Install(int32_t partition,
                              const std::vector<std::pair<std::string, std::string>>& records) {
  static uint64_t next_generation = 1;
  auto st = std::make_unique<PartitionState>();
  st->partition = partition;
  st->generation = next_generation++;
  st->ledgers = std::make_unique<CellLedgers>(config_.safety());
  const int64_t now = clock_.NowMs();
  for (const auto& [key, value] : records) {
    const ParsedKey parsed = ParseStateKey(key);
    if (value.empty()) {  // tombstone
      switch (parsed.kind) {
        case StateKey::kWorkflow:
          st->workflows.erase(std::string(parsed.rest));
          break;
        case StateKey::kDedup:
          st->dedup.erase(std::string(parsed.rest));
          break;
        case StateKey::kEventId:
          st->seen_events.Erase(parsed.rest);
          st->seen_records.erase(key);
          break;
        case StateKey::kSeenEvents:
          st->seen_records.erase(key);
          break;
        case StateKey::kCell:
          st->store.erase(key);
          break;
        case StateKey::kOther:
          break;
      }
      continue;
    }
    v1::StateRecord sr;
    if (!sr.ParseFromString(value)) {
      spdlog::error("fleet.state partition {}: record {} is not a StateRecord; ignored", partition,
                    key);
      continue;
    }
    switch (sr.record_case()) {
      case v1::StateRecord::kWorkflow: {
        LiveWorkflow wf;
        wf.cp = sr.workflow();
        wf.committed = true;
        st->workflows[wf.cp.workflow_id()] = std::move(wf);
        break;
      }
      case v1::StateRecord::kDedup:
        if (parsed.kind == StateKey::kEventId) {
          st->seen_events.Remember(sr.dedup().event_id(), sr.dedup().at_ms());
          st->seen_records[key] = sr.dedup().at_ms();
        } else {
          st->dedup[sr.dedup().dedup_key()] = sr.dedup();
        }
        break;
      case v1::StateRecord::kCell:
        if (IsAppliedMark(sr.cell().key()) && st->store.count(key) == 0) ++st->applied_marks;
        st->store[key] = sr.cell();
        break;
      case v1::StateRecord::kSeen: {
        // Ids past the retention are forgotten here, not by the record's tombstone: a tombstone
        // cannot name them, and one of them may have been seen again since, in a later record.
        const int64_t at = sr.seen().at_ms();
        st->seen_records[key] = at;
        if (now - at > options_.dedup_retention_ms) break;
        for (const auto& id : sr.seen().event_ids()) st->seen_events.Remember(id, at);
        break;
      }
      default:
        break;
    }
  }
  for (const auto& [id, wf] : st->workflows) {
    if (wf.cp.has_final_result()) continue;
    for (const auto& r : wf.cp.locks()) st->locks[r] = id;
    st->ledgers->Follow(wf.cp);
  }
  spdlog::info("partition {} restored: {} workflows ({} live), {} dedup records, {} seen events",
               partition, st->workflows.size(),
               std::count_if(st->workflows.begin(), st->workflows.end(),
                             [](const auto& kv) { return !kv.second.cp.has_final_result(); }),
               st->dedup.size(), st->seen_events.size());
  partitions_[partition] = std::move(st);
  timed_checked_ms_ = 0;  // a partition (re)installed: its timed workflows at the next pump
}

void WorkflowRuntime::Drop(int32_t partition) {
  partitions_.erase(partition);
  touched_.erase(partition);
}

}  // namespace fleetkeeper::handlers
