#include "common/duration.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <utility>

namespace fleetkeeper {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

}  // namespace

std::optional<google::protobuf::Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t millis = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits_begin = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
    // 12 digits of any unit stay far from int64 overflow once scaled to milliseconds.
    if (i == digits_begin || i - digits_begin > 12) return std::nullopt;
    int64_t amount = 0;
    std::from_chars(text.data() + digits_begin, text.data() + i, amount);
    int64_t unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit_ms = 1000;
          break;
        case 'm':
          unit_ms = 60 * 1000;
          break;
        case 'h':
          unit_ms = 3600 * 1000;
          break;
        case 'd':
          unit_ms = kSecondsPerDay * 1000;
          break;
        default:
          return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a bare number: the unit is required
    }
    millis += amount * unit_ms;
  }
  google::protobuf::Duration d;
  d.set_seconds(millis / 1000);
  d.set_nanos(static_cast<int32_t>((millis % 1000) * kNanosPerMilli));
  return d;
}

std::string FormatDuration(const google::protobuf::Duration& duration) {
  int64_t millis = duration.seconds() * 1000 + duration.nanos() / kNanosPerMilli;
  if (millis <= 0) return "0s";
  std::string out;
  const std::pair<int64_t, const char*> units[] = {
      {kSecondsPerDay * 1000, "d"}, {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [unit_ms, suffix] : units) {
    if (millis >= unit_ms) {
      out += std::to_string(millis / unit_ms) + suffix;
      millis %= unit_ms;
    }
  }
  return out;
}

}  // namespace fleetkeeper
