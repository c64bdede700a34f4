// Whether the pipeline is to stop, and why it failed if it did: shared by the poll thread, the
// committer, the ingest lane and librdkafka's callbacks. The first failure is kept; it becomes the
// process's exit code.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <string>

#include "common/clock.h"

namespace fleetkeeper::consumers {

// Exit codes of `fleetkeeper run`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitStartFailed = 2;
inline constexpr int kExitFenced = 3;  // another live process holds our transactional.id
inline constexpr int kExitKafkaFatal = 4;

// Whether the fatal error `rk` has is a fence: another producer took our transactional.id.
bool ProducerFenced(rd_kafka_t* rk);

class PipelineStop {
 public:
  // Async-signal-safe: a graceful stop (the open batch commits).
  void Request() { requested_.store(true); }
  bool requested() const { return requested_.load(); }

  // The pipeline failed for good: it stops, not ready, and `code` is the exit code. Any thread.
  void Fail(int code, const std::string& why);
  // The exit code of the first failure; 0 while there is none.
  int code() const { return code_.load(); }
  bool failed() const { return code() != 0; }
  // The first failure's reason; read once `failed()`.
  const std::string& reason() const { return reason_; }

  // librdkafka's error callback of the pipeline's clients: a fatal error (of the producer whose
  // transactional.id is `transactional_id`) fails the pipeline; "all brokers down" is noted for
  // the health report.
  void ClientError(rd_kafka_t* rk, int err, const char* reason, const std::string& transactional_id,
                   const Clock& clock);

 private:
  std::atomic<bool> requested_{false};
  std::atomic<int> code_{0};
  std::string reason_;
};

}  // namespace fleetkeeper::consumers
