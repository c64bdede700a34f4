// Result events (DESIGN.md "Result event") and the records that carry results, work items and
// dead letters. Shared by both stages.
#pragma once

#include <string>
#include <vector>

#include "consumers/kafka.h"
#include "consumers/normalizer.h"
#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/result.pb.h"
#include "handlers/event.h"

namespace fleetkeeper::consumers {

enum class ResultFormat { kJson, kProtobuf };

struct OutputTopics {
  std::string work;
  std::string results;
  std::string dlq;
  int32_t work_partitions = 12;
  int64_t dlq_max_message_bytes = 4 * 1024 * 1024;
  ResultFormat result_format = ResultFormat::kJson;
};

// Results are built by handlers/event.h, below both stages.
using handlers::FillResult;
using handlers::MakeResult;

// The result as the proto JSON mapping with field names kept, or protobuf binary.
std::string SerializeResult(const v1::Result& result, ResultFormat format);

// Record for fleet.results, keyed by correlation id.
OutRecord ResultRecord(const v1::Result& result, const OutputTopics& topics);

// Record for fleet.work: key = cell, explicit partition = murmur2(cell).
OutRecord WorkRecord(const v1::Event& event, const OutputTopics& topics);

// Record for fleet.dlq: original bytes, key and headers, plus fk-error and fk-source-*; truncated
// (fk-truncated: true) to fit the DLQ topic's max.message.bytes.
OutRecord DlqRecord(const InputRecord& input, const std::string& reason,
                    const OutputTopics& topics);

// The JSON text of a message with proto field names kept (for inspect and results).
std::string ToJson(const google::protobuf::Message& message);

}  // namespace fleetkeeper::consumers
