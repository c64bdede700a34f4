#include "handlers/engine/runtime.h"

#include <fmt/format.h>
#include <google/protobuf/wrappers.pb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

#include "awsclient/clients.h"
#include "common/clock.h"
#include "common/digest.h"
#include "common/log.h"
#include "common/metrics.h"
#include "handlers/authorization.h"
#include "handlers/engine/ledger.h"
#include "handlers/engine/seen_ids.h"
#include "handlers/event.h"

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
constexpr std::string_view kAppliedPrefix = "applied/";
// Cell store key of the time of the last event applied to a resource (the stale rule).
std::string AppliedKey(const std::string& resource) {
  return std::string(kAppliedPrefix) + resource;
}
bool IsAppliedMark(const std::string& cell_key) { return cell_key.rfind(kAppliedPrefix, 0) == 0; }

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

// The resource whose state an event reports, for the stale rule (DESIGN.md, Handlers: an event
// older than the last one applied to the same resource is SKIPPED). Requests and signals name
// no such state: empty.
std::string StaleResource(const v1::Event& event) {
  switch (event.body_case()) {
    case v1::Event::kParameterChange:
      return "parameter:" + event.parameter_change().name();
    case v1::Event::kAlarm:
      return "alarm:" + (event.alarm().alarm_arn().empty() ? event.alarm().alarm_name()
                                                           : event.alarm().alarm_arn());
    default:
      return "";
  }
}

// The time the stale rule compares: when the fact happened. An alarm's is its state change time
// (both bridges carry it, to the millisecond; an EventBridge envelope's `time` has whole seconds
// only), any other event's is its `time`. -1 when unreadable.
int64_t StaleTimeMs(const v1::Event& event) {
  if (event.has_alarm() && !event.alarm().state_time().empty()) {
    const int64_t at = ParseRfc3339Ms(event.alarm().state_time());
    if (at >= 0) return at;
  }
  return ParseRfc3339Ms(event.time());
}

int64_t AppliedAtMs(const CellStore& store, const std::string& resource) {
  const google::protobuf::Any* any = store.Get(AppliedKey(resource));
  google::protobuf::Int64Value at;
  if (any == nullptr || !any->UnpackTo(&at)) return -1;
  return at.value();
}

// Why `event` is stale, or "" (docs/workflows.md, "Stale events"). `marks` is the partition's
// count of marks: without any, nothing is read (most alarms start nothing and set none).
std::string StaleReason(size_t marks, const CellStore& store, const v1::Event& event) {
  if (marks == 0) return "";
  const std::string resource = StaleResource(event);
  if (resource.empty()) return "";
  const int64_t at = StaleTimeMs(event);
  if (at < 0) return "";
  const int64_t applied = AppliedAtMs(store, resource);
  if (at >= applied) return "";
  return fmt::format("stale: {} is from {}, older than the last event applied to {} ({})",
                     event.id(), FormatRfc3339(at), resource, FormatRfc3339(applied));
}

// `event` was applied (it started a workflow, or its handler decided something): its time becomes
// its resource's mark, unless the mark is newer.
void MarkApplied(CellStore& store, const v1::Event& event) {
  const std::string resource = StaleResource(event);
  if (resource.empty()) return;
  const int64_t at = StaleTimeMs(event);
  if (at < 0 || at <= AppliedAtMs(store, resource)) return;
  google::protobuf::Int64Value mark;
  mark.set_value(at);
  store.Put(AppliedKey(resource), mark);
}

// What the log lines about a workflow carry (common/log.h).
LogWorkflow LogFieldsOf(const v1::WorkflowCheckpoint& cp) {
  return {cp.workflow_id(), cp.cell(), cp.handler(), cp.step()};
}
}  // namespace

// due_at_ms of a wait with no timer: only a signal, a cancel or the deadline ends it.
constexpr int64_t kNoTimer = std::numeric_limits<int64_t>::max();

struct LiveWorkflow {
  v1::WorkflowCheckpoint cp;
  bool committed = false;  // its latest checkpoint is committed: the next step may start
  bool running = false;
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
    std::string basis =
        fmt::format("{}|{}|{}|{}", cp_->workflow_id(), cp_->step(), cp_->attempt(), discriminator);
    return "fk-" + Sha256Hex(basis, 24);
  }
  CapacityLedger* capacity() override { return &capacity_; }

 private:
  v1::WorkflowCheckpoint* cp_;
  aws::CellClients* clients_;
  const Clock& clock_;
  bool dry_run_;
  std::vector<v1::Event> signals_;
  StepCapacity capacity_;
};

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
  for (const auto& [p, st] : partitions_) {
    for (const auto& [id, wf] : st->workflows) n += wf.cp.has_final_result() ? 0 : 1;
  }
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

void WorkflowRuntime::Install(int32_t partition,
                              const std::vector<std::pair<std::string, std::string>>& records) {
  static uint64_t next_generation = 1;
  auto st = std::make_unique<PartitionState>();
  st->partition = partition;
  st->generation = next_generation++;
  st->ledgers = std::make_unique<CellLedgers>(config_.safety());
  const int64_t now = clock_.NowMs();
  for (const auto& [key, value] : records) {
    if (value.empty()) {  // tombstone
      if (key.rfind("wf:", 0) == 0) st->workflows.erase(key.substr(3));
      if (key.rfind("dedup:", 0) == 0) st->dedup.erase(key.substr(6));
      if (key.rfind("event:", 0) == 0) st->seen_events.Erase(std::string_view(key).substr(6));
      if (key.rfind("event:", 0) == 0 || key.rfind("seen:", 0) == 0) st->seen_records.erase(key);
      if (key.rfind("cell:", 0) == 0) st->store.erase(key);
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
        if (key.rfind("event:", 0) == 0) {
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

void WorkflowRuntime::OnControlSignal(PartitionState& st, const v1::Event& event,
                                      RuntimeOutput& out) {
  const bool cancel = event.body_case() == v1::Event::kCancel;
  const std::string_view kind = EventKindName(event.body_case());
  const std::string& named = cancel ? event.cancel().workflow_id() : event.approval().workflow_id();
  const std::string& request = cancel ? event.cancel().request_id() : event.approval().request_id();
  std::string target = named;
  if (target.empty() && !request.empty()) {
    // Only in the signal's own cell: a request id names a request of that account and region.
    // A request id may have had a finished workflow before this one (see the dedup release in
    // Finish): the one still running wins.
    const std::string cell = CellOf(event);
    for (const auto& [id, wf] : st.workflows) {
      // A workflow started by an AWS event answers to that event's id.
      const auto trigger_request = NativeRequestOf(wf.cp.trigger());
      const std::string& answers_to =
          trigger_request ? trigger_request->request_id : wf.cp.trigger().id();
      if (answers_to != request || wf.cp.cell() != cell) continue;
      if (target.empty() || !wf.cp.has_final_result()) target = id;
    }
  }
  auto it = st.workflows.find(target);
  if (it == st.workflows.end() || it->second.cp.has_final_result()) {
    out.Result(
        ResultFor(event, v1::Result::REJECTED,
                  fmt::format("{} names {} workflow {}", kind,
                              it == st.workflows.end() ? "unknown" : "finished",
                              named.empty() && target.empty() ? "for request " + request : target),
                  "", target));
    return;
  }
  LiveWorkflow& wf = it->second;
  std::string delivered;
  if (cancel) {
    wf.cp.set_cancel_requested(true);
    wf.cp.set_cancel_reason(event.cancel().reason().empty() ? "cancelled"
                                                            : event.cancel().reason());
    delivered = "cancel delivered to workflow " + target + "; it ends at its next step";
  } else {
    // The commands rule on approvals (DESIGN.md "Guarantees"): a refused approval never reaches
    // the workflow, which keeps waiting for a valid one.
    const auto request = NativeRequestOf(wf.cp.trigger());
    if (std::string why = AuthorizeApproval(request ? request->requested_by : "", event.approval());
        !why.empty()) {
      out.Result(
          ResultFor(event, v1::Result::REJECTED,
                    fmt::format("approval refused: {}; workflow {} still waits", why, target),
                    wf.cp.handler(), target));
      return;
    }
    *wf.cp.add_pending_signals() = event;
    delivered = "approval delivered to workflow " + target;
  }
  wf.cp.set_due_at_ms(0);
  wf.committed = false;
  EmitCheckpoint(st, wf.cp, out);
  out.Result(ResultFor(event, v1::Result::SUCCEEDED, delivered, wf.cp.handler(), target));
}

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
  if (kind == v1::Event::kCancel || kind == v1::Event::kApproval) {
    OnControlSignal(*st, event, out);
    return;
  }
  if (IsProgressSignal(kind)) {
    std::string target;
    if (DeliverSignal(*st, event, &target)) {
      auto& wf = st->workflows[target];
      wf.committed = false;
      EmitCheckpoint(*st, wf.cp, out);
      out.Result(ResultFor(event, v1::Result::SUCCEEDED, "delivered to workflow " + target,
                           wf.cp.handler(), target));
    } else {
      out.Result(ResultFor(event, v1::Result::SKIPPED, "no matching workflow", "", ""));
    }
    return;
  }

  // A request: a duplicate of a fact some workflow already owns gets SKIPPED naming it.
  if (!event.dedup_key().empty()) {
    auto d = st->dedup.find(event.dedup_key());
    if (d != st->dedup.end()) {
      out.Result(
          ResultFor(event, v1::Result::SKIPPED,
                    "duplicate: workflow " + d->second.workflow_id() + " owns " + event.dedup_key(),
                    "", d->second.workflow_id()));
      return;
    }
  }
  Store store(*this, *st, CellOf(event), out);
  if (std::string stale = StaleReason(st->applied_marks, store, event); !stale.empty()) {
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
  auto existing = st->workflows.find(cp.workflow_id());
  if (existing != st->workflows.end() && existing->second.cp.has_final_result()) {
    // The dedup key was released when that workflow finished (see Finish): this is a new fact
    // under the same key. A distinct id keeps its idempotency tokens apart from the old run's.
    cp.set_workflow_id(WorkflowId(event.account(), event.region(), cp.kind(),
                                  event.dedup_key() + "#" + event.id()));
    existing = st->workflows.find(cp.workflow_id());
  }
  if (existing != st->workflows.end()) {
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
    st->dedup[event.dedup_key()] = dedup;
    out.Dedup(partition, dedup);
  }
  EmitCheckpoint(*st, cp, out);
  out.Result(ResultFor(event, v1::Result::IN_PROGRESS, "workflow " + cp.workflow_id() + " started",
                       d.handler, cp.workflow_id()));
  {
    LogWorkflowScope scope(event.id(), LogFieldsOf(cp));
    spdlog::info("workflow {} admitted ({}), first step {}", cp.workflow_id(), cp.handler(),
                 cp.step());
  }
  st->workflows[cp.workflow_id()] = std::move(wf);
}

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
  metrics::WorkflowsFinished(wf.cp.handler(), v1::Result::Status_Name(status)).Increment();
  LogWorkflowScope scope(wf.cp.trigger().id(), LogFieldsOf(wf.cp));
  spdlog::info("workflow {} finished: {} {}", workflow_id, v1::Result::Status_Name(status), reason);
}

void WorkflowRuntime::StartStep(PartitionState& st, const std::string& workflow_id) {
  auto& wf = st.workflows[workflow_id];
  WorkflowHandler* handler = HandlerFor(wf.cp);
  wf.running = true;
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

void WorkflowRuntime::ApplyCompletion(Completion& c, RuntimeOutput& out) {
  PartitionState* st = Find(c.partition);
  if (st == nullptr || st->generation != c.generation) return;  // dropped since: discard
  st->dirty = true;
  auto it = st->workflows.find(c.cp.workflow_id());
  if (it == st->workflows.end()) return;
  LiveWorkflow& wf = it->second;
  wf.running = false;
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

std::string WorkflowRuntime::SafetyHold(PartitionState& st, v1::WorkflowCheckpoint& wf,
                                        const WorkflowHandler& handler, int64_t now, int64_t* wake,
                                        RuntimeOutput& out) {
  const auto& safety = config_.safety();
  if (safety.guards_size() == 0 && safety.blackout_size() == 0) return "";
  const std::vector<std::string> locks = handler.LockedResources(wf);
  Store store(*this, st, wf.cell(), out);
  // A workflow rolling back on a guard alarm is not held by the alarms; the alarms that roll it
  // back watch what it has changed too (docs/safety.md).
  if (!RollsBackOnGuardAlarm(safety, handler.name())) {
    if (std::string alarm = GuardAlarmFiring(safety, wf, locks, store); !alarm.empty()) {
      return "paused by " + alarm;
    }
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
  auto window = blackout_->HoldAt(wf, locks, now);
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
      if (handler->StepMutates(wf.cp.step())) {
        std::string hold;
        if (frozen && !handler->ExemptFromFreeze()) {
          hold = "frozen: mutating step " + wf.cp.step() + " held";
        } else {
          for (const auto& r : handler->LockedResources(wf.cp)) {
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
        if (hold.empty()) hold = SafetyHold(st, wf.cp, *handler, now, &wake, out);
        if (!hold.empty()) {
          if (recheck) st.dirty = true;
          if (wf.last_note != hold) {
            wf.last_note = hold;
            wf.cp.set_waiting_on(hold);
            // The hold is checkpointed too, so that readers of fleet.state (`fleetkeeper
            // workflows`) see what the workflow waits for, not the wait it finished.
            EmitCheckpoint(st, wf.cp, out);
            out.Result(
                ResultFor(wf.cp.trigger(), v1::Result::IN_PROGRESS, hold, wf.cp.handler(), id));
          }
          continue;
        }
        for (const auto& r : handler->LockedResources(wf.cp)) {
          if (!st.locks.count(r)) {
            st.locks[r] = id;
            wf.cp.add_locks(r);
          }
        }
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
