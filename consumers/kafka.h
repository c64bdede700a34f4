// Kafka plumbing shared by both stages: configuration from the `kafka:` map, the records the
// stages produce, header helpers, and the cell partitioner.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/raii_kafka.h"

namespace fleetkeeper::consumers {

struct OutHeader {
  std::string key;
  std::string value;
};

// One record a stage wants produced in the current batch's transaction.
struct OutRecord {
  std::string topic;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // explicit for fleet.work / fleet.state
  std::string key;
  std::optional<std::string> value;  // nullopt = tombstone
  std::vector<OutHeader> headers;
  // The input record this output stands for (for the produce-failure → DLQ path).
  std::string source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
};

// Builds an rd_kafka_conf_t from string properties; errors name the property.
Result<KafkaConfPtr> MakeKafkaConf(const std::map<std::string, std::string>& properties);
Status SetConf(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// Kafka's (Java client's) murmur2 partitioner, so that every producer of fleet.work, whatever its
// client library, puts a cell on the same partition; fleet.state mirrors it.
int32_t Murmur2Partition(std::string_view key, int32_t partition_count);

// Headers of a consumed message as (key, value) pairs; values of null headers are empty.
std::vector<std::pair<std::string, std::string>> MessageHeaders(const rd_kafka_message_t* msg);
std::optional<std::string> FindHeader(const rd_kafka_message_t* msg, const char* name);

Error KafkaError(rd_kafka_resp_err_t err, std::string_view what);
Error KafkaError(const rd_kafka_error_t* err, std::string_view what);

}  // namespace fleetkeeper::consumers
