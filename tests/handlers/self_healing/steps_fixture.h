// The fixture of the self-healing steps' tests: a handler over the fake AWS account, its steps
// run the way the runtime runs them (RunToEnd over a checkpoint, a manual clock).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "handlers/self_healing/handler.h"
#include "tests/handlers/self_healing/events.h"
#include "tests/testing/fake_account.h"
#include "tests/testing/memory_cell_store.h"
#include "tests/testing/step_harness.h"

namespace fleetkeeper::handlers::self_healing::testing {

using handlers::testing::FakeAccount;
using handlers::testing::FakeStepContext;
using handlers::testing::MemoryCellStore;
using handlers::testing::MockCell;
using handlers::testing::RunToEnd;

inline const std::map<std::string, std::string> kWebAsg = {{"AutoScalingGroupName", "web-asg"}};
inline constexpr const char* kTopic = "arn:aws:sns:us-east-1:111122223333:ops";

inline v1::Event ApiAlarm() {
  return AlarmEvent("api-5xx", "ALARM", {{"ClusterName", "prod"}, {"ServiceName", "api"}});
}

class StepsTest : public ::testing::Test {
 protected:
  // Admits `e` and returns its workflow checkpoint (the test fails if it is not admitted).
  v1::WorkflowCheckpoint Admit(const v1::Event& e) {
    SelfHealingHandler handler(config_);
    AdmissionContext ctx{config_, clock_, false, &store_};
    Admission a = handler.Admit(e, ctx);
    EXPECT_EQ(a.kind, Admission::Kind::kWorkflow) << a.reason;
    return a.workflow;
  }
  // `dry_run`: the workflow was admitted dry, as the runtime records it in the checkpoint.
  std::vector<StepOutcome> Run(v1::WorkflowCheckpoint& wf, bool dry_run = false) {
    return RunWith(wf, cell_.clients, dry_run);
  }
  // The same over other clients (the real transport, say).
  std::vector<StepOutcome> RunWith(v1::WorkflowCheckpoint& wf, aws::CellClients& clients,
                                   bool dry_run = false) {
    SelfHealingHandler handler(config_);
    if (dry_run) wf.set_dry_run(true);
    return RunToEnd(handler, wf, clients, clock_, dry_run);
  }
  // A replace_instance workflow for an alarm on i-0solo, run to its end over `clients`.
  std::vector<StepOutcome> ReplaceSoloWith(aws::CellClients& clients) {
    AddRule(config_, "fail", "*StatusCheck*", "replace_instance");
    auto wf = Admit(AlarmEvent("solo-StatusCheckFailed", "ALARM", {{"InstanceId", "i-0solo"}}));
    return RunWith(wf, clients);
  }
  // Runs single steps until `step` is next (not running it).
  void RunUntil(v1::WorkflowCheckpoint& wf, const std::string& step) {
    SelfHealingHandler handler(config_);
    for (int i = 0; i < 50 && wf.step() != step; ++i) {
      FakeStepContext ctx(&wf, &cell_.clients, &clock_);
      StepOutcome o = handler.RunStep(wf.step(), ctx);
      for (const auto& a : o.actions) *wf.add_actions() = a;
      ASSERT_NE(o.kind, StepOutcome::Kind::kFinish) << o.reason;
      wf.set_step(o.next_step);
    }
    ASSERT_EQ(wf.step(), step);
  }
  // Like RunToEnd, and, as the runtime does on the poll thread, hands each outcome to
  // OnStepOutcome with the cell store before it is applied.
  std::vector<StepOutcome> RunWithStore(v1::WorkflowCheckpoint& wf, int max_steps = 200) {
    SelfHealingHandler handler(config_);
    std::vector<StepOutcome> outcomes;
    for (int i = 0; i < max_steps; ++i) {
      FakeStepContext ctx(&wf, &cell_.clients, &clock_);
      StepOutcome o = handler.RunStep(wf.step(), ctx);
      handler.OnStepOutcome(wf.step(), wf, o, store_, clock_.NowMs());
      for (const auto& a : o.actions) *wf.add_actions() = a;
      outcomes.push_back(o);
      if (o.kind == StepOutcome::Kind::kFinish) break;
      if (o.kind == StepOutcome::Kind::kWait) clock_.Advance(o.wait_ms > 0 ? o.wait_ms : 1000);
      wf.set_step(o.next_step);
    }
    return outcomes;
  }
  // Rule "cpu": scale web-asg (desired 2, MaxSize `max_size`) out by one, cooldown 60 s,
  // repeat_while_alarm, with an alarm that stays in ALARM; a breaker of `max_actions` per
  // `within_s`.
  void RepeatingScaleOut(int max_actions, int within_s, int64_t max_size) {
    auto* b = config_.mutable_handlers()->mutable_self_healing()->mutable_circuit_breaker();
    b->set_max_actions(max_actions);
    *b->mutable_within() = Secs(within_s);
    auto* r = AddRule(config_, "cpu", "*HighCPU*", "scale_out");
    r->mutable_action()->set_by(1);
    *r->mutable_cooldown() = Secs(60);
    r->set_repeat_while_alarm(true);
    fleet_.AddGroup("web-asg", 1, 2, max_size);
    fleet_.alarm_states["web-HighCPU"] = "ALARM";
  }
  static const StepOutcome& Final(const std::vector<StepOutcome>& outcomes) {
    return outcomes.back();
  }
  static const v1::Action* FindAction(const v1::WorkflowCheckpoint& wf, const std::string& action,
                                      const std::string& status = "") {
    for (const auto& a : wf.actions()) {
      if (a.action() == action && (status.empty() || a.status() == status)) return &a;
    }
    return nullptr;
  }
  v1::Event Cpu(int n, const std::map<std::string, std::string>& dims = kWebAsg) {
    return AlarmEvent("web-HighCPU", "ALARM", dims,
                      "2024-05-01T10:00:" + std::to_string(10 + n) + ".000+0000");
  }

  v1::WorkerConfig config_ = BaseConfig();
  ManualClock clock_;
  MemoryCellStore store_;
  MockCell cell_;
  FakeAccount fleet_{cell_};
};

}  // namespace fleetkeeper::handlers::self_healing::testing
