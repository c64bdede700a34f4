// TEST-ONLY. A workflow handler that exists for the durability tests of the workflow runtime
// (tests/integration/test_workflows.py) and nothing else: it never touches AWS. Only the test
// executable `fleetkeeper-test` (tests/testing/test_hooks.h) installs it, when the environment
// variable FK_TEST_HANDLERS contains "effect", and then says so loudly.
//
// It admits every `ecs_command` event (any action) as a workflow of three steps:
//   "arm"    → wait 300 ms (a timer);
//   "await"  → wait for the signal "approval:<workflow id>" or 1.5 s, whichever comes first;
//   "effect" → HTTP POST to FK_TEST_EFFECT_URL with header `Idempotency-Key` =
//              IdempotencyToken("effect") and the workflow id as the body; a non-2xx answer or a
//              transport error retries the step (attempt + 1, so a new key) after a short wait;
//              then the workflow finishes SUCCEEDED.
// Only "effect" mutates (a freeze holds it); the workflow locks "test:<ecs cluster>".
//
// Crash hook: FK_TEST_CRASH_AFTER_EFFECT=N SIGKILLs the process after the Nth effect POST of this
// process returned, i.e. between a step's effect and the commit of its checkpoint.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/workflow.h"

namespace fleetkeeper::aws {
class HttpClient;
}

namespace fleetkeeper::handlers::testing {

inline constexpr char kEffectHandlerName[] = "test_effect";
inline constexpr char kEffectWorkflowKind[] = "test-effect";

struct EffectHandlerOptions {
  std::string url;             // where effects go; empty: every effect step fails the workflow
  int crash_after_effect = 0;  // 0: never
  int64_t arm_wait_ms = 300;
  int64_t await_wait_ms = 1500;
  int64_t retry_wait_ms = 500;
  // From FK_TEST_EFFECT_URL, FK_TEST_CRASH_AFTER_EFFECT and FK_TEST_EFFECT_AWAIT_MS.
  static EffectHandlerOptions FromEnvironment();
};

class EffectHandler final : public WorkflowHandler {
 public:
  explicit EffectHandler(EffectHandlerOptions options);
  ~EffectHandler() override;

  std::string_view name() const override { return kEffectHandlerName; }
  Admission Admit(const v1::Event& event, const AdmissionContext& context) override;
  StepOutcome RunStep(const std::string& step, StepContext& context) override;
  bool StepMutates(const std::string& step) const override { return step == "effect"; }
  std::vector<std::string> LockedResources(const v1::WorkflowCheckpoint& wf) const override;

  // Effect POSTs that returned (any status), in this process.
  int effects_sent() const { return effects_sent_.load(); }

 private:
  StepOutcome Effect(StepContext& context);

  EffectHandlerOptions options_;
  std::unique_ptr<aws::HttpClient> http_;
  std::atomic<int> effects_sent_{0};
};

}  // namespace fleetkeeper::handlers::testing
