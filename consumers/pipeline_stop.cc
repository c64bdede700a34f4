#include "consumers/pipeline_stop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"

namespace fleetkeeper::consumers {

bool ProducerFenced(rd_kafka_t* rk) {
  char buf[512];
  const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
  return orig == RD_KAFKA_RESP_ERR__FENCED || orig == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         orig == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

void PipelineStop::Fail(int code, const std::string& why) {
  int expected = 0;
  if (code_.compare_exchange_strong(expected, code)) {
    reason_ = why;
    spdlog::critical("{}", why);
  }
  if (code == kExitFenced) metrics::ProcessHealth().fenced = true;
  metrics::ProcessHealth().stopping = true;
  requested_.store(true);
}

void PipelineStop::ClientError(rd_kafka_t* rk, int err, const char* reason,
                               const std::string& transactional_id, const Clock& clock) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof(buf));
    const int code = ProducerFenced(rk) ? kExitFenced : kExitKafkaFatal;
    Fail(code, fmt::format("fatal Kafka error (transactional.id {}): {}", transactional_id, buf));
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    int64_t none = 0;
    metrics::ProcessHealth().brokers_down_since_ms.compare_exchange_strong(none,
                                                                           clock.MonotonicMs());
  }
  spdlog::warn("kafka: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

}  // namespace fleetkeeper::consumers
