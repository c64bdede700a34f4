// Instances of one run advancing at once (handlers.patch.parallel_instances): their AWS calls
// overlap, and a read they share is made once. The fakes are not thread-safe, so the turns are
// tested on their own here; the end-to-end tests run whole campaigns at once against moto.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "tests/handlers/patch/patch_fixture.h"

namespace fleetkeeper::handlers::patch {
namespace {

using testing::PatchWorkflow;

class ParallelInstances : public PatchWorkflow {
 protected:
  ParallelInstances() : ctx(&wf, &cell.clients, &clock), tick(ctx, request, plan, state) {
    tick.shared->parallel = true;
  }

  // Runs `lane` on `n` threads, each holding the run's turn, as PatchStep's lanes do.
  void RunLanes(int n, const std::function<void()>& lane) {
    std::vector<std::thread> threads;
    for (int k = 0; k < n; ++k) {
      threads.emplace_back([&] {
        std::lock_guard<std::mutex> turn(tick.shared->turn);
        lane();
      });
    }
    for (auto& thread : threads) thread.join();
  }

  v1::WorkflowCheckpoint wf;
  handlers::testing::FakeStepContext ctx;
  v1::PatchRequest request;
  PatchPlan plan;
  v1::PatchWorkflowState state;
  PatchTick tick;
};

TEST_F(ParallelInstances, CallsOverlapOutsideTheTurn) {
  // Every lane waits inside its call until all four are inside theirs: only possible when a call
  // lets go of the turn.
  constexpr int kLanes = 4;
  std::mutex mu;
  std::condition_variable all_in;
  int inside = 0, most = 0;
  RunLanes(kLanes, [&] {
    tick.Io([&] {
      std::unique_lock<std::mutex> lock(mu);
      most = std::max(most, ++inside);
      all_in.notify_all();
      all_in.wait_for(lock, std::chrono::seconds(10), [&] { return inside == kLanes; });
      return 0;
    });
  });
  EXPECT_EQ(most, kLanes) << "the calls ran one after another";
}

TEST_F(ParallelInstances, ASharedReadIsMadeOnceWhileTheOthersWait) {
  std::atomic<int> reads{0};
  bool have = false;  // under the turn
  int saw_it = 0;     // under the turn
  RunLanes(6, [&] {
    Status s = tick.ShareRead(
        "target-health tg-1", [&] { return have; },
        [&]() -> Status {
          tick.Io([&] {
            ++reads;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return 0;
          });
          have = true;
          return Ok{};
        });
    EXPECT_TRUE(s.ok());
    saw_it += have ? 1 : 0;
  });
  EXPECT_EQ(reads.load(), 1);
  EXPECT_EQ(saw_it, 6) << "a lane went on before the read it waited for was stored";
}

TEST_F(ParallelInstances, AFailedSharedReadIsMadeAgainByTheNextLane) {
  int reads = 0;  // under the turn
  bool have = false;
  RunLanes(3, [&] {
    (void)tick.ShareRead(
        "instance-status", [&] { return have; },
        [&]() -> Status {
          const int attempt = ++reads;
          tick.Io([] { return 0; });
          if (attempt == 1) return Error(ErrorCode::kThrottled, "Throttling");
          have = true;
          return Ok{};
        });
  });
  EXPECT_EQ(reads, 2) << "after the failure one lane reads again, the third finds it";
}

}  // namespace
}  // namespace fleetkeeper::handlers::patch
