// Topic checks at start (DESIGN.md "Topics"): create what is missing through the Admin API, refuse
// to start on a non-compacted state/control topic or a work/state partition-count mismatch.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace fleetkeeper::consumers {

struct TopicPlan {
  std::vector<std::string> inputs;
  std::string work, results, dlq, state, control;
  bool create = true;
  int32_t partitions = 12;  // fleet.work and fleet.state (and any other topic we create)
  int64_t max_message_bytes = 4 * 1024 * 1024;
  int32_t replication_factor = -1;  // -1: the broker's default
};

// Checks (and creates) every topic of the plan on a real broker. Errors name the topic.
Status EnsureTopics(rd_kafka_t* rk, const TopicPlan& plan, int timeout_ms);

// The embedded mock cluster has no Admin API: create the plan's topics with its own call.
Status CreateMockTopics(rd_kafka_mock_cluster_t* cluster, const TopicPlan& plan);

// Partition count of a topic from the broker's metadata; kNotFound when absent.
Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// Those of `topics` the broker's metadata does not list (one metadata request).
Result<std::vector<std::string>> MissingTopics(rd_kafka_t* rk,
                                               const std::vector<std::string>& topics,
                                               int timeout_ms);

// What the cluster's metadata lists.
struct ClusterView {
  int brokers = 0;
  std::set<std::string> topics;  // a topic still electing its leader counts
};
// The brokers and topics of the cluster `rk` talks to. A topic created a moment ago reaches the
// broker's metadata cache a little later: until every one of `wanted` is listed it asks again, up
// to 5 more times 400 ms apart. Fails naming librdkafka's reason when no broker answers within
// `timeout_ms`.
Result<ClusterView> DescribeCluster(rd_kafka_t* rk, const std::set<std::string>& wanted,
                                    int timeout_ms);

}  // namespace fleetkeeper::consumers
