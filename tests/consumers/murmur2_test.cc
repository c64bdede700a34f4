// Murmur2Partition against the Java client's own values: every producer of fleet.work (the Java
// client's default partitioner, librdkafka's murmur2_random) must put a cell's key on the same
// partition. The hashes and partitions were computed with kafka-clients 3.9.1, the broker's
// version in the tests (org.apache.kafka.common.utils.Utils#murmur2, partition =
// Utils.toPositive(hash) % count, as its BuiltInPartitioner does for a keyed record). The first
// six keys are the cases of Kafka's own UtilsTest#testMurmur2.
#include <gtest/gtest.h>

#include <string>

#include "consumers/kafka.h"

namespace fleetkeeper::consumers {
namespace {

struct JavaClientVector {
  std::string key;
  int32_t hash;  // Utils.murmur2(key bytes), for the record
  int32_t of_12;
  int32_t of_6;
  int32_t of_1000;
};

const JavaClientVector kVectors[] = {
    {"21", -973932308, 0, 0, 340},
    {"foobar", -790332482, 6, 0, 166},
    {"a-little-bit-long-string", -985981536, 8, 2, 112},
    {"a-little-bit-longer-string", -1486304829, 11, 5, 819},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 5, 5, 677},
    {"abc", 479470107, 3, 3, 107},
    {"111122223333/us-east-1", -2055657916, 4, 4, 732},
    {"444455556666/eu-west-1", 1003032857, 5, 5, 857},
    {"123456789012/ap-southeast-2", 1948223607, 3, 3, 607},
    {"", 275646681, 9, 3, 681},
};

TEST(Murmur2PartitionTest, MatchesTheJavaClientForEveryKeyLengthAndCount) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(Murmur2Partition(v.key, 12), v.of_12) << "key '" << v.key << "'";
    EXPECT_EQ(Murmur2Partition(v.key, 6), v.of_6) << "key '" << v.key << "'";
    EXPECT_EQ(Murmur2Partition(v.key, 1000), v.of_1000) << "key '" << v.key << "'";
    // The positive hash modulo the largest count shows the whole hash but its sign bit.
    EXPECT_EQ(Murmur2Partition(v.key, 0x7fffffff), (v.hash & 0x7fffffff) % 0x7fffffff)
        << "key '" << v.key << "'";
  }
}

}  // namespace
}  // namespace fleetkeeper::consumers
