#include "schedule/schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace larder::schedule {
namespace {

constexpr int64_t kMin = Duration::kMinute;
constexpr int64_t kHour = Duration::kHour;
constexpr int64_t kDay = Duration::kDay;

// 2026-12-07 00:00 UTC, a Monday.
constexpr TimestampMicros kMonday = 1'796'601'600'000'000;

TimestampMicros At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} /
                                  std::chrono::day{d}};
  return (day.time_since_epoch().count() * 24 * 60 + h * 60 + mi) * kMin;
}

Schedule Must(const std::string& text) {
  auto s = Schedule::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return *s;
}

TEST(Schedule, AliasesDurationsAndCronFireWhenExpected) {
  ASSERT_EQ(At(2026, 12, 7), kMonday);
  EXPECT_EQ(Must("@hourly").Next(kMonday + 5 * kMin), kMonday + kHour);
  EXPECT_EQ(Must("@daily").Next(kMonday), kMonday + kDay);  // strictly after
  EXPECT_EQ(Must("@weekly").Next(kMonday), At(2026, 12, 13));  // Sunday
  EXPECT_EQ(Must("@monthly").Next(kMonday), At(2027, 1, 1));
  EXPECT_EQ(Must("@yearly").Next(kMonday), At(2027, 1, 1));
  EXPECT_EQ(Must("15m").Next(kMonday + 1), kMonday + 15 * kMin);
  EXPECT_EQ(Must("1d12h").Next(0), 36 * kHour);
  EXPECT_EQ(Must("  0   2 * *   MON-FRI ").text(), "0 2 * * MON-FRI");
  EXPECT_EQ(Must("0 2 * * MON-FRI").Next(kMonday + 3 * kHour), At(2026, 12, 8, 2));
  EXPECT_EQ(Must("0 2 * * mon-fri").Next(At(2026, 12, 11, 3)), At(2026, 12, 14, 2));  // Fri -> Mon
  EXPECT_EQ(Must("*/20 9-10 * * *").Next(At(2026, 12, 7, 10, 40)), At(2026, 12, 8, 9));
  EXPECT_EQ(Must("0 0 29 2 *").Next(kMonday), At(2028, 2, 29));  // the next leap day
  EXPECT_EQ(Must("0 0 31 * *").Next(kMonday), At(2026, 12, 31));
  EXPECT_EQ(Must("30 4 1,15 * 5").Next(kMonday), At(2026, 12, 11, 4, 30));  // a Friday first
  EXPECT_EQ(Must("0 0 * * 7").Next(kMonday), At(2026, 12, 13));  // 7 is Sunday
  EXPECT_EQ(Must("0 12 * JAN,jul *").Next(kMonday), At(2027, 1, 1, 12));
  EXPECT_EQ(Must("5/15 * * * *").Next(kMonday), kMonday + 5 * kMin);
  // Before the epoch too.
  EXPECT_EQ(Must("@daily").Next(-1), 0);
  EXPECT_EQ(Must("1h").Next(-kHour - 1), -kHour);
}

TEST(Schedule, IntervalsRunFromOneFireTimeToTheNext) {
  const Schedule daily = Must("@daily");
  const auto days = daily.IntervalsEndingIn(kMonday - 1, kMonday + 3 * kDay);
  ASSERT_EQ(days.size(), 4u);
  EXPECT_EQ(days[0], (Interval{kMonday - kDay, kMonday}));
  EXPECT_EQ(days[3], (Interval{kMonday + 2 * kDay, kMonday + 3 * kDay}));
  const auto weekdays = Must("0 6 * * 1-5").IntervalsEndingIn(At(2026, 12, 11, 7), At(2026, 12, 15, 6));
  ASSERT_EQ(weekdays.size(), 2u);
  EXPECT_EQ(weekdays[0], (Interval{At(2026, 12, 11, 6), At(2026, 12, 14, 6)}));  // over the weekend
  EXPECT_EQ(weekdays[1], (Interval{At(2026, 12, 14, 6), At(2026, 12, 15, 6)}));
  EXPECT_TRUE(Must("@hourly").IntervalsEndingIn(kMonday + 1, kMonday + 2).empty());
  EXPECT_EQ(Must("30m").IntervalsEndingIn(0, kDay).size(), 48u);
}

// Whether `value` is in the cron field `field` (numbers only), evaluated
// here independently of Schedule.
bool InField(const std::string& field, int value, int lo, int hi) {
  size_t start = 0;
  while (true) {
    const size_t comma = field.find(',', start);
    std::string item = field.substr(start, comma == std::string::npos ? comma : comma - start);
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string::npos) {
      step = std::stoi(item.substr(slash + 1));
      item = item.substr(0, slash);
    }
    int a = lo, b = hi;
    if (item != "*") {
      const size_t dash = item.find('-');
      a = std::stoi(item.substr(0, dash));
      b = dash == std::string::npos ? (step > 1 ? hi : a) : std::stoi(item.substr(dash + 1));
    }
    if (value >= a && value <= b && (value - a) % step == 0) return true;
    if (comma == std::string::npos) return false;
    start = comma + 1;
  }
}

// Next agrees with a minute-by-minute search for random expressions.
TEST(Schedule, NextAgreesWithABruteForceSearch) {
  std::mt19937_64 rng(5);
  auto pick = [&](int lo, int hi) -> std::string {
    const auto any = [&](int from) {
      return from + static_cast<int>(rng() % static_cast<uint64_t>(hi - from + 1));
    };
    switch (rng() % 5) {
      case 0: return "*";
      case 1: return std::to_string(any(lo));
      case 2: {
        const int a = any(lo);
        return std::to_string(a) + "-" + std::to_string(any(a));
      }
      case 3: return "*/" + std::to_string(1 + rng() % 7);
      default: return std::to_string(any(lo)) + "," + std::to_string(any(lo));
    }
  };
  int found = 0;
  for (int round = 0; round < 150; ++round) {
    const std::string f[5] = {pick(0, 59), pick(0, 23), pick(1, 28), pick(1, 12), pick(0, 6)};
    const std::string text = f[0] + " " + f[1] + " " + f[2] + " " + f[3] + " " + f[4];
    auto s = Schedule::Parse(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status().ToString();
    const TimestampMicros from = kMonday + static_cast<int64_t>(rng() % (400 * 24 * 60)) * kMin +
                                 static_cast<int64_t>(rng() % kMin);
    const TimestampMicros got = s->Next(from);
    const bool dom_any = f[2][0] == '*', dow_any = f[4][0] == '*';
    auto fires = [&](TimestampMicros t) {
      const std::chrono::sys_days day{std::chrono::days{t / kDay}};
      const std::chrono::year_month_day ymd{day};
      const int minute_of_day = static_cast<int>((t % kDay) / kMin);
      const bool dom = InField(f[2], static_cast<int>(static_cast<unsigned>(ymd.day())), 1, 31);
      const bool dow =
          InField(f[4], static_cast<int>(std::chrono::weekday{day}.c_encoding()), 0, 6);
      const bool day_ok = dom_any && dow_any ? true : dom_any ? dow : dow_any ? dom : dom || dow;
      return InField(f[0], minute_of_day % 60, 0, 59) && InField(f[1], minute_of_day / 60, 0, 23) &&
             InField(f[3], static_cast<int>(static_cast<unsigned>(ymd.month())), 1, 12) && day_ok;
    };
    TimestampMicros t = (from / kMin + 1) * kMin;
    const TimestampMicros limit = from + 20 * kDay;
    while (t < limit && !fires(t)) t += kMin;
    if (t < limit) {
      EXPECT_EQ(got, t) << text << " after " << from;
      ++found;
    } else {
      EXPECT_GE(got, limit) << text << " after " << from;
    }
  }
  EXPECT_GT(found, 60) << "too few expressions fired within the search window";
}

TEST(Schedule, CronFormAndPeriodForExporters) {
  EXPECT_EQ(Must("@daily").cron(), "0 0 * * *");
  EXPECT_EQ(Must("@daily").text(), "@daily");
  EXPECT_EQ(Must("@weekly").cron(), "0 0 * * 0");
  EXPECT_EQ(Must(" 0  2 * * MON-FRI ").cron(), "0 2 * * MON-FRI");
  EXPECT_EQ(Must("@hourly").period().micros, 0);
  EXPECT_EQ(Must("15m").cron(), "");
  EXPECT_EQ(Must("15m").period().micros, 15 * kMin);
  EXPECT_EQ(Must("1d12h").period().micros, kDay + 12 * kHour);
}

TEST(Schedule, BadExpressionsNameTheFieldAndValue) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "has 0 fields"},
      {"0 0 * *", "has 4 fields; a cron expression has 5"},
      {"61 * * * *", "minute `61`: 61 is not in 0..59"},
      {"* 24 * * *", "hour `24`: 24 is not in 0..23"},
      {"* * 0 * *", "day-of-month `0`: 0 is not in 1..31"},
      {"* * * 13 *", "month `13`: 13 is not in 1..12"},
      {"* * * FOO *", "month `FOO`: `FOO` is not a number or a name"},
      {"* * * * 8", "day-of-week `8`: 8 is not in 0..7"},
      {"5-1 * * * *", "range `5-1` runs backwards"},
      {"*/0 * * * *", "step `0` is not in 1..59"},
      {"1,,2 * * * *", "`` is not a number"},
      {"0 0 30 2 *", "never fires"},
      {"@fortnightly", "not an alias"},
      {"soon", "not a duration"},
      {"0s", "1 s or more"},
  };
  for (const Case& c : cases) {
    auto s = Schedule::Parse(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(s.status().message().find(c.says), std::string::npos)
        << c.text << ": " << s.status().ToString();
  }
  // Both day fields restricted: either matches, so Feb 30 with Mondays fires.
  EXPECT_TRUE(Schedule::Parse("0 0 30 2 1").ok());
}

TimeZone Zone(const std::string& name) {
  auto z = TimeZone::Load(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.status().ToString();
  return z.ok() ? *z : TimeZone::Utc();
}

Schedule MustIn(const std::string& text, const std::string& zone) {
  auto s = Schedule::Parse(text, Zone(zone));
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return *s;
}

// The fire times of `s` in (after, until].
std::vector<TimestampMicros> FireTimes(const Schedule& s, TimestampMicros after,
                                       TimestampMicros until) {
  std::vector<TimestampMicros> out;
  for (TimestampMicros t = s.Next(after); t <= until; t = s.Next(t)) out.push_back(t);
  return out;
}

// America/New_York: EST (UTC-5) until 07:00 UTC on 2026-03-08, EDT (UTC-4)
// until 06:00 UTC on 2026-11-01.
TEST(ScheduleInZone, DailyAtTwoAcrossNewYorkTransitions) {
  const Schedule s = MustIn("0 2 * * *", "America/New_York");
  EXPECT_EQ(s.zone().name(), "America/New_York");
  // 02:00 does not happen on March 8: it fires at the end of the gap,
  // 03:00 EDT, which is 07:00 UTC as 02:00 EST was the day before.
  EXPECT_EQ(FireTimes(s, At(2026, 3, 6), At(2026, 3, 10, 12)),
            (std::vector<TimestampMicros>{At(2026, 3, 6, 7), At(2026, 3, 7, 7), At(2026, 3, 8, 7),
                                          At(2026, 3, 9, 6), At(2026, 3, 10, 6)}));
  // 02:00 happens once on November 1 (02:00 EDT became 01:00 EST).
  EXPECT_EQ(FireTimes(s, At(2026, 10, 30), At(2026, 11, 2, 12)),
            (std::vector<TimestampMicros>{At(2026, 10, 30, 6), At(2026, 10, 31, 6),
                                          At(2026, 11, 1, 7), At(2026, 11, 2, 7)}));
  const auto spring = s.IntervalsEndingIn(At(2026, 3, 8), At(2026, 3, 9, 12));
  ASSERT_EQ(spring.size(), 2u);
  EXPECT_EQ(spring[0], (Interval{At(2026, 3, 7, 7), At(2026, 3, 8, 7)}));
  EXPECT_EQ(spring[1], (Interval{At(2026, 3, 8, 7), At(2026, 3, 9, 6)}));  // 23 h
  const auto fall = s.IntervalsEndingIn(At(2026, 11, 1), At(2026, 11, 1, 12));
  ASSERT_EQ(fall.size(), 1u);
  EXPECT_EQ(fall[0], (Interval{At(2026, 10, 31, 6), At(2026, 11, 1, 7)}));  // 25 h
}

TEST(ScheduleInZone, AWallTimeInTheFoldFiresOnceAtItsFirstOccurrence) {
  // 01:30 on November 1 is 05:30 UTC (EDT) and again 06:30 UTC (EST).
  const Schedule s = MustIn("30 1 * * *", "America/New_York");
  EXPECT_EQ(FireTimes(s, At(2026, 10, 31, 12), At(2026, 11, 2, 12)),
            (std::vector<TimestampMicros>{At(2026, 11, 1, 5, 30), At(2026, 11, 2, 6, 30)}));
  EXPECT_EQ(s.Next(At(2026, 11, 1, 6)), At(2026, 11, 2, 6, 30));  // from inside the fold
  EXPECT_EQ(s.IntervalsEndingIn(At(2026, 11, 1, 6), At(2026, 11, 2, 7)),
            (std::vector<Interval>{{At(2026, 11, 1, 5, 30), At(2026, 11, 2, 6, 30)}}));
  // Hourly: 01:00 EDT fires, 01:00 EST does not; the interval is 2 h.
  const Schedule hourly = MustIn("@hourly", "America/New_York");
  EXPECT_EQ(FireTimes(hourly, At(2026, 11, 1, 4), At(2026, 11, 1, 8)),
            (std::vector<TimestampMicros>{At(2026, 11, 1, 5), At(2026, 11, 1, 7),
                                          At(2026, 11, 1, 8)}));
  EXPECT_EQ(hourly.IntervalsEndingIn(At(2026, 11, 1, 6), At(2026, 11, 1, 8)),
            (std::vector<Interval>{{At(2026, 11, 1, 5), At(2026, 11, 1, 7)},
                                   {At(2026, 11, 1, 7), At(2026, 11, 1, 8)}}));
  const Schedule quarters = MustIn("*/15 1 * * *", "America/New_York");
  EXPECT_EQ(FireTimes(quarters, At(2026, 11, 1, 4), At(2026, 11, 1, 12)),
            (std::vector<TimestampMicros>{At(2026, 11, 1, 5), At(2026, 11, 1, 5, 15),
                                          At(2026, 11, 1, 5, 30), At(2026, 11, 1, 5, 45)}));
}

TEST(ScheduleInZone, WallTimesInASpringForwardGapFireOnceAtItsEnd) {
  EXPECT_EQ(MustIn("30 2 * * *", "America/New_York").Next(At(2026, 3, 8)), At(2026, 3, 8, 7));
  EXPECT_EQ(FireTimes(MustIn("0,30 2 * * *", "America/New_York"), At(2026, 3, 8),
                      At(2026, 3, 9, 12)),
            (std::vector<TimestampMicros>{At(2026, 3, 8, 7), At(2026, 3, 9, 6),
                                          At(2026, 3, 9, 6, 30)}));
  // 02:00, 02:20, 02:40 and 03:00 all resolve to 07:00 UTC, once.
  const Schedule twenty = MustIn("*/20 * * * *", "America/New_York");
  EXPECT_EQ(FireTimes(twenty, At(2026, 3, 8, 6, 30), At(2026, 3, 8, 7, 30)),
            (std::vector<TimestampMicros>{At(2026, 3, 8, 6, 40), At(2026, 3, 8, 7),
                                          At(2026, 3, 8, 7, 20)}));
  EXPECT_EQ(twenty.IntervalsEndingIn(At(2026, 3, 8, 6, 50), At(2026, 3, 8, 7, 20)),
            (std::vector<Interval>{{At(2026, 3, 8, 6, 40), At(2026, 3, 8, 7)},
                                   {At(2026, 3, 8, 7), At(2026, 3, 8, 7, 20)}}));
  // Berlin: 02:00 CET jumps to 03:00 CEST at 01:00 UTC on 2026-03-29.
  EXPECT_EQ(MustIn("30 2 * * *", "Europe/Berlin").Next(At(2026, 3, 28, 12)), At(2026, 3, 29, 1));
}

TEST(ScheduleInZone, AliasesFollowLocalMidnightAndDurationsDoNot) {
  // Asia/Kolkata is UTC+5:30 all year: local midnight is 18:30 UTC.
  EXPECT_EQ(MustIn("@daily", "Asia/Kolkata").Next(At(2026, 1, 1)), At(2026, 1, 1, 18, 30));
  EXPECT_EQ(MustIn("0 9 * * MON", "Asia/Kolkata").Next(kMonday), At(2026, 12, 7, 3, 30));
  EXPECT_EQ(MustIn("@monthly", "Europe/Berlin").Next(At(2026, 6, 15)), At(2026, 6, 30, 22));
  EXPECT_EQ(MustIn("@yearly", "Europe/Berlin").Next(At(2026, 6, 15)), At(2026, 12, 31, 23));
  EXPECT_EQ(MustIn("1h", "Asia/Kolkata").Next(0), kHour);
  EXPECT_EQ(MustIn("15m", "America/New_York").Next(At(2026, 3, 8, 6, 50)), At(2026, 3, 8, 7));
  EXPECT_EQ(Must("@daily").zone().name(), "UTC");
  EXPECT_EQ(MustIn("@daily", "Asia/Kolkata").text(), "@daily");
  auto bad = Schedule::Parse("0 0 30 2 *", Zone("Europe/Berlin"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// Whether the wall time `wall` (micros, read as local) matches the fields.
bool WallMatches(const std::string f[5], int64_t wall) {
  const int64_t day_number = wall >= 0 ? wall / kDay : (wall - kDay + 1) / kDay;
  const std::chrono::sys_days day{std::chrono::days{day_number}};
  const std::chrono::year_month_day ymd{day};
  const int minute_of_day = static_cast<int>((wall - day_number * kDay) / kMin);
  const bool dom_any = f[2][0] == '*', dow_any = f[4][0] == '*';
  const bool dom = InField(f[2], static_cast<int>(static_cast<unsigned>(ymd.day())), 1, 31);
  const bool dow = InField(f[4], static_cast<int>(std::chrono::weekday{day}.c_encoding()), 0, 6);
  const bool day_ok = dom_any && dow_any ? true : dom_any ? dow : dow_any ? dom : dom || dow;
  return InField(f[0], minute_of_day % 60, 0, 59) && InField(f[1], minute_of_day / 60, 0, 23) &&
         InField(f[3], static_cast<int>(static_cast<unsigned>(ymd.month())), 1, 12) && day_ok;
}

// Around DST changes, in four zones and past the transition tables (2040),
// fire times and intervals agree with a minute-by-minute walk over UTC: a
// minute fires when its wall time matches and is that wall time's first
// occurrence, or when the clock jumped forward onto it over a matching
// wall time.
TEST(ScheduleInZone, FireTimesAgreeWithABruteForceWalk) {
  struct Window {
    const char* zone;
    TimestampMicros from;
  };
  const Window windows[] = {
      {"America/New_York", At(2026, 3, 7)},  {"America/New_York", At(2026, 10, 31)},
      {"America/New_York", At(2040, 3, 10)}, {"America/New_York", At(2040, 11, 3)},
      {"Europe/Berlin", At(2026, 3, 28)},    {"Europe/Berlin", At(2026, 10, 24)},
      {"Australia/Sydney", At(2026, 4, 4)},  {"Australia/Sydney", At(2026, 10, 3)},
      {"Asia/Kolkata", At(2026, 3, 7)},
  };
  const char* const expressions[] = {"0 2 * * *",    "30 1 * * *", "*/20 * * * *", "15 1-3 * * *",
                                     "0 * * * *",    "45 2 * * *", "0 0 * * *",    "59 0,23 * * *",
                                     "0 3 * * 0"};
  for (const Window& w : windows) {
    const TimeZone zone = Zone(w.zone);
    const TimestampMicros to = w.from + 3 * kDay;
    auto wall = [&](TimestampMicros t) { return t + zone.OffsetSeconds(t) * Duration::kSecond; };
    for (const char* text : expressions) {
      std::string f[5];
      std::istringstream(text) >> f[0] >> f[1] >> f[2] >> f[3] >> f[4];
      std::vector<TimestampMicros> expected;
      for (TimestampMicros t = w.from + kMin; t <= to; t += kMin) {
        const int64_t here = wall(t), before = wall(t - kMin);
        bool fires = WallMatches(f, here) &&
                     zone.LocalToUtc(here / Duration::kSecond).front() * Duration::kSecond == t;
        for (int64_t skipped = before + kMin; skipped < here; skipped += kMin) {
          fires = fires || WallMatches(f, skipped);
        }
        if (fires) expected.push_back(t);
      }
      const auto s = Schedule::Parse(text, zone);
      ASSERT_TRUE(s.ok()) << text;
      EXPECT_EQ(FireTimes(*s, w.from, to), expected) << text << " in " << w.zone;
      const auto intervals = s->IntervalsEndingIn(w.from, to);
      ASSERT_EQ(intervals.size(), expected.size()) << text << " in " << w.zone;
      for (size_t i = 0; i < intervals.size(); ++i) {
        EXPECT_EQ(intervals[i].end, expected[i]) << text << " in " << w.zone;
        if (i > 0) {
          EXPECT_EQ(intervals[i].start, expected[i - 1]) << text << " in " << w.zone;
        }
      }
      if (!intervals.empty()) {
        EXPECT_LT(intervals[0].start, w.from + kMin) << text << " in " << w.zone;
        EXPECT_EQ(s->Next(intervals[0].start), intervals[0].end) << text << " in " << w.zone;
      }
    }
  }
}

TEST(ScheduleInZone, AYearOfHourlyFireTimesIsQuick) {
  const Schedule hourly = MustIn("0 * * * *", "America/New_York");
  const auto begin = std::chrono::steady_clock::now();
  // 2026 in New York: 8760 wall-clock hours, of which 02:00 on March 8
  // resolves to the same instant as 03:00.
  const auto fires = FireTimes(hourly, At(2026, 1, 1, 5) - 1, At(2027, 1, 1, 5) - 1);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(fires.size(), 8759u);
  EXPECT_EQ(fires.front(), At(2026, 1, 1, 5));
  EXPECT_EQ(fires.back(), At(2027, 1, 1, 4));  // 23:00 EST on December 31
  // Typically a few milliseconds; the bound only catches a blowup.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace larder::schedule
