#include "common/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace fleetkeeper {
namespace {

TEST(Rfc3339, ParsesAwsTimestampForms) {
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54Z"), 1559339394000);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54.123Z"), 1559339394123);
  EXPECT_EQ(ParseRfc3339Ms("2017-01-12T16:30:42.236+0000"), 1484238642236);
  EXPECT_EQ(ParseRfc3339Ms("2017-01-12T18:30:42.236+02:00"), 1484238642236);
}

TEST(Rfc3339, RejectsGarbage) {
  EXPECT_EQ(ParseRfc3339Ms(""), -1);
  EXPECT_EQ(ParseRfc3339Ms("yesterday"), -1);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54X"), -1);
}

TEST(Rfc3339, FormatRoundTrips) {
  EXPECT_EQ(FormatRfc3339(1559339394123), "2019-05-31T21:49:54.123Z");
  EXPECT_EQ(ParseRfc3339Ms(FormatRfc3339(1484238642236)), 1484238642236);
}

// The libc forms the fast paths replace: gmtime_r + snprintf, and timegm over the fields.
std::string ReferenceFormat(int64_t epoch_ms) {
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  int ms = static_cast<int>(epoch_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

int64_t ReferenceParse(int y, int mo, int d, int h, int mi, int s, int ms) {
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

TEST(Rfc3339, FormatMatchesGmtimeOverFourMillennia) {
  std::mt19937_64 rng(7);
  // Year 0000 to 9999, both ends, epoch boundaries, leap days and negative times included.
  std::uniform_int_distribution<int64_t> any(-62167219200000, 253402300799999);
  std::vector<int64_t> cases = {0,
                                -1,
                                1,
                                999,
                                -1000,
                                -62167219200000,
                                253402300799999,
                                951782400000 /* 2000-02-29 */,
                                4107542400000 /* 2100-03-01 */,
                                -2203891200000 /* 1900-03-01 */,
                                253402300800000 /* 10000-01-01, five digits */,
                                -62198755200000 /* year -1 */};
  for (int i = 0; i < 200000; ++i) cases.push_back(any(rng));
  for (int64_t ms : cases) ASSERT_EQ(FormatRfc3339(ms), ReferenceFormat(ms)) << ms;
}

TEST(Rfc3339, ParseMatchesTimegmIncludingOutOfRangeFields) {
  std::mt19937_64 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  char buf[64];
  for (int i = 0; i < 200000; ++i) {
    // Two-digit fields beyond their range (month 00 or 13, day 31 in April, hour 99, second 60)
    // are normalized as timegm normalizes them.
    const int y = pick(0, 9999), mo = pick(0, 99), d = pick(0, 99), h = pick(0, 99),
              mi = pick(0, 99), s = pick(0, 99), ms = pick(0, 999);
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, ms);
    ASSERT_EQ(ParseRfc3339Ms(buf), ReferenceParse(y, mo, d, h, mi, s, ms)) << buf;
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
    ASSERT_EQ(ParseRfc3339Ms(buf), ReferenceParse(y, mo, d, h, mi, s, 0)) << buf;
  }
  // Fractions of other lengths, a lower-case z, no zone at all.
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54.1Z"), 1559339394100);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54.123456789Z"), 1559339394123);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54z"), 1559339394000);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54"), 1559339394000);
  // Offsets, and fields that are not two digits wide (read by sscanf).
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T23:49:54.123+02:00"), 1559339394123);
  EXPECT_EQ(ParseRfc3339Ms("2019-5-31T21:49:54Z"), 1559339394000);
  EXPECT_EQ(ParseRfc3339Ms("2019-05-31T21:49:54.123 "), -1);
  EXPECT_EQ(ParseRfc3339Ms("2019-00-31T21:49:54Z"), ReferenceParse(2019, 0, 31, 21, 49, 54, 0))
      << "month 00 is December of the year before, as timegm has it";
}

}  // namespace
}  // namespace fleetkeeper
