// librdkafka's in-process mock cluster for a test: a Kafka protocol broker on a loopback port,
// with no JVM, that the test's own clients and the worker's talk to. It lives in a client handle
// of its own with no brokers (librdkafka's way to own one), and is destroyed before that handle,
// as librdkafka asserts.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <string>

#include "common/raii_kafka.h"

namespace fleetkeeper::testing {

class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));
    EXPECT_TRUE(owner_) << errstr;
    if (owner_) cluster_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
    EXPECT_NE(cluster_, nullptr);
    if (cluster_ != nullptr) bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  bool ok() const { return cluster_ != nullptr; }
  rd_kafka_mock_cluster_t* get() const { return cluster_; }
  // "host:port,…" for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_resp_err_t CreateTopic(const std::string& topic, int32_t partitions,
                                  int replication = 1) const {
    return rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication);
  }

 private:
  KafkaPtr owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace fleetkeeper::testing
