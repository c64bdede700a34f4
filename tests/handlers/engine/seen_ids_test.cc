#include "handlers/engine/seen_ids.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace fleetkeeper::handlers {
namespace {

std::string Id(int i) { return "evt-" + std::to_string(i) + "-0b5e2c6e-8f3a-4d17"; }

TEST(SeenIdsTest, InsertOnceThenSeen) {
  SeenIds ids(42);
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_EQ(ids.SeenAt("a"), -1);
  EXPECT_TRUE(ids.Insert("a", 100));
  EXPECT_FALSE(ids.Insert("a", 200));  // the first time is kept
  EXPECT_EQ(ids.SeenAt("a"), 100);
  EXPECT_TRUE(ids.Insert("", 5));  // the empty id is an id like any other
  EXPECT_EQ(ids.SeenAt(""), 5);
  EXPECT_EQ(ids.size(), 2u);
}

TEST(SeenIdsTest, RememberKeepsTheLaterTime) {
  SeenIds ids(42);
  ids.Remember("a", 300);
  ids.Remember("a", 100);
  EXPECT_EQ(ids.SeenAt("a"), 300);
  ids.Remember("a", 400);
  EXPECT_EQ(ids.SeenAt("a"), 400);
  EXPECT_EQ(ids.size(), 1u);
}

TEST(SeenIdsTest, GrowsAndKeepsEveryId) {
  SeenIds ids(7);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(ids.Insert(Id(i), i));
  EXPECT_EQ(ids.size(), 100000u);
  EXPECT_GE(ids.capacity() * 7, ids.size() * 8);  // never fuller than 7/8
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(ids.SeenAt(Id(i)), i) << Id(i);
  EXPECT_FALSE(ids.Contains(Id(100000)));
}

// Erase against a reference map, in a table small enough that probe runs are long and wrap
// around its end: an erase that broke a run would lose an id still there.
TEST(SeenIdsTest, RandomInsertEraseMatchesAMap) {
  SeenIds ids(3);
  std::map<std::string, int64_t> want;
  std::mt19937 rng(11);
  for (int step = 0; step < 200000; ++step) {
    const std::string id = Id(static_cast<int>(rng() % 900));  // fills about 7/8 of 1024 slots
    if (rng() % 3 == 0) {
      ASSERT_EQ(ids.Erase(id), want.erase(id) == 1) << id;
    } else {
      ASSERT_EQ(ids.Insert(id, step), want.emplace(id, step).second) << id;
    }
    ASSERT_EQ(ids.size(), want.size());
  }
  for (int i = 0; i < 900; ++i) {
    auto it = want.find(Id(i));
    ASSERT_EQ(ids.SeenAt(Id(i)), it == want.end() ? -1 : it->second) << Id(i);
  }
}

TEST(SeenIdsTest, EraseIfDropsExpiredAndShrinks) {
  SeenIds ids(9);
  for (int i = 0; i < 50000; ++i) ids.Insert(Id(i), i);
  const size_t grown = ids.capacity();
  EXPECT_EQ(ids.EraseIf([](int64_t at) { return at < 49900; }), 49900u);
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_LT(ids.capacity(), grown);
  for (int i = 0; i < 50000; ++i) ASSERT_EQ(ids.Contains(Id(i)), i >= 49900) << Id(i);
  EXPECT_TRUE(ids.Insert(Id(1), 1));  // gone ids can be seen again
  EXPECT_EQ(ids.EraseIf([](int64_t) { return false; }), 0u);
  EXPECT_EQ(ids.size(), 101u);
}

}  // namespace
}  // namespace fleetkeeper::handlers
