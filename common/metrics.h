// Process metrics in Prometheus form, recorded by every layer and served by the worker's
// /metrics (app/observability). Every name, label and its meaning: docs/operations.md "Metrics".
//
// The functions return the series for their labels; a caller on a hot path keeps the reference
// (a series lives as long as the process) instead of looking it up per record. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

namespace prometheus {
class Registry;
}

namespace fleetkeeper::metrics {

// The registry every series below lives in.
prometheus::Registry& Registry();
// The registry in Prometheus' text exposition format (version 0.0.4).
std::string TextExposition();

// --- the pipeline -----------------------------------------------------------------------------
// fleetkeeper_records_total{topic, outcome}: input records by their final outcome (SUCCEEDED,
// FAILED, PARTIAL, REJECTED, SKIPPED, CANCELLED, DRY_RUN, DLQ), counted when the outcome is staged
// into a batch: a batch that aborts and is redone counts its outcomes again.
prometheus::Counter& RecordsIn(std::string_view topic, std::string_view outcome);
// fleetkeeper_commit_duration_seconds: the transaction commit (or the at-least-once offset commit).
prometheus::Histogram& CommitDuration();
// fleetkeeper_transactions_total{result}: committed | aborted.
prometheus::Counter& Transactions(bool committed);

// --- workflows --------------------------------------------------------------------------------
// fleetkeeper_workflows_finished_total{handler, status}.
prometheus::Counter& WorkflowsFinished(std::string_view handler, std::string_view status);
// fleetkeeper_step_duration_seconds{handler}: one step on the executor, AWS calls included.
prometheus::Histogram& StepDuration(std::string_view handler);

// --- AWS --------------------------------------------------------------------------------------
// fleetkeeper_aws_calls_total{service, operation, outcome}: ok, or the error class
// (throttled, unauthorized, not_found, invalid, unavailable, ...).
prometheus::Counter& AwsCalls(std::string_view service, std::string_view operation,
                              std::string_view outcome);
// fleetkeeper_aws_retries_total{service}: attempts after the first.
prometheus::Counter& AwsRetries(std::string_view service);
// fleetkeeper_aws_retry_quota_available{service}: the tokens left in the client's retry quota.
prometheus::Gauge& AwsRetryQuota(std::string_view service);
// fleetkeeper_aws_adaptive_rate{service}: the adaptive limiter's send rate (requests/s); 0 while
// the limiter is off (no throttle seen yet, or standard retry mode).
prometheus::Gauge& AwsAdaptiveRate(std::string_view service);

// --- safety -----------------------------------------------------------------------------------
// fleetkeeper_frozen: 1 while a freeze holds mutating steps.
prometheus::Gauge& Frozen();

// --- the process ------------------------------------------------------------------------------
// fleetkeeper_ready: 1 when /readyz answers ready.
prometheus::Gauge& Ready();

// What /healthz and /readyz answer from; the pipeline writes it. Lock-free.
struct Health {
  std::atomic<int64_t> last_poll_ms{0};  // Clock::MonotonicMs of the poll loop's last turn; 0: none
  std::atomic<bool> restored{false};     // partitions assigned and every one restored
  std::atomic<bool> fenced{false};       // the producer was fenced: this worker is going away
  std::atomic<bool> stopping{false};     // shutting down: not ready, still alive
  // Clock::MonotonicMs since which no Kafka broker answers (librdkafka's "all brokers down");
  // 0 while one does. Not ready meanwhile: the worker can neither read nor commit.
  std::atomic<int64_t> brokers_down_since_ms{0};
};
Health& ProcessHealth();

}  // namespace fleetkeeper::metrics
