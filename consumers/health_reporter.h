// The pipeline's part of /healthz and /readyz (common/metrics.h Health) and the gauges that cost a
// scan. The poll thread reports each loop turn; what waits on the broker (the probe for a broker
// after all were down, the look for a missing output topic after an abort) runs on a thread of
// the reporter's own, so that the poll thread never waits for a metadata answer.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/executor.h"

namespace fleetkeeper::consumers {

class HealthReporter {
 public:
  // `producer` outlives this; `output_topics` are the topics the pipeline produces to. `gauges`
  // sets the gauges that cost a scan (lag, workflows): on the poll thread, once a second.
  HealthReporter(rd_kafka_t* producer, std::vector<std::string> output_topics, const Clock& clock,
                 std::function<void()> gauges);
  // Waits for a metadata request in flight.
  ~HealthReporter();
  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

  // Each loop turn (poll thread). Ready: `restored` (the group gave this worker its partitions,
  // and each is restored). `frozen`: the freeze gauge.
  void Report(int64_t now_ms, bool restored, bool frozen);
  // After an abort, at most every 10 s: names an output topic the broker does not have.
  void CheckOutputTopics();

 private:
  void ProbeBrokers(int64_t down_since);  // reporter thread
  void LogMissingTopics();                // reporter thread

  rd_kafka_t* const producer_;
  const std::vector<std::string> output_topics_;
  const Clock& clock_;
  const std::function<void()> gauges_;
  int64_t last_probe_ms_ = 0;        // the last look for a broker, after all were down
  int64_t last_topic_check_ms_ = 0;  // CheckOutputTopics' last metadata request
  int64_t gauges_reported_ms_ = 0;
  std::atomic<bool> probing_{false};
  std::atomic<bool> checking_{false};
  // Declared last: its thread goes first.
  std::unique_ptr<Executor> executor_ = std::make_unique<Executor>(1);
};

}  // namespace fleetkeeper::consumers
