// Mocked time for the AWS client tests: a sleeper that advances a ManualClock instead of
// blocking, and records every sleep.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "awsclient/retry.h"
#include "common/clock.h"

namespace fleetkeeper::aws::testing {

class ClockSleeper final : public Sleeper {
 public:
  explicit ClockSleeper(ManualClock& clock) : clock_(clock) {}
  void SleepMs(int64_t ms) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(ms);
    if (ms > 0) clock_.Advance(ms);
  }
  std::vector<int64_t> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  ManualClock& clock_;
  mutable std::mutex mu_;
  std::vector<int64_t> sleeps_;
};

}  // namespace fleetkeeper::aws::testing
