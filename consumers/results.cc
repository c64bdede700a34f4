#include "consumers/results.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/sha.h>

#include <cstdio>

#include "common/clock.h"

namespace fleetkeeper::consumers {
namespace {

// Deterministic, so a batch re-processed after an abort produces the same result id.
std::string ResultId(const v1::Result& result) {
  std::string basis = result.correlation_id() + "|" + result.workflow_id() + "|" +
                      v1::Result::Status_Name(result.status());
  if (result.status() == v1::Result::IN_PROGRESS) basis += "|" + result.reason();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(basis.data()), basis.size(), digest);
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string("r-") + hex;
}

}  // namespace

v1::Result MakeResult(const v1::Event& event, v1::Result::Status status, std::string reason,
                      std::string handler, int64_t now_ms, std::string workflow_id) {
  v1::Result r;
  r.set_workflow_id(std::move(workflow_id));
  r.set_correlation_id(event.id());
  r.set_dedup_key(event.dedup_key());
  r.set_handler(std::move(handler));
  r.set_status(status);
  r.set_reason(std::move(reason));
  r.set_started_at(FormatRfc3339(now_ms));
  r.set_finished_at(FormatRfc3339(now_ms));
  *r.mutable_source() = event.source();
  r.set_id(ResultId(r));
  return r;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // A stable schema for readers: partition 0, offset 0 and empty strings are printed too.
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string SerializeResult(const v1::Result& result, ResultFormat format) {
  if (format == ResultFormat::kProtobuf) return result.SerializeAsString();
  return ToJson(result);
}

OutRecord ResultRecord(const v1::Result& result, const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.results;
  out.key = result.correlation_id();
  out.value = SerializeResult(result, topics.result_format);
  if (topics.result_format == ResultFormat::kProtobuf) {
    out.headers.push_back({"content-type", "application/x-protobuf"});
    out.headers.push_back({"fk-type", "fleetkeeper.v1.Result"});
  } else {
    out.headers.push_back({"content-type", "application/json"});
  }
  out.source_topic = result.source().topic();
  out.source_partition = result.source().partition();
  out.source_offset = result.source().offset();
  return out;
}

OutRecord WorkRecord(const v1::Event& event, const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.work;
  out.key = CellOf(event);
  out.partition = Murmur2Partition(out.key, topics.work_partitions);
  out.value = event.SerializeAsString();
  out.headers.push_back({"content-type", "application/x-protobuf"});
  out.headers.push_back({"fk-type", "fleetkeeper.v1.Event"});
  out.headers.push_back({"fk-event-id", event.id()});
  out.source_topic = event.source().topic();
  out.source_partition = event.source().partition();
  out.source_offset = event.source().offset();
  return out;
}

OutRecord DlqRecord(const InputRecord& input, const std::string& reason,
                    const OutputTopics& topics) {
  OutRecord out;
  out.topic = topics.dlq;
  out.key = std::string(input.key);
  for (const auto& h : input.headers) out.headers.push_back({h.key, h.value});
  out.headers.push_back({"fk-error", reason.substr(0, 4096)});
  out.headers.push_back({"fk-source-topic", input.topic});
  out.headers.push_back({"fk-source-partition", std::to_string(input.partition)});
  out.headers.push_back({"fk-source-offset", std::to_string(input.offset)});
  size_t overhead = out.key.size() + 1024;  // record framing and batch header
  for (const auto& h : out.headers) overhead += h.key.size() + h.value.size() + 16;
  size_t budget = topics.dlq_max_message_bytes > static_cast<int64_t>(overhead)
                      ? static_cast<size_t>(topics.dlq_max_message_bytes) - overhead
                      : 0;
  if (input.payload.size() > budget) {
    out.value = std::string(input.payload.substr(0, budget));
    out.headers.push_back({"fk-truncated", "true"});
    out.headers.push_back({"fk-original-size", std::to_string(input.payload.size())});
  } else {
    out.value = std::string(input.payload);
  }
  out.source_topic = input.topic;
  out.source_partition = input.partition;
  out.source_offset = input.offset;
  return out;
}

}  // namespace fleetkeeper::consumers
