// Time as a dependency: handlers, the runtime and the AWS retry logic take a Clock so that tests
// run with mocked time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fleetkeeper {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Monotonic time in milliseconds, for timeouts and rate limiting.
  virtual int64_t MonotonicMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonotonicMs() const override;
  static SystemClock& Instance();
};

// A clock that moves only when told to. Not thread-safe against concurrent Advance().
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms), mono_ms_(0) {}
  int64_t NowMs() const override { return now_ms_; }
  int64_t MonotonicMs() const override { return mono_ms_; }
  void Advance(int64_t ms) {
    now_ms_ += ms;
    mono_ms_ += ms;
  }

 private:
  int64_t now_ms_;
  int64_t mono_ms_;
};

// RFC 3339 UTC with milliseconds: 2026-11-22T03:49:38.123Z
std::string FormatRfc3339(int64_t epoch_ms);
// Parses RFC 3339 / ISO 8601 timestamps as AWS writes them ("2019-05-31T21:49:54Z",
// "2017-01-12T16:30:42.236+0000", fractional seconds, offsets). Returns -1 when unreadable.
int64_t ParseRfc3339Ms(std::string_view text);

}  // namespace fleetkeeper
