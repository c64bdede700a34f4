// Durations as fleetkeeper's config and native requests spell them ("90s", "5m", "2h", "1h30m",
// "250ms", "7d"), and protobuf Durations as the milliseconds the code counts in, and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/duration.pb.h>

namespace fleetkeeper {

// Components in any order of d, h, m, s, ms, each a non-negative integer with its unit. nullopt
// when the text is not such a duration.
std::optional<google::protobuf::Duration> ParseDuration(std::string_view text);

// The shortest spelling ParseDuration reads back: "0s", "250ms", "1h30m", "7d".
std::string FormatDuration(const google::protobuf::Duration& duration);

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
