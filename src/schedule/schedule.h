// When a scheduled task is due: the `batch_schedule` forms of the
// orchestration design (docs/ARCHITECTURE.md), evaluated in UTC or in a
// time zone's local wall time.
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
//
// Time zones: cron expressions and @aliases match wall-clock minutes in the
// schedule's zone (UTC unless given); durations count from the epoch in
// absolute time whatever the zone. Around daylight saving changes, as cron
// and Airflow do:
//   - a wall time skipped when clocks spring forward fires once, at the
//     first instant after the gap (the transition): "30 2 * * *" in
//     America/New_York fires at 03:00 EDT on 2026-03-08, and "0,30 2 * * *"
//     fires there just once;
//   - a wall time repeated when clocks fall back fires once, at its first
//     occurrence: "30 1 * * *" fires at 01:30 EDT on 2026-11-01, not again
//     at 01:30 EST. "0 * * * *" then has a two-hour interval over the fold.
// Fire times stay strictly increasing, and intervals still chain.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"
#include "schedule/time_zone.h"

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
  // Evaluated in UTC.
  static Result<Schedule> Parse(std::string_view text);
  // Cron expressions and @aliases evaluated in `zone`'s wall time (see
  // above); a duration ignores the zone.
  static Result<Schedule> Parse(std::string_view text, TimeZone zone);

  // The first fire time strictly after `after`.
  TimestampMicros Next(TimestampMicros after) const;

  // The intervals between consecutive fire times that lie within
  // [from, to]: each ends at a fire time in (from, to] and starts at the
  // fire time before it (which may precede `from`).
  std::vector<Interval> IntervalsEndingIn(TimestampMicros from, TimestampMicros to) const;

  // The text it was parsed from, normalized (trimmed, single spaces).
  const std::string& text() const { return text_; }
  // The zone cron fields are matched in (UTC unless given to Parse).
  const TimeZone& zone() const { return zone_; }
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
  // Wall times are microseconds since the epoch read as local time. The
  // first matching wall minute after `wall` (INT64_MAX if none), and the
  // last before it (INT64_MIN if none).
  int64_t NextWallMinute(int64_t wall) const;
  int64_t PreviousWallMinute(int64_t wall) const;
  // When the matching wall minute `wall_minute` fires (the DST rules above).
  TimestampMicros FireTimeOf(int64_t wall_minute) const;
  // The wall time in the zone at the instant `t`.
  int64_t WallTimeOf(TimestampMicros t) const;

  std::string text_;
  TimeZone zone_ = TimeZone::Utc();
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
