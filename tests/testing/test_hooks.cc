#include "tests/testing/test_hooks.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tests/testing/effect_handler.h"

namespace fleetkeeper::app {
namespace {

int64_t EnvNumber(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? 0 : std::atoll(v);
}

}  // namespace

EnvironmentFaults EnvironmentFaults::FromEnvironment() {
  EnvironmentFaults f;
  f.crash_before_commit_batch_ = EnvNumber("FK_TEST_CRASH_BEFORE_COMMIT");
  f.abort_batch_ = EnvNumber("FK_TEST_ABORT_BATCH");
  f.slow_commit_batch_ = EnvNumber("FK_TEST_SLOW_COMMIT_BATCH");
  f.hold_before_commit_batch_ = EnvNumber("FK_TEST_HOLD_BEFORE_COMMIT");
  return f;
}

std::optional<std::string> EnvironmentFaults::BeforeOffsets(int64_t batch_no) {
  if (slow_commit_batch_ > 0 && batch_no == slow_commit_batch_) {
    slow_commit_batch_ = 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (abort_batch_ > 0 && batch_no == abort_batch_) {
    abort_batch_ = 0;
    return "injected abortable error (test hook)";
  }
  return std::nullopt;
}

void EnvironmentFaults::BeforeCommit(int64_t batch_no) {
  if (crash_before_commit_batch_ > 0 && batch_no == crash_before_commit_batch_) {
    spdlog::warn("test hook: SIGKILL between send_offsets_to_transaction and commit_transaction");
    std::raise(SIGKILL);
  }
  if (hold_before_commit_batch_ > 0 && batch_no == hold_before_commit_batch_) {
    hold_before_commit_batch_ = 0;
    spdlog::warn(
        "test hook: batch {} holds 5 s between send_offsets_to_transaction and "
        "commit_transaction",
        batch_no);
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
}

RunHooks HooksFromEnvironment(EnvironmentFaults* faults) {
  RunHooks hooks;
  *faults = EnvironmentFaults::FromEnvironment();
  hooks.commit_faults = faults;
  hooks.linger_after_fence_ms = static_cast<int>(EnvNumber("FK_TEST_LINGER_AFTER_FENCE_MS"));
  const char* test = std::getenv("FK_TEST_HANDLERS");
  if (test != nullptr && std::strstr(test, "effect") != nullptr) {
    hooks.handler_overrides = [test = std::string(test)] {
      // The durability tests' handler (tests/testing/effect_handler.h): never in production.
      spdlog::critical(
          "TEST-ONLY handler active (FK_TEST_HANDLERS={}): ecs_command events go to "
          "test_effect, which POSTs to FK_TEST_EFFECT_URL instead of calling ECS",
          test);
      std::vector<std::pair<handlers::EventKind, std::unique_ptr<handlers::Handler>>> overrides;
      overrides.emplace_back(v1::Event::kEcsCommand,
                             std::make_unique<handlers::testing::EffectHandler>(
                                 handlers::testing::EffectHandlerOptions::FromEnvironment()));
      return overrides;
    };
  }
  return hooks;
}

}  // namespace fleetkeeper::app
