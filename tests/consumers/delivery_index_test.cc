// A failed record's delivery report must name the input whose output it was: that input, and no
// other, goes to the DLQ. The worker's mock-cluster test cannot tell which input a request-level
// produce error hits, so the mapping is checked here.
#include "consumers/delivery_index.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace fleetkeeper::consumers {
namespace {

TEST(DeliveryIndex, EachTagFindsItsOwnSource) {
  DeliveryIndex index;
  void* a = index.Add("fleet.events", 0, 10);
  void* b = index.Add("fleet.events", 1, 20);
  void* c = index.Add("fleet.work", 2, 30);
  ASSERT_TRUE(index.Find(b).has_value());
  EXPECT_EQ(*index.Find(a), (DeliveryIndex::Source{"fleet.events", 0, 10}));
  EXPECT_EQ(*index.Find(b), (DeliveryIndex::Source{"fleet.events", 1, 20}));
  EXPECT_EQ(*index.Find(c), (DeliveryIndex::Source{"fleet.work", 2, 30}));
  EXPECT_FALSE(index.Find(nullptr).has_value());
}

TEST(DeliveryIndex, ATagFromBeforeClearFindsNothing) {
  DeliveryIndex index;
  void* old = index.Add("fleet.events", 0, 10);
  index.Clear();
  EXPECT_FALSE(index.Find(old).has_value());
  // The same position in the next batch is a different tag.
  void* next = index.Add("fleet.events", 3, 40);
  EXPECT_NE(next, old);
  EXPECT_FALSE(index.Find(old).has_value());
  EXPECT_EQ(*index.Find(next), (DeliveryIndex::Source{"fleet.events", 3, 40}));
}

TEST(DeliveryIndex, ARecordNotProducedLeavesNoTag) {
  DeliveryIndex index;
  void* a = index.Add("fleet.events", 0, 10);
  void* dropped = index.Add("fleet.events", 0, 11);
  void* b = index.Add("fleet.events", 0, 12);  // added by another thread in between
  index.Drop(dropped);
  EXPECT_FALSE(index.Find(dropped).has_value());
  EXPECT_EQ(*index.Find(a), (DeliveryIndex::Source{"fleet.events", 0, 10}));
  EXPECT_EQ(*index.Find(b), (DeliveryIndex::Source{"fleet.events", 0, 12}));
}

TEST(DeliveryIndex, TagsAddedFromTwoThreadsEachFindTheirOwnSource) {
  DeliveryIndex index;
  constexpr int kEach = 20000;
  std::vector<void*> tags[2];
  auto add = [&](int lane) {
    for (int i = 0; i < kEach; ++i) {
      tags[lane].push_back(index.Add(lane == 0 ? "fleet.events" : "fleet.work", lane, i));
    }
  };
  std::thread other(add, 1);
  add(0);
  other.join();
  for (int lane = 0; lane < 2; ++lane) {
    for (int i = 0; i < kEach; ++i) {
      auto found = index.Find(tags[lane][static_cast<size_t>(i)]);
      ASSERT_TRUE(found.has_value());
      EXPECT_EQ(std::get<1>(*found), lane);
      EXPECT_EQ(std::get<2>(*found), i);
    }
  }
}

}  // namespace
}  // namespace fleetkeeper::consumers
