// freeze / unfreeze records: what a worker reads back from the control topic, on librdkafka's
// in-process mock cluster (the real-broker path is in tests/integration/test_commands.py).
#include "app/control.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/raii_kafka.h"
#include "consumers/kafka.h"
#include "tests/testing/mock_cluster.h"

namespace fleetkeeper::app {
namespace {

TEST(ControlRecord, SaysWhoWhenAndWhy) {
  auto r = MakeControlRecord(true, "incident 42", "alice@ops-1", 1767225600123);
  EXPECT_TRUE(r.frozen());
  EXPECT_EQ(r.reason(), "incident 42");
  EXPECT_EQ(r.by(), "alice@ops-1");
  EXPECT_EQ(r.at(), "2026-01-01T00:00:00.123Z");
}

TEST(ControlRecord, NoBrokerIsAClearErrorNotAnEmbeddedOne) {
  v1::WorkerConfig config;
  auto w = WriteControlRecord(config, MakeControlRecord(true, "x", "a@b", 0), 1000);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(w.error().message.find("kafka.bootstrap.servers is not set"), std::string::npos);
}

class ControlOnMockCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.ok());
    (*config_.mutable_kafka())["bootstrap.servers"] = cluster_.bootstrap();
    config_.mutable_topics()->set_control("ops.control");
  }

  // Every record of partition 0 of `topic`, as a worker's control reader sees it.
  std::vector<v1::ControlRecord> ReadBack(const std::string& topic, size_t want) {
    auto conf = consumers::MakeKafkaConf(
        {{"bootstrap.servers", cluster_.bootstrap()}, {"group.id", "control-test"}});
    EXPECT_TRUE(conf.ok());
    char errstr[256];
    KafkaPtr c(rd_kafka_new(RD_KAFKA_CONSUMER, conf->release(), errstr, sizeof(errstr)));
    KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(tp.get(), topic.c_str(), 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c.get(), tp.get());
    std::vector<v1::ControlRecord> out;
    for (int i = 0; i < 100 && out.size() < want; ++i) {
      KafkaMessagePtr m(rd_kafka_consumer_poll(c.get(), 100));
      if (!m || m->err) continue;
      EXPECT_EQ(std::string(static_cast<const char*>(m->key), m->key_len), "freeze");
      EXPECT_EQ(consumers::FindHeader(m.get(), "fk-type").value_or(""),
                "fleetkeeper.v1.ControlRecord");
      v1::ControlRecord r;
      EXPECT_TRUE(r.ParseFromArray(m->payload, static_cast<int>(m->len)));
      out.push_back(r);
    }
    rd_kafka_consumer_close(c.get());
    return out;
  }

  fleetkeeper::testing::MockCluster cluster_;
  v1::WorkerConfig config_;
};

TEST_F(ControlOnMockCluster, FreezeThenUnfreezeAreReadBackInOrder) {
  ASSERT_EQ(cluster_.CreateTopic("ops.control", 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto first =
      WriteControlRecord(config_, MakeControlRecord(true, "deploy freeze", "a@h", 0), 10000);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto second = WriteControlRecord(config_, MakeControlRecord(false, "", "a@h", 1000), 10000);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(first->topic, "ops.control");
  EXPECT_EQ(first->partition, 0);
  EXPECT_LT(first->offset, second->offset);
  auto records = ReadBack("ops.control", 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0].frozen());
  EXPECT_EQ(records[0].reason(), "deploy freeze");
  EXPECT_FALSE(records[1].frozen());
}

TEST_F(ControlOnMockCluster, MissingTopicIsNamed) {
  auto w = WriteControlRecord(config_, MakeControlRecord(true, "x", "a@h", 0), 5000);
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("topic ops.control is missing"), std::string::npos)
      << w.error().message;
}

}  // namespace
}  // namespace fleetkeeper::app
