// The pipeline's tests on the embedded broker (librdkafka's mock cluster): the topics of a plan
// with short names, created on a broker of the test's own.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "consumers/kafka_clients.h"
#include "consumers/topics.h"

namespace fleetkeeper::consumers::testing {

class EmbeddedBrokerTest : public ::testing::Test {
 protected:
  // Call with ASSERT_NO_FATAL_FAILURE from SetUp.
  void StartBroker(int32_t partitions) {
    plan_.inputs = {"in"};
    plan_.work = "work";
    plan_.results = "results";
    plan_.dlq = "dlq";
    plan_.state = "state";
    plan_.control = "control";
    plan_.partitions = partitions;
    auto broker = EmbeddedBroker::Start(plan_);
    ASSERT_TRUE(broker.ok()) << broker.error().message;
    broker_ = std::move(*broker);
  }

  TopicPlan plan_;
  std::unique_ptr<EmbeddedBroker> broker_;  // reset it after every client of the test
};

}  // namespace fleetkeeper::consumers::testing
