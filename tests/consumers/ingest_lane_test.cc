// The ingest lane takes hop 1 off the poll thread; the batch relies on three things from it:
// items are processed in the order they were pushed (a cell's work items keep their order),
// Drain returns only once every pushed item is processed (a commit carries all of its batch's
// outputs), and a full queue holds the pusher back instead of growing.
#include "consumers/ingest_lane.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace fleetkeeper::consumers {
namespace {

using Item = std::unique_ptr<int>;

TEST(Lane, ProcessesInPushOrderAndDrainWaitsForTheLast) {
  std::vector<int> seen;  // written by the lane only; read after Drain
  Lane<Item> lane("test-lane", [&](Item& item) {
    if (*item % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    seen.push_back(*item);
  });
  constexpr int kItems = 20000;
  for (int i = 0; i < kItems; ++i) lane.Push(std::make_unique<int>(i));
  lane.Drain();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], i);
  // A second round after a drain.
  lane.Push(std::make_unique<int>(kItems));
  lane.Drain();
  EXPECT_EQ(seen.back(), kItems);
}

TEST(Lane, AFullQueueHoldsThePusherBack) {
  std::atomic<bool> release{false};
  std::atomic<int> processed{0};
  Lane<Item> lane(
      "test-lane",
      [&](Item&) {
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++processed;
      },
      /*max_queued=*/4);
  std::atomic<int> pushed{0};
  std::thread pusher([&] {
    for (int i = 0; i < 20; ++i) {
      lane.Push(std::make_unique<int>(i));
      ++pushed;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // At most four in the lane's hand (it takes the queue whole; the first blocks), four queued,
  // and the pusher waiting for room.
  EXPECT_LE(pushed.load(), 8);
  EXPECT_EQ(processed.load(), 0);
  release = true;
  pusher.join();
  lane.Drain();
  EXPECT_EQ(processed.load(), 20);
}

TEST(Lane, ItemsAreDestroyedOnceProcessedAndDroppedAtDestruction) {
  auto alive = std::make_shared<int>(0);
  struct Counted {
    std::shared_ptr<int> n;
    Counted() = default;
    explicit Counted(std::shared_ptr<int> c) : n(std::move(c)) { ++*n; }
    Counted(Counted&&) = default;
    Counted& operator=(Counted&& o) noexcept {
      if (n) --*n;
      n = std::move(o.n);
      return *this;
    }
    ~Counted() {
      if (n) --*n;
    }
  };
  {
    Lane<Counted> lane("test-lane", [](Counted&) {});
    for (int i = 0; i < 100; ++i) lane.Push(Counted(alive));
    lane.Drain();
    EXPECT_EQ(*alive, 0) << "each item is released right after it is processed";
    for (int i = 0; i < 10; ++i) lane.Push(Counted(alive));
  }
  EXPECT_EQ(*alive, 0) << "nothing left behind at destruction";
}

}  // namespace
}  // namespace fleetkeeper::consumers
