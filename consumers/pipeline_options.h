// What the Kafka pipeline runs with, resolved from the configuration by app/ (defaults applied):
// the classes of consumers/ never read the configuration themselves.
#pragma once

#include <cstdint>
#include <string>

#include "consumers/kafka_clients.h"
#include "consumers/normalizer.h"
#include "consumers/results.h"
#include "consumers/topics.h"

namespace fleetkeeper::consumers {

struct PipelineOptions {
  KafkaProperties kafka;  // the `kafka:` properties, group.id set
  TopicPlan plan;
  OutputTopics outputs;  // work_partitions is filled in when the clients start
  NormalizeOptions normalize;
  // "on", "off", or "auto" (also ""): transactions unless the embedded broker is used.
  std::string transactions = "auto";
  int batch_max_records = 1;
  int64_t batch_max_ms = 1;
};

}  // namespace fleetkeeper::consumers
