#include "common/clock.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fleetkeeper
