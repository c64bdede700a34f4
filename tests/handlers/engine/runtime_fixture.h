// A workflow runtime driven the way the worker drives it, without Kafka: OnWorkItem / Pump build a
// batch, Commit() or Abort() ends it. Committed fleet.state records are kept per partition, in
// offset order, so that a test can Install them into a fresh runtime as a restore would. Steps run
// on a real two-thread executor; time is a ManualClock that tests advance only while no step runs.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/wrappers.pb.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "awsclient/clients.h"
#include "common/clock.h"
#include "common/executor.h"
#include "consumers/runtime_records.h"
#include "handlers/engine/dispatcher.h"
#include "handlers/engine/runtime.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers::testing {

// What one step run saw.
struct StepRun {
  std::string workflow_id;
  std::string step;
  uint32_t attempt = 0;
  size_t signals = 0;
  std::string token;
  bool dry_run = false;
};

// A workflow handler whose steps are scripted by the test. Admits ecs_command events; a workflow
// locks "asg:<cluster>". Steps without a script finish SUCCEEDED. Thread-safe.
class ScriptedHandler final : public WorkflowHandler {
 public:
  using Script = std::function<StepOutcome(StepContext&)>;

  std::string_view name() const override { return "scripted"; }

  Admission Admit(const v1::Event& event, const AdmissionContext& context) override {
    google::protobuf::StringValue state;
    state.set_value(event.ecs_command().cluster());
    Admission a;
    a.kind = Admission::Kind::kWorkflow;
    a.workflow =
        NewWorkflow(event, "scripted", "scripted", first_step, state, context.clock.NowMs());
    return a;
  }

  StepOutcome RunStep(const std::string& step, StepContext& context) override {
    Script script;
    const std::string resource = "asg:" + context.workflow().trigger().ecs_command().cluster();
    {
      std::lock_guard<std::mutex> lock(mu_);
      runs_.push_back({context.workflow().workflow_id(), step, context.workflow().attempt(),
                       context.signals().size(), context.IdempotencyToken("x"), context.dry_run()});
      auto it = scripts_.find(step);
      if (it != scripts_.end()) script = it->second;
      if (StepMutates(step)) {
        const int now = ++active_[resource];
        max_active_[resource] = std::max(max_active_[resource], now);
      }
    }
    StepOutcome out =
        script ? script(context) : StepOutcome::Finish(v1::Result::SUCCEEDED, "scripted: done");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (StepMutates(step)) --active_[resource];
    }
    return out;
  }

  bool StepMutates(const std::string& step) const override { return mutating.count(step) > 0; }
  bool ExemptFromFreeze() const override { return exempt_from_freeze; }
  std::string CancelStep() const override { return cancel_step; }

  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override {
    return {"asg:" + wf.trigger().ecs_command().cluster()};
  }
  std::vector<std::string> PausingResources(const v1::WorkflowCheckpoint& wf) const override {
    std::vector<std::string> out = LockedResources(wf);
    out.insert(out.end(), also_paused_by.begin(), also_paused_by.end());
    return out;
  }

  std::vector<v1::WorkflowCheckpoint> TimedWorkflows(int64_t now_ms) const override {
    return timed ? timed(now_ms) : std::vector<v1::WorkflowCheckpoint>{};
  }

  void On(const std::string& step, Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    scripts_[step] = std::move(script);
  }
  std::vector<StepRun> runs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return runs_;
  }
  int max_active(const std::string& resource) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = max_active_.find(resource);
    return it == max_active_.end() ? 0 : it->second;
  }

  std::string first_step = "first";
  std::set<std::string> mutating;
  bool exempt_from_freeze = false;
  std::string cancel_step;
  // Resources besides its lock whose guard alarms pause a workflow (as a patch's target groups).
  std::vector<std::string> also_paused_by;
  // What TimedWorkflows answers (set before the first pump).
  std::function<std::vector<v1::WorkflowCheckpoint>(int64_t)> timed;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Script> scripts_;
  std::vector<StepRun> runs_;
  std::map<std::string, int> active_;
  std::map<std::string, int> max_active_;
};

// A step blocks in Wait() until the test calls Release().
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

class EmptyCellProvider final : public aws::ClientProvider {
 public:
  Result<aws::CellClients*> For(const std::string&, const std::string&,
                                const std::string&) override {
    return &cell_;
  }

 private:
  aws::CellClients cell_;
};

inline constexpr char kStateTopic[] = "state";
inline constexpr char kResultsTopic[] = "results";
inline constexpr char kWorkTopic[] = "work";

// The topics the pipeline's records go to (consumers/runtime_records.h), results as protobuf.
inline const std::string& StateTopic() {
  static const std::string topic = kStateTopic;
  return topic;
}
inline const consumers::OutputTopics& OutTopics() {
  static const consumers::OutputTopics topics = [] {
    consumers::OutputTopics t;
    t.results = kResultsTopic;
    t.work = kWorkTopic;
    t.result_format = consumers::ResultFormat::kProtobuf;
    return t;
  }();
  return topics;
}

// One batch's records, sorted by what they are.
struct Batch {
  std::vector<consumers::OutRecord> records;

  // The runtime's outputs, as the pipeline turns them into this batch's records.
  consumers::RuntimeRecords Output() { return {StateTopic(), OutTopics(), &records}; }

  // The records of `topic`, parsed as M, in order.
  template <typename M>
  std::vector<M> Parsed(const std::string& topic) const {
    std::vector<M> out;
    for (const auto& r : records) {
      if (r.topic != topic) continue;
      M m;
      EXPECT_TRUE(m.ParseFromString(*r.value));
      out.push_back(std::move(m));
    }
    return out;
  }
  std::vector<v1::Result> Results() const { return Parsed<v1::Result>(kResultsTopic); }
  std::vector<v1::Result> Results(v1::Result::Status status) const {
    std::vector<v1::Result> out;
    for (auto& r : Results()) {
      if (r.status() == status) out.push_back(r);
    }
    return out;
  }
  // The work items the runtime produced for fleet.work (a fan-out's), in order.
  std::vector<v1::Event> WorkItems() const { return Parsed<v1::Event>(kWorkTopic); }
  std::vector<v1::WorkflowCheckpoint> Checkpoints() const {
    std::vector<v1::WorkflowCheckpoint> out;
    for (const auto& r : records) {
      if (r.topic != kStateTopic || r.key.rfind("wf:", 0) != 0 || !r.value) continue;
      v1::StateRecord sr;
      EXPECT_TRUE(sr.ParseFromString(*r.value));
      out.push_back(sr.workflow());
    }
    return out;
  }
  std::vector<std::string> Tombstones() const {
    std::vector<std::string> out;
    for (const auto& r : records) {
      if (r.topic == kStateTopic && !r.value) out.push_back(r.key);
    }
    return out;
  }
  std::set<std::string> StateKeys() const {
    std::set<std::string> out;
    for (const auto& r : records) {
      if (r.topic == kStateTopic) out.insert(r.key);
    }
    return out;
  }
  void Append(const Batch& other) {
    records.insert(records.end(), other.records.begin(), other.records.end());
  }
};

inline v1::Event EcsCommand(const std::string& request_id, const std::string& cluster,
                            const std::string& account = "111122223333",
                            const std::string& region = "us-east-1") {
  v1::Event e;
  e.set_id(request_id);
  e.set_dedup_key("ecs:" + request_id);
  e.set_account(account);
  e.set_region(region);
  e.set_source_format("native");
  auto* c = e.mutable_ecs_command();
  c->set_request_id(request_id);
  c->set_account(account);
  c->set_region(region);
  c->set_action("restart");
  c->set_cluster(cluster);
  e.mutable_source()->set_topic("commands");
  e.mutable_source()->set_offset(static_cast<int64_t>(std::hash<std::string>{}(request_id) % 997));
  return e;
}

inline v1::Event ApprovalFor(const std::string& workflow_id) {
  v1::Event e;
  e.set_id("approval:" + workflow_id + ":alice");
  e.set_dedup_key(e.id());
  e.set_account(workflow_id.substr(0, workflow_id.find('/')));
  e.mutable_approval()->set_workflow_id(workflow_id);
  e.mutable_approval()->set_approver("alice");
  return e;
}

inline v1::Event CancelFor(const std::string& workflow_id, const std::string& reason) {
  v1::Event e;
  e.set_id("cancel:" + workflow_id);
  e.set_dedup_key(e.id());
  e.mutable_cancel()->set_workflow_id(workflow_id);
  e.mutable_cancel()->set_reason(reason);
  return e;
}

// An alarm state change of "web-5xx" in the default cell at `time` (also its state time).
inline v1::Event AlarmAt(const std::string& id, const std::string& time, const std::string& state) {
  v1::Event e;
  e.set_id(id);
  e.set_dedup_key("alarm:web-5xx:" + state + ":" + time);
  e.set_account("111122223333");
  e.set_region("us-east-1");
  e.set_time(time);
  e.mutable_alarm()->set_alarm_name("web-5xx");
  e.mutable_alarm()->set_alarm_arn("arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-5xx");
  e.mutable_alarm()->set_state(state);
  e.mutable_alarm()->set_state_time(time);
  return e;
}

// The id the scripted handler gives the workflow that `e` starts.
inline std::string IdOf(const v1::Event& e) {
  return WorkflowId(e.account(), e.region(), "scripted", e.dedup_key());
}

// How many times the scripted handler ran `step`.
inline size_t RunsOf(const ScriptedHandler& h, const std::string& step) {
  auto runs = h.runs();
  return std::count_if(runs.begin(), runs.end(), [&](const StepRun& r) { return r.step == step; });
}

class RuntimeRig {
 public:
  // The scripted handler takes events of `kind` (ecs_command by default).
  explicit RuntimeRig(RuntimeOptions options = DefaultOptions(),
                      EventKind kind = v1::Event::kEcsCommand)
      : options_(std::move(options)) {
    auto handler = std::make_unique<ScriptedHandler>();
    handler_ = handler.get();
    std::vector<std::pair<EventKind, std::unique_ptr<Handler>>> overrides;
    overrides.emplace_back(kind, std::move(handler));
    dispatcher_ = std::make_unique<Dispatcher>(config_, clock_, std::move(overrides));
    runtime_ = std::make_unique<WorkflowRuntime>(config_, options_, *dispatcher_, &provider_,
                                                 executor_, clock_);
  }
  ~RuntimeRig() {
    // Steps still running must not outlive the runtime they report to.
    for (int i = 0; i < 5000 && runtime_->running_steps() > 0; ++i) {
      Batch ignored;
      auto out = ignored.Output();
      std::set<int32_t> touched;
      runtime_->Pump(false, out, &touched);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  static RuntimeOptions DefaultOptions() { return RuntimeOptions{}; }

  // A fresh partition (nothing in fleet.state).
  void Own(int32_t partition) { runtime_->Install(partition, {}); }

  Batch Consume(int32_t partition, const v1::Event& event, bool frozen = false) {
    Batch b;
    auto out = b.Output();
    runtime_->OnWorkItem(partition, event, frozen, out);
    open_.Append(b);
    return b;
  }

  // Pumps until every step started has completed and been applied (what a few poll loops of the
  // worker do), without committing.
  Batch Settle(bool frozen = false) {
    Batch b;
    auto out = b.Output();
    for (int i = 0; i < 5000; ++i) {
      std::set<int32_t> touched;
      runtime_->Pump(frozen, out, &touched);
      touched_.insert(touched.begin(), touched.end());
      if (runtime_->running_steps() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(runtime_->running_steps(), 0u) << "a step did not finish";
    open_.Append(b);
    return b;
  }

  // Pump once without waiting for the steps it starts.
  Batch PumpOnce(bool frozen = false) {
    Batch b;
    auto out = b.Output();
    std::set<int32_t> touched;
    runtime_->Pump(frozen, out, &touched);
    touched_.insert(touched.begin(), touched.end());
    open_.Append(b);
    return b;
  }

  // The open batch commits: its state records join fleet.state.
  void Commit() {
    Batch seen;  // the batch's event ids, written as the worker writes them before it commits
    auto out = seen.Output();
    std::set<int32_t> touched;
    runtime_->EndBatch(out, &touched);
    open_.Append(seen);
    for (const auto& r : open_.records) {
      if (r.topic == kStateTopic) state_[r.partition].emplace_back(r.key, r.value.value_or(""));
    }
    committed_.Append(open_);
    open_ = Batch{};
    touched_.clear();
    runtime_->OnCommitted();
  }
  // Settle, then commit: one full turn of the worker loop.
  Batch Turn(bool frozen = false) {
    Batch b = Settle(frozen);
    Commit();
    return b;
  }
  std::vector<int32_t> Abort() {
    open_ = Batch{};
    touched_.clear();
    return runtime_->OnAborted();
  }

  // Rebuild partition p from what fleet.state holds, as a restore does.
  void Restore(int32_t partition) { runtime_->Install(partition, state_[partition]); }

  WorkflowRuntime& runtime() { return *runtime_; }
  // The worker's config, read by the runtime at each use (the safety guards' sections).
  v1::WorkerConfig& config() { return config_; }
  ScriptedHandler& handler() { return *handler_; }
  ManualClock& clock() { return clock_; }
  const Batch& committed() const { return committed_; }
  const std::vector<std::pair<std::string, std::string>>& state(int32_t p) { return state_[p]; }
  void set_state(int32_t p, std::vector<std::pair<std::string, std::string>> records) {
    state_[p] = std::move(records);
  }

 private:
  RuntimeOptions options_;
  v1::WorkerConfig config_;
  ManualClock clock_;
  ScriptedHandler* handler_ = nullptr;
  std::unique_ptr<Dispatcher> dispatcher_;
  EmptyCellProvider provider_;
  std::unique_ptr<WorkflowRuntime> runtime_;
  // Declared after the runtime so that it is destroyed first: it joins its threads while the
  // runtime they report to still exists.
  Executor executor_{2};
  Batch open_;
  Batch committed_;
  std::set<int32_t> touched_;
  std::map<int32_t, std::vector<std::pair<std::string, std::string>>> state_;
};

}  // namespace fleetkeeper::handlers::testing
