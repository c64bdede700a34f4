#include "common/cron.h"

#include <gtest/gtest.h>

#include <date/date.h>

namespace fleetkeeper {
namespace {

// Unix milliseconds of a UTC wall-clock time.
int64_t Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  const date::sys_days day = date::year{y} / date::month{mo} / date::day{d};
  const auto t = day + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimeZone Zone(const char* name) {
  std::string error;
  auto zone = TimeZone::Find(name, &error);
  EXPECT_TRUE(zone.has_value()) << error;
  return zone.value_or(TimeZone::Utc());
}

Schedule Cron(const char* expression, const char* zone = "UTC") {
  std::string error;
  auto schedule = Schedule::Parse(expression, Zone(zone), &error);
  EXPECT_TRUE(schedule.has_value()) << expression << ": " << error;
  return schedule.value_or(*Schedule::Parse("* * * * *", TimeZone::Utc(), nullptr));
}

std::string ParseError(const char* expression) {
  std::string error;
  EXPECT_FALSE(Schedule::Parse(expression, TimeZone::Utc(), &error).has_value()) << expression;
  return error;
}

TEST(Cron, EveryMinuteIsTheNextWholeMinute) {
  const Schedule s = Cron("* * * * *");
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 7, 9, 30, 10)), Utc(2026, 12, 7, 9, 31));
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 7, 9, 31)), Utc(2026, 12, 7, 9, 32));
}

TEST(Cron, WeekdayEveningsSkipTheWeekend) {
  // 19:00 Monday to Friday; 2026-12-11 is a Friday.
  const Schedule s = Cron("0 19 * * MON-FRI");
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 11, 19, 0)), Utc(2026, 12, 14, 19, 0));
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 11, 18, 59)), Utc(2026, 12, 11, 19, 0));
}

TEST(Cron, ListsRangesStepsAndNames) {
  const Schedule s = Cron("*/20 8-10/2 1,15 jan,Jul *");
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 7)), Utc(2027, 1, 1, 8, 0));
  EXPECT_EQ(s.NextAfter(Utc(2027, 1, 1, 8, 40)), Utc(2027, 1, 1, 10, 0));
  EXPECT_EQ(s.NextAfter(Utc(2027, 1, 1, 10, 40)), Utc(2027, 1, 15, 8, 0));
  EXPECT_EQ(s.NextAfter(Utc(2027, 1, 15, 10, 40)), Utc(2027, 7, 1, 8, 0));
}

TEST(Cron, BothDayFieldsRestrictedMatchEitherAsCronDoes) {
  // The 13th, or any Friday: 2026-12-07 is a Monday, Friday the 11th comes first.
  const Schedule s = Cron("0 0 13 * 5");
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 7)), Utc(2026, 12, 11));
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 11)), Utc(2026, 12, 13));
}

TEST(Cron, SundayIsZeroOrSeven) {
  EXPECT_EQ(Cron("0 0 * * 7").NextAfter(Utc(2026, 12, 7)), Utc(2026, 12, 13));
  EXPECT_EQ(Cron("0 0 * * 0").NextAfter(Utc(2026, 12, 7)), Utc(2026, 12, 13));
}

TEST(Cron, LeapDayFiresEveryFourYears) {
  EXPECT_EQ(Cron("0 0 29 2 *").NextAfter(Utc(2026, 12, 7)), Utc(2028, 2, 29));
}

TEST(Cron, MacrosAndEvery) {
  EXPECT_EQ(Cron("@daily").NextAfter(Utc(2026, 12, 7, 9)), Utc(2026, 12, 8));
  EXPECT_EQ(Cron("@hourly").NextAfter(Utc(2026, 12, 7, 9, 1)), Utc(2026, 12, 7, 10));
  EXPECT_EQ(Cron("@weekly").NextAfter(Utc(2026, 12, 7)), Utc(2026, 12, 13));
  // @every counts from the epoch, the same instants in every zone.
  EXPECT_EQ(Cron("@every 30s", "Asia/Kolkata").NextAfter(Utc(2026, 12, 7, 9, 0, 31)),
            Utc(2026, 12, 7, 9, 1, 0));
  EXPECT_EQ(Cron("@every 1h30m").NextAfter(0), 5'400'000);
}

TEST(Cron, ZonesShiftTheWallClock) {
  // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
  const Schedule s = Cron("0 9 * * *", "Europe/Paris");
  EXPECT_EQ(s.NextAfter(Utc(2026, 12, 7)), Utc(2026, 12, 7, 8));
  EXPECT_EQ(s.NextAfter(Utc(2026, 7, 1)), Utc(2026, 7, 1, 7));
}

TEST(Cron, SpringForwardRunsTheSkippedTimeWhenTheClocksJump) {
  // New York skips 02:00-03:00 local on 2026-03-08; 02:30 runs at 03:00 EDT = 07:00 UTC.
  const Schedule s = Cron("30 2 * * *", "America/New_York");
  EXPECT_EQ(s.NextAfter(Utc(2026, 3, 8, 5)), Utc(2026, 3, 8, 7));
  EXPECT_EQ(s.NextAfter(Utc(2026, 3, 8, 7)), Utc(2026, 3, 9, 6, 30));
}

TEST(Cron, FallBackRunsTheRepeatedTimeOnce) {
  // New York repeats 01:00-02:00 local on 2026-11-01: 01:30 EDT (05:30 UTC) runs, 01:30 EST does
  // not.
  const Schedule s = Cron("30 1 * * *", "America/New_York");
  EXPECT_EQ(s.NextAfter(Utc(2026, 11, 1, 4)), Utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(s.NextAfter(Utc(2026, 11, 1, 5, 30)), Utc(2026, 11, 2, 6, 30));
  EXPECT_EQ(s.NextAfter(Utc(2026, 11, 1, 6, 10)), Utc(2026, 11, 2, 6, 30));
}

TEST(Cron, LatestAtOrBefore) {
  const Schedule s = Cron("0 22 * * *");
  EXPECT_EQ(s.LatestAtOrBefore(Utc(2026, 12, 7, 23), 3'600'000 * 2), Utc(2026, 12, 7, 22));
  EXPECT_EQ(s.LatestAtOrBefore(Utc(2026, 12, 7, 22), 0), Utc(2026, 12, 7, 22));
  EXPECT_FALSE(s.LatestAtOrBefore(Utc(2026, 12, 7, 23, 30), 3'600'000).has_value());
}

TEST(Cron, WindowsOpenAtEachOccurrenceForTheirDuration) {
  // Weekday nights 22:00-06:00 UTC.
  const RecurringWindow w(Cron("0 22 * * 1-5"), 8 * 3'600'000);
  EXPECT_EQ(w.OpenUntil(Utc(2026, 12, 7, 23)), Utc(2026, 12, 8, 6));
  EXPECT_EQ(w.OpenUntil(Utc(2026, 12, 8, 5, 59)), Utc(2026, 12, 8, 6));
  EXPECT_FALSE(w.OpenUntil(Utc(2026, 12, 8, 6)).has_value());
  EXPECT_FALSE(w.OpenUntil(Utc(2026, 12, 7, 21, 59)).has_value());
  EXPECT_EQ(w.NextOpen(Utc(2026, 12, 8, 6)), Utc(2026, 12, 8, 22));
}

TEST(Cron, OverlappingWindowsCloseWithTheLastOne) {
  // Every 10 s for 15 s: always open; every 20 s for 5 s: open 5 s of each 20.
  EXPECT_EQ(RecurringWindow(Cron("@every 10s"), 15'000).OpenUntil(1'000'000),
            1'000'000 + int64_t{366} * 24 * 3'600'000);
  const RecurringWindow w(Cron("@every 20s"), 5'000);
  EXPECT_EQ(w.OpenUntil(1'000'004'000), 1'000'005'000);
  EXPECT_FALSE(w.OpenUntil(1'000'005'000).has_value());
}

TEST(Cron, ErrorsNameTheFieldAndTheValue) {
  EXPECT_EQ(ParseError("61 * * * *"), "cron minute field \"61\": out of range 0-59");
  EXPECT_EQ(ParseError("* 9-5 * * *"), "cron hour field \"9-5\": the range 9-5 runs backwards");
  EXPECT_EQ(ParseError("* * * FOO *"),
            "cron month field \"FOO\": \"FOO\" is not a value (1-12 or a name)");
  EXPECT_EQ(ParseError("* * * * 1,"), "cron day-of-week field \"1,\": an empty list item");
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "cron minute field \"*/0\": the step after '/' must be a number from 1");
  EXPECT_NE(ParseError("0 0 12 * ? 2026").find("has 6 fields; expected 5"), std::string::npos);
  EXPECT_EQ(ParseError("0 0 31 2 *"),
            "cron \"0 0 31 2 *\" never fires: no such day in those months");
  EXPECT_NE(ParseError("@every 0s").find("@every takes a duration of at least 1s"),
            std::string::npos);
  std::string error;
  EXPECT_FALSE(TimeZone::Find("Mars/Olympus", &error).has_value());
  EXPECT_EQ(error, "unknown time zone \"Mars/Olympus\" (an IANA name such as UTC or Europe/Paris)");
}

TEST(Cron, FormatLocalShowsTheOffset) {
  EXPECT_EQ(Zone("Europe/Paris").FormatLocal(Utc(2026, 12, 7, 8, 30)), "2026-12-07T09:30:00+01:00");
  EXPECT_EQ(Zone("America/New_York").FormatLocal(Utc(2026, 7, 1, 12)), "2026-07-01T08:00:00-04:00");
}

}  // namespace
}  // namespace fleetkeeper
