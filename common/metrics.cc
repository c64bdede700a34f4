#include "common/metrics.h"

#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace fleetkeeper::metrics {
namespace {

using prometheus::Labels;

// Seconds, from a millisecond to a quarter hour: batches and commits sit at the low end, steps
// that wait on AWS at the high end.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900};
  return buckets;
}

// Every family, registered once.
struct Families {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& records =
      prometheus::BuildCounter()
          .Name("fleetkeeper_records_total")
          .Help("Input records by topic and the outcome they got")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& commit =
      prometheus::BuildHistogram()
          .Name("fleetkeeper_commit_duration_seconds")
          .Help("Transaction (or offset) commit")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& transactions =
      prometheus::BuildCounter()
          .Name("fleetkeeper_transactions_total")
          .Help("Kafka transactions by result")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& batch =
      prometheus::BuildHistogram()
          .Name("fleetkeeper_batch_duration_seconds")
          .Help("A batch, from when it starts filling to the end of its commit")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& lag =
      prometheus::BuildGauge()
          .Name("fleetkeeper_consumer_lag")
          .Help("Records on an assigned partition not read yet")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& workflows =
      prometheus::BuildGauge()
          .Name("fleetkeeper_workflows")
          .Help("Live workflows of this worker's partitions by handler and state")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& breaker_open =
      prometheus::BuildGauge()
          .Name("fleetkeeper_circuit_breaker_open")
          .Help("1 while the cell's self-healing circuit breaker is open (as of its last decision)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& breaker_actions =
      prometheus::BuildGauge()
          .Name("fleetkeeper_circuit_breaker_actions")
          .Help("Self-healing actions within the cell's breaker window (as of its last decision)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& breaker_closes =
      prometheus::BuildGauge()
          .Name("fleetkeeper_circuit_breaker_closes_at_seconds")
          .Help("Unix time the cell's open circuit breaker closes; 0 while closed")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& capacity_reserved =
      prometheus::BuildGauge()
          .Name("fleetkeeper_capacity_reserved")
          .Help("Units workflows hold out of service in a group of the cell's blast-radius ledger")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& capacity_claims =
      prometheus::BuildCounter()
          .Name("fleetkeeper_capacity_claims_total")
          .Help("Capacity claims on the cell's blast-radius ledger, granted or refused")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& finished =
      prometheus::BuildCounter()
          .Name("fleetkeeper_workflows_finished_total")
          .Help("Finished workflows by handler and final status")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& steps =
      prometheus::BuildHistogram()
          .Name("fleetkeeper_step_duration_seconds")
          .Help("One workflow step on the executor, AWS calls included")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& aws_calls =
      prometheus::BuildCounter()
          .Name("fleetkeeper_aws_calls_total")
          .Help("AWS API calls by service, operation and outcome")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& aws_retries =
      prometheus::BuildCounter()
          .Name("fleetkeeper_aws_retries_total")
          .Help("AWS call attempts after the first")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& aws_quota =
      prometheus::BuildGauge()
          .Name("fleetkeeper_aws_retry_quota_available")
          .Help("Tokens left in the AWS client's retry quota")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& aws_rate =
      prometheus::BuildGauge()
          .Name("fleetkeeper_aws_adaptive_rate")
          .Help("The adaptive rate limiter's send rate, requests per second (0: off)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& frozen = prometheus::BuildGauge()
                                                      .Name("fleetkeeper_frozen")
                                                      .Help("1 while a freeze holds mutating steps")
                                                      .Register(registry);
  prometheus::Family<prometheus::Gauge>& backpressured =
      prometheus::BuildGauge()
          .Name("fleetkeeper_backpressure_paused_partitions")
          .Help(
              "Work partitions paused because they hold runtime.max_pending_per_partition "
              "unfinished workflows")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& ready =
      prometheus::BuildGauge()
          .Name("fleetkeeper_ready")
          .Help(
              "1 when the worker is ready (partitions assigned and restored, producer not fenced)")
          .Register(registry);
};

Families& F() {
  static Families* families = new Families();  // never destroyed: threads may record at exit
  return *families;
}

std::string S(std::string_view text) { return std::string(text); }

}  // namespace

prometheus::Registry& Registry() { return F().registry; }

std::string TextExposition() {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, F().registry.Collect());
  return out.str();
}

prometheus::Counter& RecordsIn(std::string_view topic, std::string_view outcome) {
  // Once per record on the pipeline's threads: a thread's own cache spares the family's lock.
  thread_local std::unordered_map<std::string, prometheus::Counter*> cache;
  std::string key = S(topic);
  key += '\0';
  key += outcome;
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  prometheus::Counter& counter = F().records.Add({{"topic", S(topic)}, {"outcome", S(outcome)}});
  cache.emplace(std::move(key), &counter);
  return counter;
}
prometheus::Histogram& CommitDuration() { return F().commit.Add({}, LatencyBuckets()); }
prometheus::Counter& Transactions(bool committed) {
  return F().transactions.Add({{"result", committed ? "committed" : "aborted"}});
}
prometheus::Histogram& BatchDuration() { return F().batch.Add({}, LatencyBuckets()); }

prometheus::Gauge& ConsumerLag(std::string_view topic, int32_t partition) {
  return F().lag.Add({{"topic", S(topic)}, {"partition", std::to_string(partition)}});
}

void RemoveConsumerLag(std::string_view topic, int32_t partition) {
  F().lag.Remove(&ConsumerLag(topic, partition));
}

void SetWorkflows(const WorkflowCounts& counts) {
  static std::mutex mu;
  static std::set<std::pair<std::string, std::string>> reported;
  std::lock_guard lock(mu);
  for (const auto& key : reported) {
    if (!counts.count(key))
      F().workflows.Add({{"handler", key.first}, {"state", key.second}}).Set(0);
  }
  for (const auto& [key, n] : counts) {
    F().workflows.Add({{"handler", key.first}, {"state", key.second}}).Set(static_cast<double>(n));
    reported.insert(key);
  }
}

void SetCircuitBreaker(std::string_view cell, bool open, int actions, int64_t closes_at_ms) {
  const Labels labels{{"cell", S(cell)}};
  F().breaker_open.Add(labels).Set(open ? 1 : 0);
  F().breaker_actions.Add(labels).Set(actions);
  F().breaker_closes.Add(labels).Set(open ? static_cast<double>(closes_at_ms) / 1000.0 : 0);
}

void SetCapacityReserved(std::string_view cell, std::string_view group, size_t units) {
  const Labels labels{{"cell", S(cell)}, {"group", S(group)}};
  prometheus::Gauge& gauge = F().capacity_reserved.Add(labels);
  if (units == 0) {
    F().capacity_reserved.Remove(&gauge);
  } else {
    gauge.Set(static_cast<double>(units));
  }
}

prometheus::Counter& CapacityClaims(std::string_view cell, bool granted) {
  return F().capacity_claims.Add(
      {{"cell", S(cell)}, {"decision", granted ? "granted" : "refused"}});
}

prometheus::Counter& WorkflowsFinished(std::string_view handler, std::string_view status) {
  return F().finished.Add({{"handler", S(handler)}, {"status", S(status)}});
}
prometheus::Histogram& StepDuration(std::string_view handler) {
  return F().steps.Add({{"handler", S(handler)}}, LatencyBuckets());
}
prometheus::Counter& AwsCalls(std::string_view service, std::string_view operation,
                              std::string_view outcome) {
  return F().aws_calls.Add(
      {{"service", S(service)}, {"operation", S(operation)}, {"outcome", S(outcome)}});
}
prometheus::Counter& AwsRetries(std::string_view service) {
  return F().aws_retries.Add({{"service", S(service)}});
}
prometheus::Gauge& AwsRetryQuota(std::string_view service) {
  return F().aws_quota.Add({{"service", S(service)}});
}
prometheus::Gauge& AwsAdaptiveRate(std::string_view service) {
  return F().aws_rate.Add({{"service", S(service)}});
}
prometheus::Gauge& Frozen() { return F().frozen.Add({}); }
prometheus::Gauge& Ready() { return F().ready.Add({}); }
prometheus::Gauge& BackpressurePaused() { return F().backpressured.Add({}); }

Health& ProcessHealth() {
  static Health* health = new Health();  // never destroyed, as the families
  return *health;
}

}  // namespace fleetkeeper::metrics
