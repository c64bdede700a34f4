// Durations as fleetkeeper's config and native requests spell them: "90s", "5m", "2h", "1h30m",
// "250ms", "7d".
#pragma once

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

}  // namespace fleetkeeper
