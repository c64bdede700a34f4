// The pipeline's Kafka pieces on librdkafka's in-process mock cluster (the embedded broker): the
// property filter by role, client creation, the control log and reading fleet.state back. The
// real-broker paths are in tests/integration (test_commands.py, test_pipeline.py).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "consumers/control_log.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/state_restore.h"
#include "consumers/topics.h"
#include "consumers/transaction.h"
#include "tests/consumers/embedded_broker_fixture.h"

namespace fleetkeeper::consumers {
namespace {

const KafkaProperties kEverything = {
    {"bootstrap.servers", "broker:9092"},
    {"client.id", "fk"},
    {"transactional.id", "fk-1"},
    {"transaction.timeout.ms", "60000"},
    {"enable.idempotence", "true"},
    {"linger.ms", "5"},
    {"acks", "all"},
    {"group.id", "fleetkeeper"},
    {"partition.assignment.strategy", "range"},
    {"session.timeout.ms", "10000"},
    {"group.instance.id", "host-1"},
    {"auto.offset.reset", "latest"},
    {"queued.min.messages", "1000"},
};

bool Has(const KafkaProperties& props, const std::string& name) { return props.count(name) > 0; }

TEST(PropertiesFor, EveryRoleKeepsWhatAllClientsShare) {
  for (ClientRole role : {ClientRole::kProducer, ClientRole::kTransactionalProducer,
                          ClientRole::kGroupConsumer, ClientRole::kReader}) {
    KafkaProperties props = PropertiesFor(role, kEverything);
    EXPECT_EQ(props.at("bootstrap.servers"), "broker:9092");
    EXPECT_EQ(props.at("client.id"), "fk");
  }
}

TEST(PropertiesFor, ProducersTakeNoConsumerSetting) {
  KafkaProperties plain = PropertiesFor(ClientRole::kProducer, kEverything);
  KafkaProperties txn = PropertiesFor(ClientRole::kTransactionalProducer, kEverything);
  for (const auto* props : {&plain, &txn}) {
    for (const char* name : {"group.id", "partition.assignment.strategy", "session.timeout.ms",
                             "group.instance.id", "auto.offset.reset", "queued.min.messages"}) {
      EXPECT_FALSE(Has(*props, name)) << name;
    }
    EXPECT_TRUE(Has(*props, "linger.ms"));
    EXPECT_TRUE(Has(*props, "acks"));
    EXPECT_TRUE(Has(*props, "enable.idempotence"));
  }
  // Only the transactional one keeps the transaction settings.
  EXPECT_FALSE(Has(plain, "transactional.id"));
  EXPECT_FALSE(Has(plain, "transaction.timeout.ms"));
  EXPECT_EQ(txn.at("transactional.id"), "fk-1");
  EXPECT_EQ(txn.at("transaction.timeout.ms"), "60000");
}

TEST(PropertiesFor, ConsumersTakeNoProducerSettingAndReadersNoGroupMembership) {
  KafkaProperties member = PropertiesFor(ClientRole::kGroupConsumer, kEverything);
  KafkaProperties reader = PropertiesFor(ClientRole::kReader, kEverything);
  for (const auto* props : {&member, &reader}) {
    for (const char* name : {"transactional.id", "transaction.timeout.ms", "enable.idempotence",
                             "linger.ms", "acks"}) {
      EXPECT_FALSE(Has(*props, name)) << name;
    }
    EXPECT_EQ(props->at("group.id"), "fleetkeeper");
    EXPECT_EQ(props->at("auto.offset.reset"), "latest");
    EXPECT_EQ(props->at("queued.min.messages"), "1000");
  }
  EXPECT_EQ(member.at("partition.assignment.strategy"), "range");
  EXPECT_EQ(member.at("session.timeout.ms"), "10000");
  EXPECT_EQ(member.at("group.instance.id"), "host-1");
  for (const char* name :
       {"partition.assignment.strategy", "session.timeout.ms", "group.instance.id"}) {
    EXPECT_FALSE(Has(reader, name)) << name;
  }
}

TEST(NewClient, AnUnknownPropertyIsAnErrorNamingIt) {
  auto client = NewClient(ClientRole::kProducer, {{"no.such.property", "1"}}, {}, "producer");
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("kafka.no.such.property"), std::string::npos)
      << client.error().message;
}

class PipelineOnEmbeddedBroker : public testing::EmbeddedBrokerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker(3));
    auto producer = NewClient(ClientRole::kProducer, Base(), producer_callbacks_, "producer");
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    producer_.reset();
    broker_.reset();  // after every client
  }

  KafkaProperties Base() const {
    return {{"bootstrap.servers", broker_->bootstrap()}, {"log_level", "3"}};
  }
  KafkaProperties Reader(const std::string& group) const {
    KafkaProperties props = PropertiesFor(ClientRole::kReader, Base());
    props["group.id"] = group;
    props["isolation.level"] = "read_committed";
    props["enable.partition.eof"] = "true";
    return props;
  }
  // Produces one record (a tombstone when `value` is empty) and waits for it to be written.
  void Put(const std::string& topic, int32_t partition, const std::string& key,
           std::optional<std::string> value) {
    void* bytes = value ? value->data() : nullptr;
    const size_t size = value ? value->size() : 0;
    ASSERT_EQ(rd_kafka_producev(
                  producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                  RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(bytes, size),
                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  ClientCallbacks producer_callbacks_;
  KafkaPtr producer_;
};

// A producer whose coordinator never answers (nothing listens on the port): Init waits in slices
// and asks `give_up` after each; the reason it returns ends the wait and is the error.
KafkaPtr UnreachableTransactionalProducer() {
  auto producer = NewClient(ClientRole::kTransactionalProducer,
                            {{"bootstrap.servers", "127.0.0.1:1"}, {"transactional.id", "fk-t"}},
                            {}, "producer");
  EXPECT_TRUE(producer.ok()) << producer.error().message;
  return std::move(*producer);
}

TEST(TransactionInit, GiveUpEndsTheWaitWithItsReason) {
  KafkaPtr producer = UnreachableTransactionalProducer();
  Transaction txn(producer.get(), "fk-t");
  int asked = 0;
  Status st = txn.Init(60000, [&]() -> std::optional<std::string> {
    if (++asked < 2) return std::nullopt;
    return std::string("the broker refused the producer's authentication");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(st.error().message,
            "init_transactions for transactional.id fk-t: the broker refused the producer's "
            "authentication");
}

TEST(TransactionInit, WithoutAReasonToGiveUpItWaitsOutItsTimeout) {
  KafkaPtr producer = UnreachableTransactionalProducer();
  Transaction txn(producer.get(), "fk-t");
  int asked = 0;
  Status st = txn.Init(2500, [&]() -> std::optional<std::string> {
    ++asked;
    return std::nullopt;
  });
  ASSERT_FALSE(st.ok());
  // Asked after each slice of up to 1,000 ms that ended before the deadline: two, or three when
  // the last 500 ms slice ends a moment early.
  EXPECT_GE(asked, 2);
  EXPECT_LE(asked, 3);
  EXPECT_NE(st.error().message.find("init_transactions for transactional.id fk-t: "),
            std::string::npos);
  EXPECT_NE(st.error().message.find("Timed out"), std::string::npos) << st.error().message;
}

TEST_F(PipelineOnEmbeddedBroker, TheBrokerHasThePlansTopics) {
  for (const std::string& topic : {plan_.work, plan_.state}) {
    auto count = PartitionCount(producer_.get(), topic, 10000);
    ASSERT_TRUE(count.ok()) << topic << ": " << count.error().message;
    EXPECT_EQ(*count, 3) << topic;
  }
}

class ControlLogOnEmbeddedBroker : public PipelineOnEmbeddedBroker {
 protected:
  void SetUp() override {
    producer_callbacks_.conf_hook = &ControlProducerConf;
    PipelineOnEmbeddedBroker::SetUp();
  }
  void Write(bool frozen) {
    v1::ControlRecord record;
    record.set_frozen(frozen);
    record.set_by("alice@ops");
    auto written = WriteControlRecord(producer_.get(), plan_.control, record, 10000);
    ASSERT_TRUE(written.ok()) << written.error().message;
    EXPECT_EQ(written->topic, plan_.control);
    EXPECT_EQ(written->partition, 0);
  }
};

TEST_F(ControlLogOnEmbeddedBroker, OpenReadsToTheLatestRecordAndPollFollows) {
  Write(true);
  Write(false);
  Write(true);
  ControlLog log(Reader("control-test"), plan_.control, SystemClock::Instance());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_TRUE(log.frozen()) << "the latest of three records says frozen";

  Write(false);
  for (int i = 0; i < 100 && log.frozen(); ++i) log.Poll(100);
  EXPECT_FALSE(log.frozen()) << "the unfreeze written after Open was not followed";
}

TEST_F(ControlLogOnEmbeddedBroker, AnEmptyLogIsNotFrozen) {
  ControlLog log(Reader("control-empty"), plan_.control, SystemClock::Instance());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_FALSE(log.frozen());
}

TEST_F(ControlLogOnEmbeddedBroker, AMissingTopicIsAnErrorThatSaysHowToCreateIt) {
  v1::ControlRecord record;
  auto written = WriteControlRecord(producer_.get(), "no.such.topic", record, 2000);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("no.such.topic is missing"), std::string::npos)
      << written.error().message;
}

using Records = std::vector<std::pair<std::string, std::string>>;

TEST_F(PipelineOnEmbeddedBroker, ReadStateLogReadsEachPartitionToItsEndInOrder) {
  Put(plan_.state, 1, "wf:a", "one");
  Put(plan_.state, 1, "wf:b", "two");
  Put(plan_.state, 1, "wf:a", std::nullopt);
  Put(plan_.state, 2, "wf:c", "three");
  auto reader = NewClient(ClientRole::kReader, Reader("state-test"), {}, "state reader");
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  std::map<int32_t, Records> seen;
  std::vector<std::string> tombstones;
  auto unread =
      ReadStateLog(reader->get(), plan_.state, {0, 1, 2}, 10000, 10, nullptr,
                   [&](int32_t p, std::string_view key, const char* value, size_t size) {
                     if (value == nullptr) tombstones.emplace_back(key);
                     seen[p].emplace_back(std::string(key), value ? std::string(value, size) : "");
                   });
  rd_kafka_consumer_close(reader->get());
  ASSERT_TRUE(unread.ok()) << unread.error().message;
  EXPECT_TRUE(unread->empty());
  EXPECT_EQ(seen[1], (Records{{"wf:a", "one"}, {"wf:b", "two"}, {"wf:a", ""}}));
  EXPECT_EQ(seen[2], (Records{{"wf:c", "three"}}));
  EXPECT_EQ(seen.count(0), 0u) << "an empty partition has no records";
  EXPECT_EQ(tombstones, std::vector<std::string>{"wf:a"});
}

TEST_F(PipelineOnEmbeddedBroker, APartitionRestoreHandsBackTheStateAndWhereWorkResumes) {
  Put(plan_.state, 2, "wf:x", "checkpoint");
  Put(plan_.state, 2, "dedup:k", std::nullopt);
  KafkaProperties group = PropertiesFor(ClientRole::kGroupConsumer, Base());
  group["group.id"] = "restore-test";
  auto consumer = NewClient(ClientRole::kGroupConsumer, group, {}, "consumer");
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  {
    PartitionRestores restores(Reader("restore-test.reader"), consumer->get(), plan_.work,
                               plan_.state, SystemClock::Instance());
    restores.Start(2);
    std::vector<PartitionRestores::Restored> done;
    for (int i = 0; i < 300 && done.empty(); ++i) {
      done = restores.TakeDone();
      if (done.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(done.size(), 1u) << "the restore did not end";
    EXPECT_EQ(done[0].partition, 2);
    EXPECT_EQ(done[0].records, (Records{{"wf:x", "checkpoint"}, {"dedup:k", ""}}));
    EXPECT_EQ(done[0].resume_offset, 0) << "nothing committed: work resumes at its start";
  }
  rd_kafka_consumer_close(consumer->get());
}

}  // namespace
}  // namespace fleetkeeper::consumers
