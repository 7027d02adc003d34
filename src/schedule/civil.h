// Calendar arithmetic on days since the Unix epoch, shared by schedules and
// time zones.
#pragma once

#include <chrono>
#include <cstdint>

namespace larder::schedule {

// a / b rounded towards negative infinity. REQUIRES: b != 0.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

struct Civil {
  int year;
  unsigned month;    // 1..12
  unsigned day;      // 1..31
  unsigned weekday;  // 0 = Sunday
};

inline Civil CivilOf(int64_t days) {
  const std::chrono::sys_days d{std::chrono::days{days}};
  const std::chrono::year_month_day ymd{d};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), std::chrono::weekday{d}.c_encoding()};
}

// Days since the epoch of a date; `day` may run past the month's end (it
// then counts on into the next months).
inline int64_t DaysOf(int year, unsigned month, unsigned day) {
  const std::chrono::sys_days first{std::chrono::year{year} / std::chrono::month{month} /
                                    std::chrono::day{1}};
  return first.time_since_epoch().count() + static_cast<int64_t>(day) - 1;
}

inline bool IsLeapYear(int year) { return std::chrono::year{year}.is_leap(); }

}  // namespace larder::schedule
