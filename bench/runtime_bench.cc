// The workflow runtime in memory (no Kafka): restoring a state partition from its records, the
// idle cost of thousands of workflows waiting on timers, and the admit → step → checkpoint cycle.
// Memory, and everything with the broker, are in bench/workflows/workflows_bench.py.
#include <benchmark/benchmark.h>
#include <google/protobuf/wrappers.pb.h>

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "awsclient/clients.h"
#include "common/clock.h"
#include "common/executor.h"
#include "consumers/runtime_records.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/runtime.h"
#include "handlers/engine/seen_ids.h"
#include "tests/testing/effect_handler.h"

namespace fleetkeeper::handlers {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;

v1::Event Command(int i) {
  v1::Event e;
  e.set_id("req-" + std::to_string(i));
  e.set_dedup_key("ecs:" + e.id());
  e.set_account("111122223333");
  e.set_region("us-east-1");
  e.set_source_format("native");
  e.set_origin("fleetkeeper.v1.EcsCommand");
  auto* c = e.mutable_ecs_command();
  c->set_request_id(e.id());
  c->set_requested_by("bench");
  c->set_action("restart");
  c->set_cluster("cluster-" + std::to_string(i % 500));
  c->set_reason("benchmark");
  e.mutable_source()->set_topic("fleet.commands");
  e.mutable_source()->set_offset(i);
  return e;
}

// A runtime whose ecs_command handler is the test effect handler, waiting `wait_ms` per wait.
struct Rig {
  explicit Rig(int64_t wait_ms) {
    testing::EffectHandlerOptions o;
    o.arm_wait_ms = wait_ms;
    o.await_wait_ms = wait_ms;
    o.url = "http://127.0.0.1:9/unused";
    std::vector<std::pair<EventKind, std::unique_ptr<Handler>>> overrides;
    overrides.emplace_back(v1::Event::kEcsCommand, std::make_unique<testing::EffectHandler>(o));
    dispatcher = std::make_unique<Dispatcher>(config, clock, std::move(overrides));
    topics.results = "fleet.results";
    runtime = std::make_unique<WorkflowRuntime>(config, RuntimeOptions{}, *dispatcher, &clients,
                                                executor, clock);
  }
  ~Rig() {
    std::vector<consumers::OutRecord> out;
    auto sink = Output(&out);
    std::set<int32_t> touched;
    while (runtime->running_steps() > 0) runtime->Pump(false, sink, &touched);
  }

  class NoClients final : public aws::ClientProvider {
   public:
    Result<aws::CellClients*> For(const std::string&, const std::string&,
                                  const std::string&) override {
      return &cell;
    }
    aws::CellClients cell;
  };

  // The runtime's outputs as the pipeline's records, into `out`.
  consumers::RuntimeRecords Output(std::vector<consumers::OutRecord>* out) const {
    return {state_topic, topics, out};
  }

  v1::WorkerConfig config;
  const std::string state_topic = "fleet.state";
  consumers::OutputTopics topics;
  const Clock& clock = SystemClock::Instance();
  NoClients clients;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<WorkflowRuntime> runtime;
  Executor executor{4};
};

// The records of a state partition: per workflow its event record (the per-id form of earlier
// versions, still read) and dedup record, its creation and
// `versions - 1` later checkpoints (what compaction has not removed yet), all waiting an hour.
std::vector<std::pair<std::string, std::string>> StateRecords(int records, int versions) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(records);
  const int64_t now = SystemClock::Instance().NowMs();
  google::protobuf::StringValue state;
  state.set_value("test:cluster");
  for (int i = 0; out.size() < static_cast<size_t>(records); ++i) {
    v1::Event ev = Command(i);
    v1::StateRecord seen;
    seen.mutable_dedup()->set_event_id(ev.id());
    seen.mutable_dedup()->set_dedup_key(ev.dedup_key());
    seen.mutable_dedup()->set_at_ms(now);
    out.emplace_back(EventIdRecord(ev.id()), seen.SerializeAsString());
    v1::WorkflowCheckpoint cp = NewWorkflow(ev, testing::kEffectWorkflowKind,
                                            testing::kEffectHandlerName, "arm", state, now);
    v1::StateRecord dedup;
    dedup.mutable_dedup()->set_dedup_key(ev.dedup_key());
    dedup.mutable_dedup()->set_workflow_id(cp.workflow_id());
    dedup.mutable_dedup()->set_event_id(ev.id());
    out.emplace_back(DedupKeyRecord(ev.dedup_key()), dedup.SerializeAsString());
    cp.set_deadline_ms(now + 24 * kHourMs);
    for (int v = 0; v < versions && out.size() < static_cast<size_t>(records); ++v) {
      cp.set_step(v == 0 ? "arm" : "await");
      cp.set_due_at_ms(now + kHourMs);
      cp.set_waiting_on("timer (3600000 ms)");
      v1::StateRecord sr;
      *sr.mutable_workflow() = cp;
      out.emplace_back(WorkflowKey(cp.workflow_id()), sr.SerializeAsString());
    }
  }
  return out;
}

void BM_RestoreStatePartition(benchmark::State& state) {
  const auto records = StateRecords(static_cast<int>(state.range(0)), 3);
  for (auto _ : state) {
    state.PauseTiming();
    auto rig = std::make_unique<Rig>(kHourMs);
    state.ResumeTiming();
    rig->runtime->Install(0, records);
    benchmark::DoNotOptimize(rig->runtime->live_workflows());
    state.PauseTiming();  // the rig's destruction is not part of a restore
    rig.reset();
    state.ResumeTiming();
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(state.range(0)) * state.iterations(), benchmark::Counter::kIsRate);
}

// Idle: every workflow waits on a timer an hour away; the worker pumps once per poll loop
// (runtime.batch_max_time, 100 ms by default, when no record arrives).
void BM_PumpWithWaitingWorkflows(benchmark::State& state) {
  const int workflows = static_cast<int>(state.range(0));
  Rig rig(kHourMs);
  rig.runtime->Install(0, StateRecords(workflows * 5, 3));
  std::vector<consumers::OutRecord> out;
  auto sink = rig.Output(&out);
  std::set<int32_t> touched;
  rig.runtime->Pump(false, sink, &touched);  // the first pump runs expiry once
  for (auto _ : state) {
    out.clear();
    rig.runtime->Pump(false, sink, &touched);
    benchmark::DoNotOptimize(out.size());
  }
  state.counters["waiting"] = static_cast<double>(rig.runtime->live_workflows());
}

// Admission, the first step on the executor, its checkpoint, the commit: the in-memory part of
// a checkpoint commit (the Kafka transaction is measured by the driver).
void BM_AdmitStepCheckpoint(benchmark::State& state) {
  Rig rig(kHourMs);
  rig.runtime->Install(0, {});
  std::vector<consumers::OutRecord> out;
  auto sink = rig.Output(&out);
  std::set<int32_t> touched;
  int i = 0;
  int64_t checkpoints = 0;
  for (auto _ : state) {
    out.clear();
    rig.runtime->OnWorkItem(0, Command(i++), false, sink);
    rig.runtime->OnCommitted();
    rig.runtime->Pump(false, sink, &touched);
    while (rig.runtime->running_steps() > 0) rig.runtime->Pump(false, sink, &touched);
    rig.runtime->OnCommitted();
    for (const auto& r : out) checkpoints += r.key.rfind("wf:", 0) == 0;
  }
  state.counters["checkpoints/s"] =
      benchmark::Counter(static_cast<double>(checkpoints), benchmark::Counter::kIsRate);
}

// An approval naming no workflow: REJECTED, the commonest record path of the pipeline benchmark
// (bench/pipeline/), in memory — the seen-id check, routing, the result and its JSON. A batch
// closes every 5,000 items, as runtime.batch_max_records does by default. The ids seen grow with
// the iterations, as they do in a worker.
void BM_WorkItemRejected(benchmark::State& state) {
  Rig rig(kHourMs);
  rig.runtime->Install(0, {});
  std::vector<consumers::OutRecord> out;
  auto sink = rig.Output(&out);
  std::set<int32_t> touched;
  v1::Event e = Command(0);
  e.clear_ecs_command();
  e.mutable_approval()->set_workflow_id("wf-that-does-not-exist");
  e.mutable_approval()->set_approved(true);
  int64_t i = 0;
  for (auto _ : state) {
    e.set_id("fkb" + std::to_string(i) + "t1796454618195000000");
    rig.runtime->OnWorkItem(0, e, false, sink);
    if (++i % 5000 == 0) {
      rig.runtime->EndBatch(sink, &touched);
      rig.runtime->OnCommitted();
      out.clear();
    }
  }
  state.counters["items/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The seen-id set against the node-based map of strings it replaced (the baseline of the same
// run): `range(0)` distinct ids inserted, then each looked up once.
std::vector<std::string> EventIds(int n) {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (int i = 0; i < n; ++i) ids.push_back("fkb" + std::to_string(i) + "t1796454618195000000");
  return ids;
}

// Inserts every id into a fresh Set, then looks each up.
template <typename Set, typename Insert, typename Has>
void InsertThenLookUp(benchmark::State& state, Insert insert, Has has) {
  const auto ids = EventIds(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Set seen;
    for (const auto& id : ids) insert(seen, id);
    size_t hits = 0;
    for (const auto& id : ids) hits += has(seen, id);
    benchmark::DoNotOptimize(hits);
  }
  state.counters["ids/s"] = benchmark::Counter(static_cast<double>(ids.size()) * state.iterations(),
                                               benchmark::Counter::kIsRate);
}

void BM_SeenIds(benchmark::State& state) {
  InsertThenLookUp<SeenIds>(
      state, [](SeenIds& s, const std::string& id) { s.Insert(id, 1); },
      [](const SeenIds& s, const std::string& id) { return s.Contains(id); });
}

void BM_BaselineSeenIdsUnorderedMap(benchmark::State& state) {
  using Map = std::unordered_map<std::string, int64_t>;
  InsertThenLookUp<Map>(
      state, [](Map& m, const std::string& id) { m.try_emplace(id, 1); },
      [](const Map& m, const std::string& id) { return m.count(id) == 1; });
}

BENCHMARK(BM_WorkItemRejected)->Unit(benchmark::kMicrosecond)->Iterations(400000);
BENCHMARK(BM_SeenIds)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BaselineSeenIdsUnorderedMap)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RestoreStatePartition)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PumpWithWaitingWorkflows)->Arg(10000)->Unit(benchmark::kMicrosecond);
// Every admitted workflow stays waiting, and a pump visits every workflow: a fixed iteration
// count keeps the population (and so the per-pump cost) comparable between runs.
BENCHMARK(BM_AdmitStepCheckpoint)->Unit(benchmark::kMicrosecond)->Iterations(5000);

}  // namespace
}  // namespace fleetkeeper::handlers

BENCHMARK_MAIN();
