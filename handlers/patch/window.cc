#include "handlers/patch/window.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace fleetkeeper::handlers::patch {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 24 * 60 * kMinuteMs;
constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// "HH:MM" as minutes, or -1.
int Minutes(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (int i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return -1;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return -1;
  return h * 60 + m;
}

// Day index (0 = Monday) of a local epoch day; 1970-01-01 was a Thursday.
int Weekday(int64_t local_day) { return static_cast<int>(((local_day % 7) + 7 + 3) % 7); }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool DayIn(const Window& w, int64_t local_day) { return (w.days >> Weekday(local_day)) & 1; }

}  // namespace

Result<Window> ParseWindow(const v1::MaintenanceWindow& in) {
  Window w;
  w.start_minute = Minutes(in.start());
  if (w.start_minute < 0) {
    return InvalidInput("maintenance_window.start: " + fmt::format("\"{}\"", in.start()) +
                        " is not HH:MM");
  }
  w.end_minute = Minutes(in.end());
  if (w.end_minute < 0) {
    return InvalidInput("maintenance_window.end: " + fmt::format("\"{}\"", in.end()) +
                        " is not HH:MM");
  }
  if (in.days_size() > 0) w.days = 0;
  for (int i = 0; i < in.days_size(); ++i) {
    std::string day = in.days(i).substr(0, 3);
    if (!day.empty()) day[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(day[0])));
    for (size_t c = 1; c < day.size(); ++c) {
      day[c] = static_cast<char>(std::tolower(static_cast<unsigned char>(day[c])));
    }
    int found = -1;
    for (size_t k = 0; k < kDays.size(); ++k) {
      if (kDays[k] == day) found = static_cast<int>(k);
    }
    if (found < 0) {
      return InvalidInput(fmt::format("maintenance_window.days[{}]: \"{}\" is not a day (Mon..Sun)",
                                      i, in.days(i)));
    }
    w.days |= 1 << found;
  }
  const std::string& tz = in.time_zone();
  if (!tz.empty() && tz != "UTC") {
    std::string_view v(tz);
    if (v.rfind("UTC", 0) == 0) v.remove_prefix(3);
    const int hm =
        v.size() == 6 && (v[0] == '+' || v[0] == '-') ? Minutes(std::string(v.substr(1))) : -1;
    if (hm < 0 || hm > 14 * 60) {
      return InvalidInput(fmt::format(
          "maintenance_window.time_zone: \"{}\" is not UTC or an offset like +02:00 (zone names "
          "such as Europe/Berlin need the time zone database, not built yet)",
          tz));
    }
    w.offset_minutes = v[0] == '-' ? -hm : hm;
  }
  return w;
}

bool InsideWindow(const Window& w, int64_t now_ms) {
  const int64_t local = now_ms + w.offset_minutes * kMinuteMs;
  const int64_t day = FloorDiv(local, kDayMs);
  const int minute = static_cast<int>((local - day * kDayMs) / kMinuteMs);
  if (w.start_minute < w.end_minute) {
    return DayIn(w, day) && minute >= w.start_minute && minute < w.end_minute;
  }
  // Runs past midnight (or all day when start == end).
  return (DayIn(w, day) && minute >= w.start_minute) ||
         (DayIn(w, day - 1) && minute < w.end_minute);
}

int64_t NextOpening(const Window& w, int64_t now_ms) {
  const int64_t offset = w.offset_minutes * kMinuteMs;
  const int64_t local = now_ms + offset;
  const int64_t day = FloorDiv(local, kDayMs);
  for (int64_t d = day; d <= day + 8; ++d) {
    const int64_t opens = d * kDayMs + w.start_minute * kMinuteMs;
    if (opens > local && DayIn(w, d)) return opens - offset;
  }
  return now_ms + kDayMs;  // no day selected: unreachable after ParseWindow
}

}  // namespace fleetkeeper::handlers::patch
