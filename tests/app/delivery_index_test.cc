// A failed record's delivery report must name the input whose output it was: that input, and no
// other, goes to the DLQ. The worker's mock-cluster test cannot tell which input a request-level
// produce error hits, so the mapping is checked here.
#include "app/delivery_index.h"

#include <gtest/gtest.h>

namespace fleetkeeper::app {
namespace {

TEST(DeliveryIndex, EachTagFindsItsOwnSource) {
  DeliveryIndex index;
  void* a = index.Add({"fleet.events", 0, 10});
  void* b = index.Add({"fleet.events", 1, 20});
  void* c = index.Add({"fleet.work", 2, 30});
  ASSERT_NE(index.Find(b), nullptr);
  EXPECT_EQ(*index.Find(a), (DeliveryIndex::Source{"fleet.events", 0, 10}));
  EXPECT_EQ(*index.Find(b), (DeliveryIndex::Source{"fleet.events", 1, 20}));
  EXPECT_EQ(*index.Find(c), (DeliveryIndex::Source{"fleet.work", 2, 30}));
  EXPECT_EQ(index.Find(nullptr), nullptr);
}

TEST(DeliveryIndex, ATagFromBeforeClearFindsNothing) {
  DeliveryIndex index;
  void* old = index.Add({"fleet.events", 0, 10});
  index.Clear();
  EXPECT_EQ(index.Find(old), nullptr);
  // The same position in the next batch is a different tag.
  void* next = index.Add({"fleet.events", 3, 40});
  EXPECT_NE(next, old);
  EXPECT_EQ(index.Find(old), nullptr);
  EXPECT_EQ(*index.Find(next), (DeliveryIndex::Source{"fleet.events", 3, 40}));
}

TEST(DeliveryIndex, ARecordNotProducedLeavesNoTag) {
  DeliveryIndex index;
  void* a = index.Add({"fleet.events", 0, 10});
  void* dropped = index.Add({"fleet.events", 0, 11});
  index.DropLast();
  EXPECT_EQ(index.Find(dropped), nullptr);
  void* b = index.Add({"fleet.events", 0, 12});
  EXPECT_EQ(*index.Find(a), (DeliveryIndex::Source{"fleet.events", 0, 10}));
  EXPECT_EQ(*index.Find(b), (DeliveryIndex::Source{"fleet.events", 0, 12}));
}

}  // namespace
}  // namespace fleetkeeper::app
