#include "awsclient/retry.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/awsclient/unit/fake_time.h"

namespace fleetkeeper::aws {
namespace {

using testing::ClockSleeper;

TEST(BackoffTest, FullJitterWithinExponentialCeilingCappedAtTwentySeconds) {
  RetryConfig config;
  EXPECT_EQ(BackoffMs(config, 1, 0.0), 0);
  EXPECT_EQ(BackoffMs(config, 1, 0.5), 500);
  EXPECT_EQ(BackoffMs(config, 2, 0.5), 1000);
  EXPECT_EQ(BackoffMs(config, 3, 0.999), 3996);
  EXPECT_EQ(BackoffMs(config, 5, 1.0), 16000);
  EXPECT_EQ(BackoffMs(config, 6, 1.0), 20000) << "32 s is capped at 20 s";
  EXPECT_EQ(BackoffMs(config, 60, 1.0), 20000) << "large attempt numbers must not overflow";
}

TEST(RetryQuotaTest, RetriesDrainTheQuotaUntilItRefuses) {
  RetryQuota quota(500);
  int retries = 0;
  while (quota.AcquireForRetry(/*after_timeout=*/false)) ++retries;
  EXPECT_EQ(retries, 100) << "500 tokens at 5 per retry";
  EXPECT_EQ(quota.available(), 0);
  quota.RecordSuccess(0);
  EXPECT_EQ(quota.available(), 1) << "a first-attempt success adds one token";
}

TEST(RetryQuotaTest, TimeoutsCostTenAndSuccessfulRetriesRefund) {
  RetryQuota quota(500);
  auto cost = quota.AcquireForRetry(/*after_timeout=*/true);
  ASSERT_TRUE(cost.has_value());
  EXPECT_EQ(*cost, 10);
  EXPECT_EQ(quota.available(), 490);
  quota.RecordSuccess(*cost);
  EXPECT_EQ(quota.available(), 500);
  quota.RecordSuccess(0);
  EXPECT_EQ(quota.available(), 500) << "never above capacity";
}

TEST(RetryQuotaTest, TimeoutRetryRefusedWhenFewerThanTenTokensLeft) {
  RetryQuota quota(8);
  EXPECT_FALSE(quota.AcquireForRetry(true).has_value());
  EXPECT_TRUE(quota.AcquireForRetry(false).has_value());
}

TEST(RetryConfigTest, ReadsEnvironmentAndRejectsGarbage) {
  setenv("AWS_MAX_ATTEMPTS", "7", 1);
  setenv("AWS_RETRY_MODE", "adaptive", 1);
  RetryConfig config = RetryConfig::FromEnvironment();
  EXPECT_EQ(config.max_attempts, 7);
  EXPECT_EQ(config.mode, RetryMode::kAdaptive);
  setenv("AWS_MAX_ATTEMPTS", "many", 1);
  EXPECT_THROW(RetryConfig::FromEnvironment(), std::invalid_argument);
  setenv("AWS_MAX_ATTEMPTS", "3", 1);
  setenv("AWS_RETRY_MODE", "aggressive", 1);
  EXPECT_THROW(RetryConfig::FromEnvironment(), std::invalid_argument);
  unsetenv("AWS_MAX_ATTEMPTS");
  unsetenv("AWS_RETRY_MODE");
  EXPECT_EQ(RetryConfig::FromEnvironment().max_attempts, 3);
}

// Sends at `rate` requests per second for `seconds`, feeding each answer to the limiter.
void Send(AdaptiveRateLimiter& limiter, ManualClock& clock, double rate, double seconds,
          bool throttled = false) {
  const int64_t step = static_cast<int64_t>(1000.0 / rate);
  for (int64_t elapsed = 0; elapsed < seconds * 1000; elapsed += step) {
    limiter.Acquire();
    limiter.RecordResponse(throttled);
    clock.Advance(step);
  }
}

TEST(AdaptiveRateLimiterTest, NoLimitUntilTheFirstThrottle) {
  ManualClock clock;
  ClockSleeper sleeper(clock);
  AdaptiveRateLimiter limiter(clock, sleeper);
  Send(limiter, clock, 50, 2);
  EXPECT_FALSE(limiter.enabled());
  for (int64_t s : sleeper.sleeps()) EXPECT_EQ(s, 0);
}

TEST(AdaptiveRateLimiterTest, ThrottleCutsTheRateThenItRecovers) {
  ManualClock clock;
  ClockSleeper sleeper(clock);
  AdaptiveRateLimiter limiter(clock, sleeper);
  Send(limiter, clock, 10, 5);
  const double measured = limiter.measured_rate();
  EXPECT_NEAR(measured, 10.0, 1.0);

  limiter.Acquire();
  limiter.RecordResponse(/*throttled=*/true);
  ASSERT_TRUE(limiter.enabled());
  EXPECT_NEAR(limiter.fill_rate(), 0.7 * measured, 0.01) << "beta = 0.7";

  // A second throttle right away cuts further.
  limiter.RecordResponse(true);
  const double after_two = limiter.fill_rate();
  EXPECT_LT(after_two, 0.7 * measured);

  // Calls now wait for tokens: the bucket was emptied at the first throttle.
  const int64_t waited = limiter.Acquire();
  EXPECT_GT(waited, 0);
  EXPECT_LE(waited, static_cast<int64_t>(1000.0 / after_two) + 1);

  // Successful calls grow the rate back beyond the last cut, along the cubic.
  double previous = after_two;
  for (int second = 0; second < 8; ++second) {
    for (int i = 0; i < 5; ++i) {
      limiter.Acquire();
      limiter.RecordResponse(false);
      clock.Advance(200);
    }
    EXPECT_GE(limiter.fill_rate() + 1e-9, previous * 0.999) << "second " << second;
    previous = limiter.fill_rate();
  }
  EXPECT_GT(limiter.fill_rate(), after_two) << "the rate recovered";
}

TEST(AdaptiveRateLimiterTest, SustainedThrottlingPacesCallsAtTheFillRate) {
  ManualClock clock;
  ClockSleeper sleeper(clock);
  AdaptiveRateLimiter limiter(clock, sleeper);
  Send(limiter, clock, 20, 3);
  for (int i = 0; i < 15; ++i) limiter.RecordResponse(true);
  EXPECT_NEAR(limiter.fill_rate(), 0.5, 1e-9) << "floor of the fill rate";
  const int64_t start = clock.MonotonicMs();
  for (int i = 0; i < 5; ++i) limiter.Acquire();
  // Five tokens at 0.5/s: at least ~8 s of waiting in mocked time, no real sleeping.
  EXPECT_GE(clock.MonotonicMs() - start, 8000);
}

}  // namespace
}  // namespace fleetkeeper::aws
