// The gauges whose series come and go (common/metrics.h): workflows by state, consumer lag per
// partition, the circuit breaker per cell, as /metrics shows them.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace fleetkeeper::metrics {
namespace {

bool Has(const std::string& text, const std::string& sample) {
  return text.find(sample) != std::string::npos;
}

TEST(Metrics, WorkflowsByStateFallToZeroWhenGone) {
  SetWorkflows({{{"ami_rollout", "waiting"}, 3}, {{"self_healing", "running"}, 1}});
  std::string text = TextExposition();
  EXPECT_TRUE(Has(text, "fleetkeeper_workflows{handler=\"ami_rollout\",state=\"waiting\"} 3"))
      << text;
  EXPECT_TRUE(Has(text, "fleetkeeper_workflows{handler=\"self_healing\",state=\"running\"} 1"));
  SetWorkflows({{{"ami_rollout", "running"}, 2}});
  text = TextExposition();
  EXPECT_TRUE(Has(text, "fleetkeeper_workflows{handler=\"ami_rollout\",state=\"waiting\"} 0"));
  EXPECT_TRUE(Has(text, "fleetkeeper_workflows{handler=\"self_healing\",state=\"running\"} 0"));
  EXPECT_TRUE(Has(text, "fleetkeeper_workflows{handler=\"ami_rollout\",state=\"running\"} 2"));
}

TEST(Metrics, ConsumerLagOfARevokedPartitionIsDropped) {
  ConsumerLag("fleet.events", 4).Set(17);
  EXPECT_TRUE(
      Has(TextExposition(), "fleetkeeper_consumer_lag{partition=\"4\",topic=\"fleet.events\"} 17"));
  RemoveConsumerLag("fleet.events", 4);
  EXPECT_FALSE(Has(TextExposition(), "partition=\"4\",topic=\"fleet.events\""));
}

TEST(Metrics, CircuitBreakerPerCell) {
  SetCircuitBreaker("111122223333/us-east-1", true, 8, 1'800'000'000'000);
  SetCircuitBreaker("111122223333/eu-west-1", false, 2, 0);
  const std::string text = TextExposition();
  EXPECT_TRUE(Has(text, "fleetkeeper_circuit_breaker_open{cell=\"111122223333/us-east-1\"} 1"));
  EXPECT_TRUE(Has(text, "fleetkeeper_circuit_breaker_actions{cell=\"111122223333/us-east-1\"} 8"));
  EXPECT_TRUE(Has(text,
                  "fleetkeeper_circuit_breaker_closes_at_seconds{cell=\"111122223333/"
                  "us-east-1\"} 1800000000"));
  EXPECT_TRUE(Has(text, "fleetkeeper_circuit_breaker_open{cell=\"111122223333/eu-west-1\"} 0"));
  EXPECT_TRUE(Has(
      text, "fleetkeeper_circuit_breaker_closes_at_seconds{cell=\"111122223333/eu-west-1\"} 0"));
}

}  // namespace
}  // namespace fleetkeeper::metrics
