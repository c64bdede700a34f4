#include "common/clock.h"

#include <cstdio>

namespace fleetkeeper {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, month 1..12; linear in `day`, so a day out
// of the month's range lands where timegm would normalize it. The era arithmetic follows the
// well-known civil-calendar derivation (400-year eras of 146097 days, years starting in March).
int64_t DaysFromCivil(int64_t year, int month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// The inverse: the date of a day count.
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  *day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

void PutDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

bool Digits(std::string_view text, size_t pos, size_t count, int* value) {
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

}  // namespace

std::string FormatRfc3339(int64_t epoch_ms) {
  // Every event and result carries a time: this runs twice per event, so no gmtime_r/snprintf.
  int64_t secs = epoch_ms / 1000;
  int64_t ms = epoch_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t of_day = secs % 86400;
  if (of_day < 0) {
    of_day += 86400;
    days -= 1;
  }
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);
  if (year >= 0 && year <= 9999) {
    std::string out = "0000-00-00T00:00:00.000Z";
    PutDigits(&out[0], year, 4);
    PutDigits(&out[5], month, 2);
    PutDigits(&out[8], day, 2);
    PutDigits(&out[11], of_day / 3600, 2);
    PutDigits(&out[14], of_day / 60 % 60, 2);
    PutDigits(&out[17], of_day % 60, 2);
    PutDigits(&out[20], ms, 3);
    return out;
  }
  // Beyond four-digit years, as printf writes them.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(year), month, day, static_cast<int>(of_day / 3600),
                static_cast<int>(of_day / 60 % 60), static_cast<int>(of_day % 60),
                static_cast<int>(ms));
  return buf;
}

namespace {

// A zone offset after its sign, "hh:mm" or "hhmm" (trailing text ignored), as sscanf reads it with
// "%2d:%2d" or else "%2d%2d".
bool ParseZoneOffset(std::string_view zone, int* hours, int* minutes) {
  // The spellings AWS writes ("+00:00", "+0000") are read directly: this runs for every alarm
  // timestamp, and sscanf costs more than the rest of the parse.
  if (zone.size() >= 5 && zone[2] == ':' && Digits(zone, 0, 2, hours) &&
      Digits(zone, 3, 2, minutes)) {
    return true;
  }
  if (zone.size() >= 4 && Digits(zone, 0, 2, hours) && Digits(zone, 2, 2, minutes)) return true;
  const std::string text(zone);
  return std::sscanf(text.c_str(), "%2d:%2d", hours, minutes) == 2 ||
         std::sscanf(text.c_str(), "%2d%2d", hours, minutes) == 2;
}

}  // namespace

int64_t ParseRfc3339Ms(std::string_view text) {
  int y, mo, d, h, mi, s;
  size_t pos = 19;
  // The fixed-width fields AWS writes ("2019-05-31T21:49:54") are read directly, other widths by
  // sscanf; the fraction, the zone and the arithmetic are the same for both.
  if (!(text.size() >= 19 && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
        text[13] == ':' && text[16] == ':' && Digits(text, 0, 4, &y) && Digits(text, 5, 2, &mo) &&
        Digits(text, 8, 2, &d) && Digits(text, 11, 2, &h) && Digits(text, 14, 2, &mi) &&
        Digits(text, 17, 2, &s))) {
    int consumed = 0;
    const std::string terminated(text);
    if (std::sscanf(terminated.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                    &consumed) != 6) {
      return -1;
    }
    pos = static_cast<size_t>(consumed);
  }
  int64_t frac_ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    int digits = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) frac_ms = frac_ms * 10 + (text[pos] - '0');
    }
    for (; digits < 3; ++digits) frac_ms *= 10;
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!ParseZoneOffset(text.substr(pos + 1), &oh, &om)) return -1;
    offset_s = sign * (oh * 3600 + om * 60);
  } else if (pos < text.size() && text[pos] != 'Z' && text[pos] != 'z') {
    return -1;
  }
  // A month out of 1..12 carries into the year, as timegm normalizes it; the other fields are
  // linear in the result.
  const int64_t month0 = mo - 1;
  const int64_t carry = month0 >= 0 ? month0 / 12 : (month0 - 11) / 12;
  const int64_t secs =
      DaysFromCivil(y + carry, static_cast<int>(month0 - carry * 12) + 1, d) * 86400 + h * 3600 +
      mi * 60 + s - offset_s;
  return secs * 1000 + frac_ms;
}

}  // namespace fleetkeeper
