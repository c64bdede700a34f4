// Hop 1 on the embedded broker (librdkafka's mock cluster): input records consumed from it go
// through the ingest stage's lane and come out as work items or dead letters; while the batch
// before commits, their outputs wait (staged) until the next transaction has begun.
#include "consumers/ingest_stage.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/file.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/output_producer.h"
#include "tests/consumers/embedded_broker_fixture.h"

namespace fleetkeeper::consumers {
namespace {

std::string Fixture(const std::string& relative) {
  auto text = ReadFileContents(std::string(FK_TEST_FIXTURES) + "/events/" + relative);
  EXPECT_TRUE(text.ok()) << relative;
  return text.ok() ? *text : "";
}

class IngestStageTest : public testing::EmbeddedBrokerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker(1));
    topics_.work = plan_.work;
    topics_.results = plan_.results;
    topics_.dlq = plan_.dlq;
    topics_.work_partitions = 1;
    OutputProducer::Options options;
    options.properties = {{"bootstrap.servers", broker_->bootstrap()}, {"log_level", "3"}};
    options.topics = {plan_.work, plan_.dlq};
    options.outputs = topics_;
    auto output = OutputProducer::Create(std::move(options), {}, SystemClock::Instance());
    ASSERT_TRUE(output.ok()) << output.error().message;
    output_ = std::move(*output);
    IngestStage::Hooks hooks;
    hooks.fail_batch = [this](std::string why) { failures_.push_back(std::move(why)); };
    hooks.stopped = [] { return false; };
    stage_ = std::make_unique<IngestStage>(*output_, topics_, NormalizeOptions{},
                                           SystemClock::Instance(), std::move(hooks));
    inputs_ = Reader("ingest-inputs");
  }
  void TearDown() override {
    stage_.reset();
    if (inputs_) rd_kafka_consumer_close(inputs_.get());
    inputs_.reset();
    output_.reset();
    broker_.reset();
  }

  KafkaPtr Reader(const std::string& group) {
    auto reader = NewClient(
        ClientRole::kReader,
        {{"bootstrap.servers", broker_->bootstrap()}, {"group.id", group}, {"log_level", "3"}}, {},
        "reader");
    EXPECT_TRUE(reader.ok());
    return reader.ok() ? std::move(*reader) : nullptr;
  }
  // `payloads` written to the input topic and consumed back, as the worker hands them over.
  std::vector<KafkaMessagePtr> Consume(const std::vector<std::string>& payloads) {
    for (const auto& p : payloads) {
      OutRecord r;
      r.topic = plan_.inputs[0];
      r.partition = 0;
      r.value = p;
      EXPECT_EQ(output_->ProduceNow(r), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    EXPECT_EQ(output_->Flush(10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(tp.get(), plan_.inputs[0].c_str(), 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(inputs_.get(), tp.get());
    std::vector<KafkaMessagePtr> out;
    for (int i = 0; i < 100 && out.size() < payloads.size(); ++i) {
      KafkaMessagePtr m(rd_kafka_consumer_poll(inputs_.get(), 100));
      if (m && !m->err) out.push_back(std::move(m));
    }
    EXPECT_EQ(out.size(), payloads.size());
    return out;
  }
  // The keys of the records on `topic`: `want` of them, or what `polls` polls of 100 ms find.
  std::vector<std::string> Keys(const std::string& topic, size_t want, int polls = 100) {
    EXPECT_EQ(output_->Flush(10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    KafkaPtr reader = Reader("ingest-" + topic);
    KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(tp.get(), topic.c_str(), 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(reader.get(), tp.get());
    std::vector<std::string> keys;
    for (int i = 0; i < polls && keys.size() < want; ++i) {
      KafkaMessagePtr m(rd_kafka_consumer_poll(reader.get(), 100));
      if (m && !m->err) {
        keys.emplace_back(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      }
    }
    rd_kafka_consumer_close(reader.get());
    return keys;
  }

  OutputTopics topics_;
  std::unique_ptr<OutputProducer> output_;
  KafkaPtr inputs_;
  std::vector<std::string> failures_;  // written by the lane, read once it is drained
  std::unique_ptr<IngestStage> stage_;
};

TEST_F(IngestStageTest, ARequestBecomesAWorkItemOfItsCellAndGarbageADeadLetter) {
  auto records = Consume({Fixture("native/patch-request-wrapped.json"), "not json at all"});
  for (auto& r : records) stage_->Push(std::move(r));
  stage_->Drain();
  EXPECT_TRUE(failures_.empty());
  EXPECT_EQ(Keys(plan_.work, 1), std::vector<std::string>{"444455556666/eu-west-1"});
  EXPECT_EQ(Keys(plan_.dlq, 1).size(), 1u);
}

TEST_F(IngestStageTest, OutputsWaitWhileTheBatchBeforeCommits) {
  auto records = Consume({Fixture("native/patch-request-wrapped.json")});
  stage_->CloseBatch().wait();  // the lane reached the mark: what follows is staged
  stage_->Push(std::move(records[0]));
  stage_->Drain();
  EXPECT_TRUE(Keys(plan_.work, 1, 20).empty()) << "produced before the next transaction began";
  stage_->OpenBatch();
  stage_->Drain();
  EXPECT_EQ(Keys(plan_.work, 1), std::vector<std::string>{"444455556666/eu-west-1"});
}

TEST_F(IngestStageTest, StagedOutputsOfAnAbortedBatchAreDropped) {
  auto records = Consume({Fixture("native/patch-request-wrapped.json")});
  stage_->CloseBatch().wait();
  stage_->Push(std::move(records[0]));
  stage_->Drain();
  stage_->DropStaged();
  stage_->OpenBatch();
  stage_->Drain();
  EXPECT_TRUE(Keys(plan_.work, 1, 20).empty()) << "a dropped output was produced";
}

}  // namespace
}  // namespace fleetkeeper::consumers
