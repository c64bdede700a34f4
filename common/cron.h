// Recurring times as operators write them: a cron expression in an IANA time zone, and windows
// that open at each occurrence for a fixed duration (blackout windows, maintenance windows, ECS
// schedules). Time zones come from the system's tz database through the date library.
//
// Expressions:
//   - five fields, "minute hour day-of-month month day-of-week", with `*`, lists (`1,15`),
//     ranges (`1-5`), steps (`*/15`, `8-18/2`) and names (`JAN`..`DEC`, `SUN`..`SAT`; day of week
//     0 or 7 is Sunday). When both day fields are restricted, a day matching either runs (as cron
//     does);
//   - the macros `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`;
//   - `@every <duration>` ("@every 30s", "@every 1h"): every multiple of the duration since the
//     Unix epoch, the same instants in every time zone.
// Six-field forms (AWS's with a year, or Quartz's with seconds) are refused by name, not guessed.
//
// Daylight saving: times are wall-clock times in the zone. A time skipped by a spring-forward
// change runs at the instant the clocks jump; a time repeated by a fall-back change runs once, at
// its first instant.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace fleetkeeper {

// An IANA time zone ("UTC", "Europe/Paris", "America/New_York").
class TimeZone {
 public:
  // nullopt, with `error` naming the zone, when the tz database does not know it.
  static std::optional<TimeZone> Find(std::string_view name, std::string* error);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // "2026-12-07T09:30:00+01:00" for a Unix time in milliseconds, in this zone.
  std::string FormatLocal(int64_t unix_ms) const;

 private:
  friend class Schedule;
  TimeZone(std::string name, const date::time_zone* zone) : name_(std::move(name)), zone_(zone) {}

  std::string name_;
  const date::time_zone* zone_ = nullptr;  // owned by the date library's database
};

// A cron expression in a time zone.
class Schedule {
 public:
  // nullopt, with `error` saying what is wrong with which field, for an expression that does not
  // parse or that never fires (`0 0 31 2 *`).
  static std::optional<Schedule> Parse(std::string_view expression, const TimeZone& zone,
                                       std::string* error);

  const std::string& expression() const { return expression_; }
  const TimeZone& zone() const { return zone_; }

  // The first occurrence strictly after `unix_ms`, in Unix milliseconds (whole minutes, or whole
  // multiples of an @every period).
  int64_t NextAfter(int64_t unix_ms) const;
  // The latest occurrence at or before `unix_ms`, looking back at most `lookback_ms`; nullopt when
  // there is none in that span.
  std::optional<int64_t> LatestAtOrBefore(int64_t unix_ms, int64_t lookback_ms) const;

 private:
  Schedule(std::string expression, TimeZone zone)
      : expression_(std::move(expression)), zone_(std::move(zone)) {}
  bool MatchesDay(unsigned day_of_month, unsigned month, unsigned day_of_week) const;

  std::string expression_;
  TimeZone zone_;
  int64_t every_ms_ = 0;  // @every; the fields below are unused then
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_star_ = true;
  bool day_of_week_star_ = true;
};

// Windows that open at each occurrence of a schedule and stay open for `duration_ms`.
class RecurringWindow {
 public:
  RecurringWindow(Schedule schedule, int64_t duration_ms)
      : schedule_(std::move(schedule)), duration_ms_(duration_ms) {}

  const Schedule& schedule() const { return schedule_; }
  int64_t duration_ms() const { return duration_ms_; }

  // When `unix_ms` is inside a window, the instant the (latest-ending) window covering it closes;
  // nullopt when it is outside every window.
  std::optional<int64_t> OpenUntil(int64_t unix_ms) const;
  // The next instant a window opens strictly after `unix_ms`.
  int64_t NextOpen(int64_t unix_ms) const { return schedule_.NextAfter(unix_ms); }

 private:
  Schedule schedule_;
  int64_t duration_ms_;
};

}  // namespace fleetkeeper
