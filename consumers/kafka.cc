#include "consumers/kafka.h"

#include <fmt/format.h>

namespace fleetkeeper::consumers {

Status SetConf(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return Error(ErrorCode::kInvalidInput, fmt::format("kafka.{}: {}", name, errstr));
  }
  return Ok{};
}

Result<KafkaConfPtr> MakeKafkaConf(const std::map<std::string, std::string>& properties) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  for (const auto& [name, value] : properties) {
    if (auto st = SetConf(conf.get(), name, value); !st.ok()) return std::move(st).take_error();
  }
  return conf;
}

int32_t Murmur2Partition(std::string_view key, int32_t partition_count) {
  // Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), seed 0x9747b28c.
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  uint32_t length = static_cast<uint32_t>(key.size());
  uint32_t h = 0x9747b28c ^ length;
  uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    uint32_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(data[i4]) | (static_cast<uint32_t>(data[i4 + 1]) << 8) |
                 (static_cast<uint32_t>(data[i4 + 2]) << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[(length & ~3u) + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[(length & ~3u) + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[length & ~3u]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) % static_cast<uint32_t>(partition_count));
}

std::vector<std::pair<std::string, std::string>> MessageHeaders(const rd_kafka_message_t* msg) {
  std::vector<std::pair<std::string, std::string>> out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) {
    return out;
  }
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
  }
  return out;
}

std::optional<std::string> FindHeader(const rd_kafka_message_t* msg, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) {
    return std::nullopt;
  }
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return value ? std::string(static_cast<const char*>(value), size) : std::string();
}

Error KafkaError(rd_kafka_resp_err_t err, std::string_view what) {
  Error e(ErrorCode::kKafka, fmt::format("{}: {}", what, rd_kafka_err2str(err)));
  e.aws_code = rd_kafka_err2name(err);
  return e;
}

Error KafkaError(const rd_kafka_error_t* err, std::string_view what) {
  Error e(ErrorCode::kKafka, fmt::format("{}: {}", what, rd_kafka_error_string(err)),
          rd_kafka_error_is_retriable(err) != 0);
  e.aws_code = rd_kafka_error_name(err);
  return e;
}

}  // namespace fleetkeeper::consumers
