// `fleetkeeper run`, wired: credentials, then the Kafka clients (consumers/pipeline_clients.h), the
// workflow runtime (handlers/engine), the pipeline (consumers/pipeline.h); stopped in reverse.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "consumers/batch.h"
#include "consumers/commit_faults.h"
#include "consumers/pipeline_options.h"
#include "consumers/pipeline_stop.h"
#include "fleetkeeper/v1/config.pb.h"
#include "handlers/handler.h"

namespace fleetkeeper::app {

using consumers::kExitFenced;
using consumers::kExitKafkaFatal;
using consumers::kExitOk;
using consumers::kExitStartFailed;

// What the test executable adds to the worker (tests/testing/test_hooks.h). The production
// executable adds nothing.
struct RunHooks {
  consumers::CommitFaults* commit_faults = nullptr;
  // A fenced worker waits this long before it exits, its operator listener still answering.
  int linger_after_fence_ms = 0;
  // Handlers that replace the catalog's for their event kinds.
  std::function<std::vector<std::pair<handlers::EventKind, std::unique_ptr<handlers::Handler>>>()>
      handler_overrides;
};

// The pipeline's options from the configuration, defaults applied.
consumers::PipelineOptions PipelineOptionsFrom(const v1::WorkerConfig& config);

class Worker {
 public:
  explicit Worker(const v1::WorkerConfig& config, RunHooks hooks = {});
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts, runs until stopped, stops. Returns the exit code.
  int Run();
  // Async-signal-safe.
  void RequestStop() { stop_.Request(); }

  // Safe to read from another thread, during and after Run: see consumers::BatchStats.
  int64_t records_done() const { return stats_.records_done.load(); }
  int64_t batches_failed() const { return stats_.batches_failed.load(); }
  int64_t commits_failed() const { return stats_.commits_failed.load(); }
  // Inputs left to dead-letter when the pipeline stopped.
  size_t poisoned_inputs() const { return stats_.poisoned_inputs.load(); }

 private:
  const v1::WorkerConfig config_;
  RunHooks hooks_;
  consumers::PipelineStop stop_;
  consumers::BatchStats stats_;
};

}  // namespace fleetkeeper::app
