// Process metrics in Prometheus form, recorded by every layer and served by the worker's
// /metrics (app/observability). Every name, label and its meaning: docs/operations.md "Metrics".
//
// The functions return the series for their labels; a caller on a hot path keeps the reference
// (a series lives as long as the process) instead of looking it up per record. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

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
// fleetkeeper_batch_duration_seconds: a batch, from when it starts filling to the end of its
// commit (what a record waits at most before its outcome is committed, without the step time).
prometheus::Histogram& BatchDuration();
// fleetkeeper_consumer_lag{topic, partition}: records on an assigned partition not read yet (its
// high watermark as last fetched, minus the consumer's position). Poll thread.
prometheus::Gauge& ConsumerLag(std::string_view topic, int32_t partition);
// Drops the series of a partition no longer assigned.
void RemoveConsumerLag(std::string_view topic, int32_t partition);

// --- workflows --------------------------------------------------------------------------------
// fleetkeeper_workflows_finished_total{handler, status}.
prometheus::Counter& WorkflowsFinished(std::string_view handler, std::string_view status);
// fleetkeeper_step_duration_seconds{handler}: one step on the executor, AWS calls included.
prometheus::Histogram& StepDuration(std::string_view handler);
// fleetkeeper_workflows{handler, state}: live workflows of this worker's partitions, by state
// (running, ready, waiting). Replaces every series: a (handler, state) absent from `counts` is 0.
using WorkflowCounts = std::map<std::pair<std::string, std::string>, size_t>;
void SetWorkflows(const WorkflowCounts& counts);

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
// The self-healing circuit breaker of a cell (account/region), as of the last admission or
// repeat decided in it: fleetkeeper_circuit_breaker_open{cell} 1 while open;
// fleetkeeper_circuit_breaker_actions{cell} the actions within its window;
// fleetkeeper_circuit_breaker_closes_at_seconds{cell} the Unix time it closes (0 while closed).
void SetCircuitBreaker(std::string_view cell, bool open, int actions, int64_t closes_at_ms);

// The blast-radius ledger of a cell (docs/safety.md "Ledger"):
// fleetkeeper_capacity_reserved{cell, group}: units (instances, tasks) workflows hold out of
// service in a group ("tg:<arn>", "asg:<name>", "ecs:<cluster>/<service>"); a group nobody holds
// capacity in has no series. Set by the ledger on every change; removed with it.
void SetCapacityReserved(std::string_view cell, std::string_view group, size_t units);
// fleetkeeper_capacity_claims_total{cell, decision}: claims granted | refused (a refused claim
// waits for capacity; a rising refused rate with flat grants is a workflow stuck on the budget).
prometheus::Counter& CapacityClaims(std::string_view cell, bool granted);

// fleetkeeper_backpressure_paused_partitions: fleet.work partitions paused because they hold
// runtime.max_pending_per_partition unfinished workflows (their new work waits on the broker).
prometheus::Gauge& BackpressurePaused();

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
