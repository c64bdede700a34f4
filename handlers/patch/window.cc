#include "handlers/patch/window.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <string_view>
#include <vector>

namespace fleetkeeper::handlers::patch {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int kDayMinutes = 24 * 60;
// Cron's day-of-week numbers: 0 = Sunday.
constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

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

// "Mon", "monday", "MON" -> 1 (by the first three letters); -1 when it is no day.
int DayNumber(const std::string& in) {
  if (in.size() < 3) return -1;
  std::string day = in.substr(0, 3);
  for (auto& c : day) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t k = 0; k < kDays.size(); ++k) {
    std::string name(kDays[k]);
    name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    if (name == day) return static_cast<int>(k);
  }
  return -1;
}

}  // namespace

Result<std::string> WindowExpression(const v1::MaintenanceWindow& in) {
  const int start = Minutes(in.start());
  if (start < 0) {
    return InvalidInput(fmt::format("maintenance_window.start: \"{}\" is not HH:MM", in.start()));
  }
  if (Minutes(in.end()) < 0) {
    return InvalidInput(fmt::format("maintenance_window.end: \"{}\" is not HH:MM", in.end()));
  }
  std::vector<int> days;
  for (int i = 0; i < in.days_size(); ++i) {
    const int d = DayNumber(in.days(i));
    if (d < 0) {
      return InvalidInput(fmt::format("maintenance_window.days[{}]: \"{}\" is not a day (Mon..Sun)",
                                      i, in.days(i)));
    }
    days.push_back(d);
  }
  return fmt::format("{} {} * * {}", start % 60, start / 60,
                     days.empty() ? std::string("*") : fmt::format("{}", fmt::join(days, ",")));
}

Result<Window> ParseWindow(const v1::MaintenanceWindow& in) {
  auto expression = WindowExpression(in);
  if (!expression.ok()) return expression.error();
  std::string error;
  auto zone = in.time_zone().empty() ? std::optional<TimeZone>(TimeZone::Utc())
                                     : TimeZone::Find(in.time_zone(), &error);
  if (!zone) {
    return InvalidInput(fmt::format(
        "maintenance_window.time_zone: \"{}\" is not an IANA time zone such as Europe/Berlin or "
        "UTC ({})",
        in.time_zone(), error));
  }
  auto schedule = Schedule::Parse(*expression, *zone, &error);
  if (!schedule) {
    return InvalidInput(fmt::format("maintenance_window: {} ({})", error, *expression));
  }
  // Until `end` on the clock: past midnight when it is at or before `start` (a whole day when
  // equal). The length is fixed, so on a day the clocks change the window ends an hour off.
  int minutes = Minutes(in.end()) - Minutes(in.start());
  if (minutes <= 0) minutes += kDayMinutes;
  return Window{RecurringWindow(std::move(*schedule), minutes * kMinuteMs)};
}

bool InsideWindow(const Window& w, int64_t now_ms) {
  return w.recurring.OpenUntil(now_ms).has_value();
}

int64_t NextOpening(const Window& w, int64_t now_ms) { return w.recurring.NextOpen(now_ms); }

}  // namespace fleetkeeper::handlers::patch
