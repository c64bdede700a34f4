#include "common/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <limits>
#include <vector>

#include <date/tz.h>
#include <fmt/format.h>

#include "common/duration.h"

namespace fleetkeeper {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using LocalMinute = date::local_time<minutes>;

struct Field {
  const char* name;
  unsigned low;
  unsigned high;
  const std::array<const char*, 12>* names;  // spelled values, from `low`; null when none
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                   "THU", "FRI", "SAT", nullptr};

constexpr Field kFields[] = {
    {"minute", 0, 59, nullptr},        {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},  {"month", 1, 12, &kMonthNames},
    {"day-of-week", 0, 7, &kDayNames},
};

// A day field's days in the longest month (February counts 29: a leap day fires every 4 years).
constexpr unsigned kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

// Ten years of days bounds every search: the rarest valid expression (29 February on a given
// weekday, or a leap day alone) fires within that.
constexpr int kSearchDays = 3660;

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<unsigned> ParseValue(std::string_view text, const Field& field) {
  if (field.names != nullptr) {
    const std::string upper = Upper(text);
    for (unsigned i = 0; i < field.names->size() && (*field.names)[i] != nullptr; ++i) {
      if (upper == (*field.names)[i]) return field.low + i;
    }
  }
  if (text.empty() || text.size() > 2) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// Parses one field into `bits` (indexed by value). Returns an error naming the field, or "".
std::string ParseField(std::string_view text, const Field& field, std::vector<bool>& bits,
                       bool* star) {
  bits.assign(field.high + 1, false);
  *star = text == "*";
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    const auto bad = [&](const std::string& why) {
      return fmt::format("cron {} field \"{}\": {}", field.name, text, why);
    };
    if (item.empty()) return bad("an empty list item");
    std::string_view range = item;
    unsigned step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const auto parsed = ParseValue(item.substr(slash + 1), Field{field.name, 1, 99, nullptr});
      if (!parsed || *parsed == 0) return bad("the step after '/' must be a number from 1");
      step = *parsed;
    }
    unsigned low = field.low;
    unsigned high = field.high;
    if (range != "*") {
      const size_t dash = range.find('-');
      const auto first = ParseValue(range.substr(0, dash), field);
      if (!first) {
        return bad(fmt::format("\"{}\" is not a value ({}-{}{})", range.substr(0, dash), field.low,
                               field.high, field.names ? " or a name" : ""));
      }
      low = *first;
      high = *first;
      if (dash != std::string_view::npos) {
        const auto last = ParseValue(range.substr(dash + 1), field);
        if (!last) return bad(fmt::format("\"{}\" is not a value", range.substr(dash + 1)));
        high = *last;
      } else if (step != 1) {
        high = field.high;  // "5/15": from 5 to the end, as cron reads it
      }
    }
    if (low < field.low || high > field.high) {
      return bad(fmt::format("out of range {}-{}", field.low, field.high));
    }
    if (low > high) return bad(fmt::format("the range {}-{} runs backwards", low, high));
    for (unsigned v = low; v <= high; v += step) bits[v] = true;
    if (comma == text.size()) break;
  }
  return "";
}

std::string_view Macro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return {};
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::optional<TimeZone> TimeZone::Find(std::string_view name, std::string* error) {
  try {
    const date::time_zone* zone = date::locate_zone(name);
    return TimeZone(std::string(name), zone);
  } catch (const std::exception&) {
    if (error) {
      *error =
          fmt::format("unknown time zone \"{}\" (an IANA name such as UTC or Europe/Paris)", name);
    }
    return std::nullopt;
  }
}

TimeZone TimeZone::Utc() {
  static const date::time_zone* utc = date::locate_zone("UTC");
  return TimeZone("UTC", utc);
}

std::string TimeZone::FormatLocal(int64_t unix_ms) const {
  const auto sys = date::sys_time<std::chrono::seconds>(
      std::chrono::floor<std::chrono::seconds>(milliseconds{unix_ms}));
  const auto info = zone_->get_info(sys);
  const auto local = sys + info.offset;
  const auto offset = std::chrono::duration_cast<minutes>(info.offset).count();
  const int64_t abs_offset = offset < 0 ? -offset : offset;
  return date::format("%FT%T", local) +
         fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', abs_offset / 60, abs_offset % 60);
}

std::optional<Schedule> Schedule::Parse(std::string_view expression, const TimeZone& zone,
                                        std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<Schedule> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  std::vector<std::string_view> words = Words(expression);
  Schedule schedule{std::string(expression), zone};
  if (words.size() == 2 && words[0] == "@every") {
    const auto every = ParseDuration(words[1]);
    if (!every || DurationMs(*every) < 1000) {
      return fail(fmt::format("\"{}\": @every takes a duration of at least 1s, such as 30s or 1h",
                              expression));
    }
    schedule.every_ms_ = DurationMs(*every);
    return schedule;
  }
  if (words.size() == 1 && !Macro(words[0]).empty()) words = Words(Macro(words[0]));
  if (words.size() != 5) {
    return fail(fmt::format(
        "cron \"{}\" has {} fields; expected 5 (minute hour day-of-month month day-of-week), a "
        "macro such as @daily, or @every <duration>",
        expression, words.size()));
  }
  std::vector<bool> bits;
  bool star = false;
  for (size_t i = 0; i < 5; ++i) {
    if (std::string err = ParseField(words[i], kFields[i], bits, &star); !err.empty()) {
      return fail(std::move(err));
    }
    for (unsigned v = 0; v < bits.size(); ++v) {
      if (!bits[v]) continue;
      switch (i) {
        case 0:
          schedule.minutes_.set(v);
          break;
        case 1:
          schedule.hours_.set(v);
          break;
        case 2:
          schedule.days_of_month_.set(v);
          break;
        case 3:
          schedule.months_.set(v);
          break;
        default:
          schedule.days_of_week_.set(v % 7);
          break;
      }
    }
    if (i == 2) schedule.day_of_month_star_ = star;
    if (i == 4) schedule.day_of_week_star_ = star;
  }
  if (schedule.day_of_week_star_ && !schedule.day_of_month_star_) {
    bool fires = false;
    for (unsigned m = 1; m <= 12 && !fires; ++m) {
      if (!schedule.months_[m]) continue;
      for (unsigned d = 1; d <= kMaxDays[m] && !fires; ++d) fires = schedule.days_of_month_[d];
    }
    if (!fires) {
      return fail(fmt::format("cron \"{}\" never fires: no such day in those months", expression));
    }
  }
  return schedule;
}

bool Schedule::MatchesDay(unsigned day_of_month, unsigned month, unsigned day_of_week) const {
  if (!months_[month]) return false;
  const bool dom = days_of_month_[day_of_month];
  const bool dow = days_of_week_[day_of_week];
  if (day_of_month_star_ || day_of_week_star_) return dom && dow;
  return dom || dow;  // both restricted: either one, as cron does
}

int64_t Schedule::NextAfter(int64_t unix_ms) const {
  if (every_ms_ > 0) return (FloorDiv(unix_ms, every_ms_) + 1) * every_ms_;
  const auto sys = date::sys_time<milliseconds>(milliseconds{unix_ms});
  LocalMinute local = std::chrono::floor<minutes>(zone_.zone_->to_local(sys)) + minutes{1};
  const LocalMinute end = local + date::days{kSearchDays};
  while (local < end) {
    const date::local_days day = std::chrono::floor<date::days>(local);
    const date::year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      date::year_month_day next = ymd.year() / ymd.month() / date::day{1};
      next += date::months{1};
      local = date::local_days{next};
      continue;
    }
    if (!MatchesDay(static_cast<unsigned>(ymd.day()), static_cast<unsigned>(ymd.month()),
                    date::weekday{day}.c_encoding())) {
      local = day + date::days{1};
      continue;
    }
    const auto hour = std::chrono::floor<std::chrono::hours>(local - day);
    if (!hours_[static_cast<size_t>(hour.count())]) {
      local = day + hour + std::chrono::hours{1};
      continue;
    }
    const auto minute = local - day - hour;
    if (!minutes_[static_cast<size_t>(minute.count())]) {
      local += minutes{1};
      continue;
    }
    // A skipped local time maps to the instant the clocks jump; a repeated one to its first
    // instant. A first instant at or before `unix_ms` already happened: skip it.
    const auto at = zone_.zone_->to_sys(local, date::choose::earliest);
    const int64_t at_ms = std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count();
    if (at_ms > unix_ms) return at_ms;
    local += minutes{1};
  }
  return std::numeric_limits<int64_t>::max();  // Parse refuses expressions that never fire
}

std::optional<int64_t> Schedule::LatestAtOrBefore(int64_t unix_ms, int64_t lookback_ms) const {
  if (every_ms_ > 0) {
    const int64_t at = FloorDiv(unix_ms, every_ms_) * every_ms_;
    if (at < unix_ms - lookback_ms) return std::nullopt;
    return at;
  }
  std::optional<int64_t> latest;
  for (int64_t at = NextAfter(unix_ms - lookback_ms - 1); at <= unix_ms; at = NextAfter(at)) {
    latest = at;
  }
  return latest;
}

std::optional<int64_t> RecurringWindow::OpenUntil(int64_t unix_ms) const {
  if (duration_ms_ <= 0) return std::nullopt;
  const auto opened = schedule_.LatestAtOrBefore(unix_ms, duration_ms_ - 1);
  if (!opened) return std::nullopt;
  // Windows that overlap or touch make one: follow them to the last one's close, for at most a
  // year (a window that never closes reports the year's end).
  int64_t until = *opened + duration_ms_;
  const int64_t cap = unix_ms + int64_t{366} * 24 * 3600 * 1000;
  for (int64_t next = schedule_.NextAfter(*opened); next <= until && until < cap;
       next = schedule_.NextAfter(next)) {
    until = std::max(until, next + duration_ms_);
  }
  return std::min(until, cap);
}

}  // namespace fleetkeeper
