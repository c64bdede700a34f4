#include "awsclient/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace fleetkeeper::aws {

void RealSleeper::SleepMs(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

RealSleeper& RealSleeper::Instance() {
  static RealSleeper sleeper;
  return sleeper;
}

RandomSource DefaultRandom() {
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

RetryConfig RetryConfig::FromEnvironment() {
  // Configuration is read at start-up, where exceptions are the project's error channel.
  RetryConfig config;
  if (const char* v = std::getenv("AWS_MAX_ATTEMPTS"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 100) {
      throw std::invalid_argument(
          std::string("AWS_MAX_ATTEMPTS: must be an integer 1..100, got '") + v + "'");
    }
    config.max_attempts = static_cast<int>(n);
  }
  if (const char* v = std::getenv("AWS_RETRY_MODE"); v != nullptr && *v != '\0') {
    std::string mode(v);
    if (mode == "adaptive") {
      config.mode = RetryMode::kAdaptive;
    } else if (mode == "standard" || mode == "legacy") {
      config.mode = RetryMode::kStandard;
    } else {
      throw std::invalid_argument("AWS_RETRY_MODE: must be standard, adaptive or legacy, got '" +
                                  mode + "'");
    }
  }
  return config;
}

int64_t BackoffMs(const RetryConfig& config, int attempt, double random01) {
  const int exponent = std::clamp(attempt - 1, 0, 30);
  const double ceiling =
      std::min(static_cast<double>(config.base_backoff_ms) * std::ldexp(1.0, exponent),
               static_cast<double>(config.max_backoff_ms));
  return static_cast<int64_t>(std::clamp(random01, 0.0, 1.0) * ceiling);
}

std::optional<int> RetryQuota::AcquireForRetry(bool after_timeout) {
  const int cost = after_timeout ? kTimeoutRetryCost : kRetryCost;
  std::lock_guard lock(mu_);
  if (available_ < cost) return std::nullopt;
  available_ -= cost;
  return cost;
}

void RetryQuota::RecordSuccess(int retry_cost) {
  std::lock_guard lock(mu_);
  available_ = std::min(capacity_, available_ + (retry_cost > 0 ? retry_cost : kNoRetryIncrement));
}

int RetryQuota::available() const {
  std::lock_guard lock(mu_);
  return available_;
}

double AdaptiveRateLimiter::NowSeconds() const {
  return static_cast<double>(clock_.MonotonicMs()) / 1000.0;
}

void AdaptiveRateLimiter::RefillLocked(double now) {
  if (last_timestamp_ < 0) {
    last_timestamp_ = now;
    return;
  }
  const double fill = (now - last_timestamp_) * fill_rate_;
  current_capacity_ = std::min(max_capacity_, current_capacity_ + fill);
  last_timestamp_ = now;
}

int64_t AdaptiveRateLimiter::Acquire() {
  int64_t wait_ms = 0;
  {
    std::lock_guard lock(mu_);
    if (!enabled_) return 0;
    RefillLocked(NowSeconds());
    // Reserve the token now (the capacity may go negative) so that concurrent callers queue up
    // behind each other instead of all waking at once.
    if (current_capacity_ < 1.0) {
      wait_ms = static_cast<int64_t>(std::ceil((1.0 - current_capacity_) / fill_rate_ * 1000.0));
    }
    current_capacity_ -= 1.0;
  }
  sleeper_.SleepMs(wait_ms);
  return wait_ms;
}

void AdaptiveRateLimiter::UpdateMeasuredRateLocked(double now) {
  const double bucket = std::floor(now * 2.0) / 2.0;
  ++request_count_;
  if (last_tx_rate_bucket_ < 0) {
    last_tx_rate_bucket_ = bucket;
    return;
  }
  if (bucket > last_tx_rate_bucket_) {
    const double current = request_count_ / (bucket - last_tx_rate_bucket_);
    measured_tx_rate_ = current * kSmooth + measured_tx_rate_ * (1.0 - kSmooth);
    request_count_ = 0;
    last_tx_rate_bucket_ = bucket;
  }
}

void AdaptiveRateLimiter::UpdateRateLocked(double rate, double now) {
  RefillLocked(now);
  fill_rate_ = std::max(rate, kMinFillRate);
  max_capacity_ = std::max(rate, kMinCapacity);
  current_capacity_ = std::min(current_capacity_, max_capacity_);
}

void AdaptiveRateLimiter::RecordResponse(bool throttled) {
  std::lock_guard lock(mu_);
  const double now = NowSeconds();
  UpdateMeasuredRateLocked(now);
  double calculated;
  if (throttled) {
    const double rate_to_use =
        enabled_ ? std::min(measured_tx_rate_, fill_rate_) : measured_tx_rate_;
    last_max_rate_ = rate_to_use;
    time_window_ = std::cbrt(last_max_rate_ * (1.0 - kBeta) / kScaleConstant);
    last_throttle_time_ = now;
    calculated = rate_to_use * kBeta;
    if (!enabled_) {
      enabled_ = true;
      current_capacity_ = 0;
      last_timestamp_ = now;
    }
  } else {
    time_window_ = std::cbrt(last_max_rate_ * (1.0 - kBeta) / kScaleConstant);
    const double dt = now - last_throttle_time_ - time_window_;
    calculated = kScaleConstant * dt * dt * dt + last_max_rate_;
  }
  if (!enabled_) return;  // nothing to limit until the service has pushed back once
  UpdateRateLocked(std::min(calculated, 2.0 * measured_tx_rate_), now);
}

double AdaptiveRateLimiter::fill_rate() const {
  std::lock_guard lock(mu_);
  return fill_rate_;
}

double AdaptiveRateLimiter::measured_rate() const {
  std::lock_guard lock(mu_);
  return measured_tx_rate_;
}

bool AdaptiveRateLimiter::enabled() const {
  std::lock_guard lock(mu_);
  return enabled_;
}

}  // namespace fleetkeeper::aws
