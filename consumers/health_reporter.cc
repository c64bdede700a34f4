#include "consumers/health_reporter.h"

#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "consumers/topics.h"

namespace fleetkeeper::consumers {

HealthReporter::HealthReporter(rd_kafka_t* producer, std::vector<std::string> output_topics,
                               const Clock& clock, std::function<void()> gauges)
    : producer_(producer),
      output_topics_(std::move(output_topics)),
      clock_(clock),
      gauges_(std::move(gauges)) {}

HealthReporter::~HealthReporter() { executor_.reset(); }

void HealthReporter::Report(int64_t now_ms, bool restored, bool frozen) {
  metrics::Health& health = metrics::ProcessHealth();
  health.last_poll_ms = now_ms;
  health.restored = restored;
  metrics::Frozen().Set(frozen ? 1 : 0);
  // librdkafka says when every broker connection is down, not when one is back: ask for the
  // broker list (no topics) once a second until a broker answers.
  const int64_t down_since = health.brokers_down_since_ms.load();
  if (down_since != 0 && now_ms - last_probe_ms_ >= 1000 && !probing_.exchange(true)) {
    last_probe_ms_ = now_ms;
    executor_->Submit([this, down_since] { ProbeBrokers(down_since); });
  }
  // The gauges that cost a scan: once a second.
  if (now_ms - gauges_reported_ms_ < 1000) return;
  gauges_reported_ms_ = now_ms;
  if (gauges_) gauges_();
}

void HealthReporter::ProbeBrokers(int64_t down_since) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(producer_, 0, nullptr, &metadata, 200) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(metadata);
    metrics::ProcessHealth().brokers_down_since_ms = 0;
    spdlog::info("kafka: a broker answers again after {} ms", clock_.MonotonicMs() - down_since);
  }
  probing_.store(false);
}

void HealthReporter::CheckOutputTopics() {
  const int64_t now = clock_.MonotonicMs();
  if (last_topic_check_ms_ != 0 && now - last_topic_check_ms_ < 10000) return;
  if (checking_.exchange(true)) return;
  last_topic_check_ms_ = now;
  executor_->Submit([this] { LogMissingTopics(); });
}

void HealthReporter::LogMissingTopics() {
  // librdkafka's reason for an aborted transaction ("Erroneous state", "Unknown topic or
  // partition") names no topic: a deleted output topic would abort every batch unexplained.
  auto missing = MissingTopics(producer_, output_topics_, 2000);
  if (missing.ok()) {  // else the broker is away: that is reported on its own
    for (const auto& topic : *missing) {
      spdlog::error(
          "output topic {} does not exist: every batch aborts and is read again until it "
          "does (create it; topics.create makes missing topics only at start)",
          topic);
    }
  }
  checking_.store(false);
}

}  // namespace fleetkeeper::consumers
