#include "schedule/schedule.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <sstream>

#include "schedule/civil.h"

namespace larder::schedule {
namespace {

constexpr int64_t kMinuteMicros = Duration::kMinute;
constexpr int64_t kMinutesPerDay = 24 * 60;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One field of a cron expression.
struct FieldSpec {
  const char* name;
  int lo;
  int hi;
  std::array<const char*, 12> names;  // value lo + i, or null
};

constexpr FieldSpec kMinute{"minute", 0, 59, {}};
constexpr FieldSpec kHour{"hour", 0, 23, {}};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, {}};
constexpr FieldSpec kMonth{"month", 1, 12, {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                                            "SEP", "OCT", "NOV", "DEC"}};
// 7 is Sunday too: accepted here and folded onto 0 by the caller.
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}};

Status FieldError(const FieldSpec& f, std::string_view field, const std::string& why) {
  return Status::InvalidArgument(std::string(f.name) + " `" + std::string(field) + "`: " + why);
}

// A value of the field: a number or (where the field has them) a name.
Result<int> FieldValue(const FieldSpec& f, std::string_view field, std::string_view text) {
  const std::string upper = Upper(text);
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (f.names[i] != nullptr && upper == f.names[i]) return f.lo + static_cast<int>(i);
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return FieldError(f, field, "`" + std::string(text) + "` is not a number" +
                                    (f.names[0] != nullptr ? " or a name" : ""));
  }
  if (v < f.lo || v > f.hi) {
    return FieldError(f, field, std::to_string(v) + " is not in " + std::to_string(f.lo) + ".." +
                                    std::to_string(f.hi));
  }
  return v;
}

// Sets the bits of the values that `field` names.
template <size_t N>
Status ParseField(const FieldSpec& f, std::string_view field, std::bitset<N>* bits) {
  size_t start = 0;
  while (true) {
    const size_t comma = field.find(',', start);
    std::string_view item = field.substr(start, comma == std::string_view::npos ? comma : comma - start);
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      const std::string_view s = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step < 1 ||
          step > f.hi) {
        return FieldError(f, field, "step `" + std::string(s) + "` is not in 1.." +
                                        std::to_string(f.hi));
      }
      item = item.substr(0, slash);
    }
    int lo = f.lo, hi = f.hi;
    if (item != "*") {
      const size_t dash = item.find('-');
      LARDER_ASSIGN_OR_RETURN(lo, FieldValue(f, field, item.substr(0, dash)));
      hi = lo;
      if (dash != std::string_view::npos) {
        LARDER_ASSIGN_OR_RETURN(hi, FieldValue(f, field, item.substr(dash + 1)));
        if (hi < lo) {
          return FieldError(f, field, "range `" + std::string(item) + "` runs backwards");
        }
      } else if (step > 1) {
        hi = f.hi;  // `a/s`: from a to the end, every s
      }
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v));
    if (comma == std::string_view::npos) return Status::OK();
    start = comma + 1;
  }
}

constexpr unsigned kDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view text, TimeZone zone) {
  LARDER_ASSIGN_OR_RETURN(Schedule s, Parse(text));
  s.zone_ = std::move(zone);
  return s;
}

Result<Schedule> Schedule::Parse(std::string_view text) {
  std::vector<std::string> fields;
  {
    std::istringstream in{std::string(text)};
    for (std::string f; in >> f;) fields.push_back(f);
  }
  Schedule s;
  for (const std::string& f : fields) s.text_ += (s.text_.empty() ? "" : " ") + f;
  const std::string quoted = "schedule `" + s.text_ + "`: ";
  if (fields.size() == 1) {
    static const std::pair<const char*, const char*> kAliases[] = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    for (const auto& [alias, expansion] : kAliases) {
      if (fields[0] == alias) {
        LARDER_ASSIGN_OR_RETURN(Schedule expanded, Parse(expansion));
        expanded.text_ = alias;
        return expanded;
      }
    }
    if (fields[0].starts_with("@")) {
      return Status::InvalidArgument(quoted +
                                     "not an alias (@hourly, @daily, @weekly, @monthly, @yearly)");
    }
    Result<Duration> d = ParseDuration(fields[0]);
    if (!d.ok()) {
      return Status::InvalidArgument(quoted + "not a duration (" + d.status().message() +
                                     "), an @alias, or a 5-field cron expression");
    }
    if (d->micros < Duration::kSecond) {
      return Status::InvalidArgument(quoted + "a schedule's period must be 1 s or more");
    }
    s.period_micros_ = d->micros;
    return s;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(quoted + "has " + std::to_string(fields.size()) +
                                   " fields; a cron expression has 5 (minute hour day-of-month "
                                   "month day-of-week)");
  }
  s.cron_ = s.text_;
  std::bitset<8> dow;
  Status st = ParseField(kMinute, fields[0], &s.minutes_);
  if (st.ok()) st = ParseField(kHour, fields[1], &s.hours_);
  if (st.ok()) st = ParseField(kDayOfMonth, fields[2], &s.days_of_month_);
  if (st.ok()) st = ParseField(kMonth, fields[3], &s.months_);
  if (st.ok()) st = ParseField(kDayOfWeek, fields[4], &dow);
  if (!st.ok()) return Status::InvalidArgument(quoted + st.message());
  for (size_t d = 0; d < 7; ++d) s.days_of_week_[d] = dow[d];
  if (dow[7]) s.days_of_week_.set(0);
  s.day_of_month_any_ = fields[2].starts_with("*");
  s.day_of_week_any_ = fields[4].starts_with("*");
  if (s.day_of_week_any_ && !s.day_of_month_any_) {
    // Days come from day-of-month alone: some chosen month must have one
    // (a restricted day-of-week matches some day of every month).
    bool possible = false;
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= kDaysInMonth[m]; ++d) {
        possible = possible || (s.months_[m] && s.days_of_month_[d]);
      }
    }
    if (!possible) {
      return Status::InvalidArgument(quoted + "never fires: no chosen month has the chosen days");
    }
  }
  return s;
}

bool Schedule::MatchesDay(int64_t days) const {
  const Civil c = CivilOf(days);
  if (!months_[c.month]) return false;
  const bool dom = days_of_month_[c.day];
  const bool dow = days_of_week_[c.weekday];
  if (day_of_month_any_ && day_of_week_any_) return true;
  if (day_of_month_any_) return dow;
  if (day_of_week_any_) return dom;
  return dom || dow;
}

int64_t Schedule::NextWallMinute(int64_t wall) const {
  int64_t minute = FloorDiv(wall, kMinuteMicros) + 1;
  // A day that matches comes within a few years (Parse refuses schedules
  // that never fire); the bound only guards against a bug looping forever.
  for (int guard = 0; guard < 20000; ++guard) {
    const int64_t days = FloorDiv(minute, kMinutesPerDay);
    const Civil c = CivilOf(days);
    if (!months_[c.month]) {
      const bool december = c.month == 12;
      minute = DaysOf(december ? c.year + 1 : c.year, december ? 1 : c.month + 1, 1) *
               kMinutesPerDay;
      continue;
    }
    if (MatchesDay(days)) {
      const int64_t of_day = minute - days * kMinutesPerDay;
      for (int64_t m = of_day; m < kMinutesPerDay; ++m) {
        if (hours_[static_cast<size_t>(m / 60)] && minutes_[static_cast<size_t>(m % 60)]) {
          return (days * kMinutesPerDay + m) * kMinuteMicros;
        }
      }
    }
    minute = (days + 1) * kMinutesPerDay;
  }
  return std::numeric_limits<int64_t>::max();
}

int64_t Schedule::PreviousWallMinute(int64_t wall) const {
  int64_t minute = FloorDiv(wall - 1, kMinuteMicros);
  for (int guard = 0; guard < 20000; ++guard) {
    const int64_t days = FloorDiv(minute, kMinutesPerDay);
    if (MatchesDay(days)) {
      for (int64_t m = minute - days * kMinutesPerDay; m >= 0; --m) {
        if (hours_[static_cast<size_t>(m / 60)] && minutes_[static_cast<size_t>(m % 60)]) {
          return (days * kMinutesPerDay + m) * kMinuteMicros;
        }
      }
    }
    minute = days * kMinutesPerDay - 1;
  }
  return std::numeric_limits<int64_t>::min();
}

TimestampMicros Schedule::FireTimeOf(int64_t wall_minute) const {
  return zone_.FirstUtcAtOrAfterLocal(wall_minute / Duration::kSecond) * Duration::kSecond;
}

int64_t Schedule::WallTimeOf(TimestampMicros t) const {
  return t + zone_.OffsetSeconds(t) * Duration::kSecond;
}

// A fire time is FireTimeOf(m) for a matching wall minute m. FireTimeOf is
// non-decreasing in m, and no m after the wall time of `after` resolves to
// `after` or before it, except in a fold (where `after` may be the second
// occurrence of a wall time whose first has passed): those are skipped.
TimestampMicros Schedule::Next(TimestampMicros after) const {
  if (period_micros_ > 0) return (FloorDiv(after, period_micros_) + 1) * period_micros_;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  for (int64_t m = NextWallMinute(WallTimeOf(after)); m != kNever; m = NextWallMinute(m)) {
    const TimestampMicros t = FireTimeOf(m);
    if (t > after) return t;
  }
  return kNever;
}

// `at` is a fire time, so the first occurrence of its wall time (or the end
// of a gap): every matching wall minute whose fire time precedes it comes
// before that wall time. Minutes in the gap before `at` resolve to `at`
// itself and are skipped.
TimestampMicros Schedule::Previous(TimestampMicros at) const {
  if (period_micros_ > 0) return at - period_micros_;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  for (int64_t m = PreviousWallMinute(WallTimeOf(at)); m != kNever; m = PreviousWallMinute(m)) {
    const TimestampMicros t = FireTimeOf(m);
    if (t < at) return t;
  }
  return kNever;
}

std::vector<Interval> Schedule::IntervalsEndingIn(TimestampMicros from, TimestampMicros to) const {
  std::vector<Interval> out;
  TimestampMicros end = Next(from);
  if (end > to) return out;
  TimestampMicros start = Previous(end);
  while (end <= to) {
    out.push_back({start, end});
    start = end;
    end = Next(end);
  }
  return out;
}

}  // namespace larder::schedule
