// When a scheduled task is due: the `batch_schedule` forms of the
// orchestration design (docs/ARCHITECTURE.md), evaluated in UTC.
//
//   "@hourly", "@daily", "@weekly" (Sunday), "@monthly", "@yearly"
//   a duration, "15m", "1h", "1d12h": every multiple of it since the epoch
//   a 5-field cron expression "minute hour day-of-month month day-of-week":
//     each field `*`, a value, a range `a-b`, a step `*/s` or `a-b/s`, or a
//     comma-separated list of these; months JAN..DEC and days SUN..SAT by
//     name too; day-of-week 0 and 7 are Sunday. When both day fields are
//     restricted, a day matches either (as cron does).
//
//   auto s = Schedule::Parse("0 2 * * MON-FRI");
//   TimestampMicros due = s->Next(now);  // the first fire time after now
//
// Fire times are whole minutes (durations: multiples of the duration).
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"

namespace larder::schedule {

// [start, end): one run's data interval, from one fire time to the next.
struct Interval {
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  bool operator==(const Interval&) const = default;
};

class Schedule {
 public:
  // InvalidArgument naming the field and the value for an expression that
  // does not parse, or that can never fire (e.g. "0 0 30 2 *").
  static Result<Schedule> Parse(std::string_view text);

  // The first fire time strictly after `after`.
  TimestampMicros Next(TimestampMicros after) const;

  // The intervals between consecutive fire times that lie within
  // [from, to]: each ends at a fire time in (from, to] and starts at the
  // fire time before it (which may precede `from`).
  std::vector<Interval> IntervalsEndingIn(TimestampMicros from, TimestampMicros to) const;

  // The text it was parsed from, normalized (trimmed, single spaces).
  const std::string& text() const { return text_; }
  // A duration's period ("15m": 15 minutes); zero for a cron expression or
  // an @alias.
  Duration period() const { return Duration{period_micros_}; }
  // The 5-field cron expression: the text, or an @alias's expansion
  // ("@daily": "0 0 * * *"); empty for a duration.
  const std::string& cron() const { return cron_; }

 private:
  Schedule() = default;

  // The fire time before `at`, which must be a fire time.
  TimestampMicros Previous(TimestampMicros at) const;
  bool MatchesDay(int64_t days_since_epoch) const;

  std::string text_;
  std::string cron_;
  int64_t period_micros_ = 0;  // > 0 for a duration; the cron fields are unused then
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_any_ = true;
  bool day_of_week_any_ = true;
};

}  // namespace larder::schedule
