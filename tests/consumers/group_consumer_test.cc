// The worker's group member on the embedded broker (librdkafka's mock cluster): the rebalance is
// handed to the owner, and Rewind reads a partition again from its committed offset. Rebalances
// between workers and fencing are in tests/consumers/pipeline_mock_test.cc and tests/integration.
#include "consumers/group_consumer.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "tests/consumers/embedded_broker_fixture.h"

namespace fleetkeeper::consumers {
namespace {

class GroupConsumerTest : public testing::EmbeddedBrokerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker(2));
    auto producer = NewClient(ClientRole::kProducer,
                              {{"bootstrap.servers", broker_->bootstrap()}, {"log_level", "3"}}, {},
                              "producer");
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    producer_ = std::move(*producer);
    GroupConsumer::Hooks hooks;
    hooks.on_rebalance = [this](const GroupConsumer::Change& change) {
      changes_.push_back(change);
    };
    auto consumer = GroupConsumer::Create(
        PropertiesFor(ClientRole::kGroupConsumer, {{"bootstrap.servers", broker_->bootstrap()},
                                                   {"group.id", "group-test"},
                                                   {"auto.offset.reset", "earliest"},
                                                   {"enable.auto.commit", "false"},
                                                   {"log_level", "3"}}),
        {plan_.work}, std::move(hooks));
    ASSERT_TRUE(consumer.ok()) << consumer.error().message;
    consumer_ = std::move(*consumer);
  }
  void TearDown() override {
    if (consumer_) consumer_->Close(true);
    consumer_.reset();
    producer_.reset();
    broker_.reset();
  }
  void Put(int32_t partition, const std::string& value) {
    ASSERT_EQ(rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(plan_.work.c_str()),
                                RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // The offset of the next record of `partition` that Poll returns, or -1 within 20 s.
  int64_t NextOffset(int32_t partition) {
    for (int i = 0; i < 200; ++i) {
      KafkaMessagePtr m = consumer_->Poll(100);
      if (!m) continue;
      if (m->err) {
        EXPECT_EQ(consumer_->Fatal(m.get()), std::nullopt);
        continue;
      }
      if (m->partition == partition) return m->offset;
    }
    return -1;
  }

  KafkaPtr producer_;
  std::unique_ptr<GroupConsumer> consumer_;
  std::vector<GroupConsumer::Change> changes_;
};

TEST_F(GroupConsumerTest, TheAssignmentIsHandedToTheOwner) {
  Put(0, "a");
  ASSERT_EQ(NextOffset(0), 0);
  ASSERT_FALSE(changes_.empty());
  EXPECT_TRUE(changes_[0].assigned);
  std::set<GroupConsumer::PartitionKey> assigned(changes_[0].partitions.begin(),
                                                 changes_[0].partitions.end());
  EXPECT_EQ(assigned, (std::set<GroupConsumer::PartitionKey>{{"work", 0}, {"work", 1}}));
}

TEST_F(GroupConsumerTest, RewindReadsAgainFromTheCommittedOffset) {
  Put(1, "a");
  Put(1, "b");
  Put(1, "c");
  ASSERT_EQ(NextOffset(1), 0);
  ASSERT_EQ(consumer_->Commit({{{"work", 1}, 1}}), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(NextOffset(1), 1);
  ASSERT_EQ(NextOffset(1), 2);
  ASSERT_TRUE(consumer_->Rewind({{"work", 1}}).ok());
  EXPECT_EQ(NextOffset(1), 1) << "not read again from the committed offset";
}

}  // namespace
}  // namespace fleetkeeper::consumers
