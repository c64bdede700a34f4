// The pipeline's producer on the embedded broker (librdkafka's mock cluster): an output that
// cannot be produced sends its input to the dead-letter topic instead, and a batch that can carry
// neither is told why. Delivery failures reported later (poisoned inputs) are covered by the
// worker's mock-cluster tests (tests/consumers/pipeline_mock_test.cc).
#include "consumers/output_producer.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "consumers/kafka.h"
#include "consumers/kafka_clients.h"
#include "consumers/topics.h"
#include "tests/consumers/embedded_broker_fixture.h"

namespace fleetkeeper::consumers {
namespace {

class OutputProducerTest : public testing::EmbeddedBrokerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartBroker(1));
    OutputProducer::Options options;
    options.properties = {{"bootstrap.servers", broker_->bootstrap()},
                          {"message.max.bytes", "3000"},
                          {"log_level", "3"}};
    options.topics = {plan_.results, plan_.dlq, plan_.state};
    options.outputs.dlq = plan_.dlq;
    options.outputs.dlq_max_message_bytes = 1000;  // a dead letter is truncated to fit
    options.held_topic = plan_.state;
    auto output = OutputProducer::Create(std::move(options), {}, SystemClock::Instance());
    ASSERT_TRUE(output.ok()) << output.error().message;
    output_ = std::move(*output);
  }
  void TearDown() override {
    output_.reset();
    broker_.reset();
  }

  // The headers of the records of `topic` partition 0: `want` of them, or what `polls` polls of
  // 100 ms find.
  std::vector<std::map<std::string, std::string>> Headers(const std::string& topic, size_t want,
                                                          int polls = 100) {
    auto reader = NewClient(ClientRole::kReader,
                            {{"bootstrap.servers", broker_->bootstrap()},
                             {"group.id", "output-test"},
                             {"log_level", "3"}},
                            {}, "reader");
    EXPECT_TRUE(reader.ok());
    KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(tp.get(), topic.c_str(), 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(reader->get(), tp.get());
    std::vector<std::map<std::string, std::string>> out;
    for (int i = 0; i < polls && out.size() < want; ++i) {
      KafkaMessagePtr m(rd_kafka_consumer_poll(reader->get(), 100));
      if (!m || m->err) continue;
      std::map<std::string, std::string> headers;
      for (auto& [k, v] : MessageHeaders(m.get())) headers[k] = v;
      out.push_back(headers);
    }
    rd_kafka_consumer_close(reader->get());
    return out;
  }

  InputRecord Input(const std::string& payload) {
    payload_ = payload;
    InputRecord in;
    in.payload = payload_;
    in.topic = "in";
    in.partition = 0;
    in.offset = 41;
    return in;
  }

  std::unique_ptr<OutputProducer> output_;
  std::string payload_;
};

TEST_F(OutputProducerTest, AnOutputTooLargeToProduceDeadLettersItsInput) {
  OutRecord out;
  out.topic = plan_.results;
  out.partition = 0;
  out.value = std::string(5000, 'r');  // over the producer's message.max.bytes
  EXPECT_EQ(output_->ProduceFor(Input(std::string(5000, 'i')), out), std::nullopt)
      << "the dead letter went out instead: the batch may commit";
  ASSERT_EQ(rd_kafka_flush(output_->client(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto letters = Headers(plan_.dlq, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_NE(letters[0]["fk-error"].find("producing to results failed"), std::string::npos)
      << letters[0]["fk-error"];
  EXPECT_EQ(letters[0]["fk-source-topic"], "in");
  EXPECT_EQ(letters[0]["fk-source-offset"], "41");
  EXPECT_EQ(letters[0]["fk-truncated"], "true");
}

TEST_F(OutputProducerTest, ADeadLetterThatCannotBeProducedFailsTheBatch) {
  OutRecord out;
  out.topic = plan_.dlq;
  out.partition = 0;
  out.value = std::string(5000, 'd');
  std::optional<std::string> why = output_->ProduceFor(Input("x"), out);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("in/0@41 cannot be dead-lettered either"), std::string::npos) << *why;
}

TEST_F(OutputProducerTest, RecordsOfTheHeldTopicWaitForTheCommit) {
  OutRecord state;
  state.topic = plan_.state;
  state.partition = 0;
  state.key = "wf:1";
  state.value = "checkpoint";
  EXPECT_EQ(output_->Produce(state), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_TRUE(output_->holding());
  auto held = output_->TakeHeld();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].key, "wf:1");
  EXPECT_FALSE(output_->holding());
  EXPECT_TRUE(Headers(plan_.state, 1, 20).empty()) << "a held record was produced";
}

}  // namespace
}  // namespace fleetkeeper::consumers
