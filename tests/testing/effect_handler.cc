#include "tests/testing/effect_handler.h"

#include <google/protobuf/wrappers.pb.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

#include "awsclient/http.h"

namespace fleetkeeper::handlers::testing {

EffectHandlerOptions EffectHandlerOptions::FromEnvironment() {
  EffectHandlerOptions o;
  if (const char* v = std::getenv("FK_TEST_EFFECT_URL")) o.url = v;
  if (const char* v = std::getenv("FK_TEST_CRASH_AFTER_EFFECT")) {
    o.crash_after_effect = std::atoi(v);
  }
  // Benchmarks hold thousands of workflows waiting on their timers.
  if (const char* v = std::getenv("FK_TEST_EFFECT_AWAIT_MS")) o.await_wait_ms = std::atoll(v);
  return o;
}

EffectHandler::EffectHandler(EffectHandlerOptions options)
    : options_(std::move(options)), http_(std::make_unique<aws::HttpClient>()) {}

EffectHandler::~EffectHandler() = default;

Admission EffectHandler::Admit(const v1::Event& event, const AdmissionContext& context) {
  if (event.body_case() != v1::Event::kEcsCommand) {
    return Admission::Final(v1::Result::REJECTED, "test_effect admits ecs_command events only");
  }
  // The state is the lock's resource; the type is what a real handler's own message would be.
  google::protobuf::StringValue state;
  state.set_value("test:" + event.ecs_command().cluster());
  Admission a;
  a.kind = Admission::Kind::kWorkflow;
  a.workflow = NewWorkflow(event, kEffectWorkflowKind, std::string(name()), "arm", state,
                           context.clock.NowMs());
  return a;
}

std::vector<std::string> EffectHandler::LockedResources(const v1::WorkflowCheckpoint& wf) const {
  return {"test:" + wf.trigger().ecs_command().cluster()};
}

StepOutcome EffectHandler::RunStep(const std::string& step, StepContext& context) {
  const std::string approval = "approval:" + context.workflow().workflow_id();
  if (step == "arm") return StepOutcome::Wait("await", options_.arm_wait_ms);
  if (step == "await") {
    for (const auto& signal : context.signals()) {
      if (SignalKeyOf(signal) == approval) return StepOutcome::Next("effect");
    }
    return StepOutcome::Wait("effect", options_.await_wait_ms, {approval});
  }
  if (step == "effect") return Effect(context);
  // A step this version does not know (a newer worker wrote it): fail the workflow, never guess.
  return StepOutcome::Finish(v1::Result::FAILED, "test_effect: unknown step " + step);
}

StepOutcome EffectHandler::Effect(StepContext& context) {
  if (options_.url.empty()) {
    return StepOutcome::Finish(v1::Result::FAILED, "test_effect: FK_TEST_EFFECT_URL is not set");
  }
  aws::HttpRequest request;
  request.method = "POST";
  request.url = options_.url;
  request.bypass_proxy = true;
  request.headers.emplace_back("Idempotency-Key", context.IdempotencyToken("effect"));
  request.headers.emplace_back("Content-Type", "text/plain");
  request.body = context.workflow().workflow_id();
  auto response = http_->Send(request);
  const int sent = ++effects_sent_;
  if (options_.crash_after_effect > 0 && sent == options_.crash_after_effect) {
    spdlog::warn("test hook: SIGKILL after effect POST {} of workflow {} (before its checkpoint)",
                 sent, context.workflow().workflow_id());
    std::raise(SIGKILL);
  }
  if (!response.ok() || response->status < 200 || response->status > 299) {
    StepOutcome retry = StepOutcome::Wait("effect", options_.retry_wait_ms);
    retry.retry_same_step = true;
    retry.reason = response.ok() ? "effect answered HTTP " + std::to_string(response->status)
                                 : "effect failed: " + response.error().message;
    return retry;
  }
  return StepOutcome::Finish(v1::Result::SUCCEEDED, "test_effect: effect applied");
}

}  // namespace fleetkeeper::handlers::testing
