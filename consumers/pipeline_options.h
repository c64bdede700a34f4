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
  // Backpressure (runtime.max_pending_per_partition): a fleet.work partition with this many
  // unfinished workflows is paused, so that new work waits on the broker rather than in memory;
  // it is resumed once they are down to three quarters of it. 0: never paused.
  int max_pending_per_partition = 0;
};

}  // namespace fleetkeeper::consumers
