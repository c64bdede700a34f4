// When a waiting workflow looks at AWS next: the first point of a grid of `interval_ms` (counted
// from the epoch, the same for every workflow of the worker) at least half an interval after
// `now_ms`. Waiters that started together thus look together, and their reads go out as one call
// (a cell's describe coalescer, a patch batch's shared reads); looking at once after the call that
// started a transition would only ever see the transition in progress. Used by the AMI rollout and
// the patch workflow.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fleetkeeper::handlers {

inline int64_t NextPollOnGrid(int64_t now_ms, int64_t interval_ms) {
  const int64_t p = std::max<int64_t>(interval_ms, 1);
  return ((now_ms + p / 2) / p + 1) * p;
}

}  // namespace fleetkeeper::handlers
