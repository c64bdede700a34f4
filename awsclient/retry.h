// The SDKs' "standard" retry mode and the optional "adaptive" client-side rate limiter.
// Every source of nondeterminism (time, sleeping, randomness) is injected so that tests run
// with mocked time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "common/clock.h"

namespace fleetkeeper::aws {

// Blocks the calling thread. The AWS client only ever sleeps on executor threads.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepMs(int64_t ms) = 0;
};

class RealSleeper final : public Sleeper {
 public:
  void SleepMs(int64_t ms) override;
  static RealSleeper& Instance();
};

// Uniform in [0, 1).
using RandomSource = std::function<double()>;
RandomSource DefaultRandom();

enum class RetryMode { kStandard, kAdaptive };

struct RetryConfig {
  int max_attempts = 3;  // first attempt included
  RetryMode mode = RetryMode::kStandard;
  int64_t base_backoff_ms = 1000;  // b in b * 2^i
  int64_t max_backoff_ms = 20'000;
  int quota_capacity = 500;

  // AWS_MAX_ATTEMPTS and AWS_RETRY_MODE (standard | adaptive; "legacy" is read as standard).
  // Invalid values fail with the variable's name.
  static RetryConfig FromEnvironment();
};

// Full-jitter exponential backoff before attempt `attempt + 1`, where `attempt` (1-based) is the
// attempt that just failed: random * min(base * 2^(attempt-1), max).
int64_t BackoffMs(const RetryConfig& config, int attempt, double random01);

// The retry budget shared by every call of one client: a retry costs 5 tokens (10 after a
// timeout); a retried call that then succeeds gives its cost back; a first-attempt success adds
// 1 token, up to the capacity. When the quota cannot pay, the call fails without retrying, so
// that an outage is not multiplied by retries. Thread-safe.
class RetryQuota {
 public:
  static constexpr int kRetryCost = 5;
  static constexpr int kTimeoutRetryCost = 10;
  static constexpr int kNoRetryIncrement = 1;

  explicit RetryQuota(int capacity = 500) : capacity_(capacity), available_(capacity) {}

  // The tokens taken, or nullopt when the quota is exhausted.
  std::optional<int> AcquireForRetry(bool after_timeout);
  // A call succeeded: `retry_cost` is what its retries took (0 for a first-attempt success).
  void RecordSuccess(int retry_cost);
  int available() const;
  int capacity() const { return capacity_; }

 private:
  mutable std::mutex mu_;
  const int capacity_;
  int available_;
};

// Adaptive mode's client-side token bucket, with its fill rate driven by a CUBIC-like
// controller: every throttled answer cuts the rate to beta (0.7) times the rate measured when it
// happened; successes grow it back along a cubic curve that passes the last maximum again. The
// bucket is enabled at the first throttle; until then calls pass freely. Thread-safe: Acquire()
// reserves a token under the lock and sleeps outside it.
class AdaptiveRateLimiter {
 public:
  AdaptiveRateLimiter(const Clock& clock, Sleeper& sleeper) : clock_(clock), sleeper_(sleeper) {}

  // Waits (in the calling thread) until a send token is available. Returns the wait in ms.
  int64_t Acquire();
  // Feeds the answer of a call: throttled or not.
  void RecordResponse(bool throttled);

  // Observability and tests.
  double fill_rate() const;
  double measured_rate() const;
  bool enabled() const;

 private:
  double NowSeconds() const;
  void RefillLocked(double now);
  void UpdateRateLocked(double rate, double now);
  void UpdateMeasuredRateLocked(double now);

  static constexpr double kBeta = 0.7;
  static constexpr double kScaleConstant = 0.4;
  static constexpr double kSmooth = 0.8;
  static constexpr double kMinFillRate = 0.5;
  static constexpr double kMinCapacity = 1.0;

  const Clock& clock_;
  Sleeper& sleeper_;
  mutable std::mutex mu_;
  bool enabled_ = false;
  double fill_rate_ = 0;
  double max_capacity_ = 0;
  double current_capacity_ = 0;
  double last_timestamp_ = -1;
  double measured_tx_rate_ = 0;
  double last_tx_rate_bucket_ = -1;
  int request_count_ = 0;
  double last_max_rate_ = 0;
  double last_throttle_time_ = 0;
  double time_window_ = 0;
};

}  // namespace fleetkeeper::aws
