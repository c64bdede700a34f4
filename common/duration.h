// Protobuf Durations (config: "90s", "5m") as the milliseconds the code counts in, and back.
#pragma once

#include <cstdint>

#include <google/protobuf/duration.pb.h>

namespace fleetkeeper {

inline int64_t DurationMs(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

// What defaults are filled in with.
inline google::protobuf::Duration DurationOfMs(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return d;
}

}  // namespace fleetkeeper
