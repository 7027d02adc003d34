#include "schedule/time_zone.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>

#include "schedule/civil.h"

namespace larder::schedule {
namespace {

constexpr int64_t kHourSeconds = 3600;
constexpr int64_t kDaySeconds = 24 * kHourSeconds;
// No zone is further than this from UTC (the TZif limit is about ±25 h).
constexpr int64_t kMaxOffset = 26 * kHourSeconds;
// Real TZif files are a few KiB; a larger one is not a zone file.
constexpr size_t kMaxFileBytes = 1 << 20;
constexpr const char* kDefaultZoneDir = "/usr/share/zoneinfo";

// One end of daylight saving time in a POSIX TZ rule: a day of the year and
// a local time of that day.
struct DateRule {
  enum class Kind { kJulian, kZeroBased, kMonthWeekDay };
  Kind kind = Kind::kMonthWeekDay;
  int day = 0;  // Jn: 1..365; n: 0..365; Mm.w.d: d, 0 = Sunday
  int month = 0;
  int week = 0;                     // 1..5, 5 = the last
  int64_t time = 2 * kHourSeconds;  // local time of day, -167 h..167 h
};

// A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". Offsets here are
// UTC offsets (east positive), the opposite sign of the string's.
struct PosixRule {
  int64_t std_offset = 0;
  bool has_dst = false;
  int64_t dst_offset = 0;
  DateRule start;  // into daylight saving time (local standard time)
  DateRule end;    // back to standard time (local daylight time)
};

// A parser over a POSIX TZ string; each method consumes what it parses.
class PosixParser {
 public:
  explicit PosixParser(std::string_view text) : s_(text) {}

  std::optional<PosixRule> Parse() {
    PosixRule rule;
    if (!Name()) return std::nullopt;
    std::optional<int64_t> std_offset = HoursMinutesSeconds(24);
    if (!std_offset) return std::nullopt;
    rule.std_offset = -*std_offset;
    if (s_.empty()) return rule;
    if (!Name()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + kHourSeconds;
    if (!s_.empty() && s_[0] != ',') {
      std::optional<int64_t> dst_offset = HoursMinutesSeconds(24);
      if (!dst_offset) return std::nullopt;
      rule.dst_offset = -*dst_offset;
    }
    // zic always writes the rules; POSIX leaves their absence to the system.
    if (!Date(&rule.start) || !Date(&rule.end) || !s_.empty()) return std::nullopt;
    return rule;
  }

 private:
  bool Eat(char c) {
    if (s_.empty() || s_[0] != c) return false;
    s_.remove_prefix(1);
    return true;
  }

  // A zone abbreviation: 3+ letters, or <...> of letters, digits, '+', '-'.
  bool Name() {
    size_t n = 0;
    if (Eat('<')) {
      while (n < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[n])) || s_[n] == '+' || s_[n] == '-')) {
        ++n;
      }
      if (n < 3 || n >= s_.size() || s_[n] != '>') return false;
      s_.remove_prefix(n + 1);
      return true;
    }
    while (n < s_.size() && std::isalpha(static_cast<unsigned char>(s_[n]))) ++n;
    s_.remove_prefix(n);
    return n >= 3;
  }

  std::optional<int> Number(int lo, int hi) {
    size_t n = 0;
    int v = 0;
    while (n < s_.size() && n < 3 && std::isdigit(static_cast<unsigned char>(s_[n]))) {
      v = v * 10 + (s_[n] - '0');
      ++n;
    }
    if (n == 0 || v < lo || v > hi) return std::nullopt;
    s_.remove_prefix(n);
    return v;
  }

  // [+-]hh[:mm[:ss]] in seconds, with hh at most `max_hours`.
  std::optional<int64_t> HoursMinutesSeconds(int max_hours) {
    int64_t sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    std::optional<int> h = Number(0, max_hours);
    if (!h) return std::nullopt;
    int64_t total = *h * kHourSeconds;
    if (Eat(':')) {
      std::optional<int> m = Number(0, 59);
      if (!m) return std::nullopt;
      total += *m * 60;
      if (Eat(':')) {
        std::optional<int> sec = Number(0, 59);
        if (!sec) return std::nullopt;
        total += *sec;
      }
    }
    return sign * total;
  }

  // ",Jn[/time]", ",n[/time]" or ",Mm.w.d[/time]".
  bool Date(DateRule* d) {
    if (!Eat(',')) return false;
    std::optional<int> v;
    if (Eat('J')) {
      d->kind = DateRule::Kind::kJulian;
      if (!(v = Number(1, 365))) return false;
      d->day = *v;
    } else if (Eat('M')) {
      d->kind = DateRule::Kind::kMonthWeekDay;
      std::optional<int> m, w;
      if (!(m = Number(1, 12)) || !Eat('.') || !(w = Number(1, 5)) || !Eat('.') ||
          !(v = Number(0, 6))) {
        return false;
      }
      d->month = *m;
      d->week = *w;
      d->day = *v;
    } else {
      d->kind = DateRule::Kind::kZeroBased;
      if (!(v = Number(0, 365))) return false;
      d->day = *v;
    }
    if (Eat('/')) {
      // RFC 8536 extends POSIX's 0..24 hours to -167..167.
      std::optional<int64_t> t = HoursMinutesSeconds(167);
      if (!t) return false;
      d->time = *t;
    }
    return true;
  }

  std::string_view s_;
};

// Days since the epoch of the day `d` names in `year`.
int64_t DayOfRule(const DateRule& d, int year) {
  const int64_t jan1 = DaysOf(year, 1, 1);
  switch (d.kind) {
    case DateRule::Kind::kJulian:  // Feb 29 is never counted
      return jan1 + d.day - 1 + (IsLeapYear(year) && d.day >= 60 ? 1 : 0);
    case DateRule::Kind::kZeroBased:
      return jan1 + d.day;
    case DateRule::Kind::kMonthWeekDay:
      break;
  }
  const unsigned month = static_cast<unsigned>(d.month);
  const int64_t first = DaysOf(year, month, 1);
  const int first_weekday = static_cast<int>(CivilOf(first).weekday);
  int64_t day = first + (d.day - first_weekday + 7) % 7 + (d.week - 1) * 7;
  const int64_t next_month = month == 12 ? DaysOf(year + 1, 1, 1) : DaysOf(year, month + 1, 1);
  while (day >= next_month) day -= 7;  // week 5: the last such weekday
  return day;
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<int64_t> transitions;  // UTC seconds, ascending
  std::vector<int64_t> offsets;      // offsets[i]: from transitions[i] on
  int64_t initial_offset = 0;        // before the first transition
  std::optional<PosixRule> footer;   // after the last transition
};

TimeZone TimeZone::Utc() {
  static const std::shared_ptr<const Data> kUtc = [] {
    auto d = std::make_shared<Data>();
    d->name = "UTC";
    return d;
  }();
  return TimeZone(kUtc);
}

const std::string& TimeZone::name() const { return data_->name; }

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") {
    auto d = std::make_shared<Data>();
    d->name = std::string(name);
    return TimeZone(std::move(d));
  }
  // The name as given, cut short and with unprintable bytes as '?', for
  // messages that may be logged.
  std::string shown(name.substr(0, kMaxNameLength));
  for (char& c : shown) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  const std::string quoted = "time zone `" + shown + "`";
  if (name.empty() || name.size() > kMaxNameLength) {
    return Status::InvalidArgument(quoted + ": a zone name has 1.." +
                                   std::to_string(kMaxNameLength) + " characters");
  }
  // Components of [A-Za-z0-9_+-] between single slashes: no absolute
  // path, no "." or "..", nothing a shell or the file system reads
  // specially. Dots are not allowed at all, so ".." cannot appear.
  bool component_empty = true;
  for (const char c : name) {
    if (c == '/') {
      if (component_empty) break;
      component_empty = true;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-') {
      component_empty = false;
    } else {
      component_empty = true;
      break;
    }
  }
  if (component_empty) {
    return Status::InvalidArgument(quoted +
                                   ": a zone name is parts of letters, digits, '_', '+' and '-' "
                                   "separated by single '/' (e.g. Europe/Berlin)");
  }
  const char* env = std::getenv("TZDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : kDefaultZoneDir;
  const std::string path = dir + "/" + std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(quoted + ": no such zone in " + dir);
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes;
  if (in) {
    bytes.resize(kMaxFileBytes + 1);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<size_t>(in.gcount()));
  }
  if (!in && !in.eof()) return Status::IOError(quoted + ": cannot read " + path);
  if (bytes.size() > kMaxFileBytes) {
    return Status::Corruption(path + ": larger than " + std::to_string(kMaxFileBytes) +
                              " bytes, not a TZif file");
  }
  Result<TimeZone> zone = FromTzif(std::string(name), bytes);
  if (!zone.ok()) return zone.status().WithContext(path);
  return zone;
}

namespace {

// Big-endian reads over the bytes of a TZif file.
class TzifReader {
 public:
  explicit TzifReader(std::string_view bytes) : s_(bytes) {}

  size_t remaining() const { return s_.size(); }
  bool Take(size_t n, std::string_view* out) {
    if (n > s_.size()) return false;
    *out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }
  static int64_t BigEndian(std::string_view b) {
    uint64_t v = 0;
    for (const char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    // Sign-extend from the width read.
    const unsigned shift = static_cast<unsigned>(64 - 8 * b.size());
    return static_cast<int64_t>(v << shift) >> shift;
  }

 private:
  std::string_view s_;
};

struct TzifHeader {
  char version = 0;
  size_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

// Reads a 44-byte header; an error message or empty.
std::string ReadHeader(TzifReader* r, TzifHeader* h) {
  std::string_view b;
  if (!r->Take(44, &b)) return "shorter than a TZif header";
  if (b.substr(0, 4) != "TZif") return "not a TZif file (no TZif magic)";
  h->version = b[4];
  if (h->version != '\0' && (h->version < '2' || h->version > '4')) {
    return "unknown TZif version";
  }
  size_t* counts[] = {&h->isutcnt, &h->isstdcnt, &h->leapcnt,
                      &h->timecnt, &h->typecnt,  &h->charcnt};
  for (size_t i = 0; i < 6; ++i) {
    *counts[i] =
        static_cast<size_t>(static_cast<uint32_t>(TzifReader::BigEndian(b.substr(20 + 4 * i, 4))));
  }
  if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0) return "no local time types";
  if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
      (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
    return "inconsistent header counts";
  }
  return "";
}

// The size of a data block with `time_size`-byte times.
size_t BlockSize(const TzifHeader& h, size_t time_size) {
  return h.timecnt * (time_size + 1) + h.typecnt * 6 + h.charcnt + h.leapcnt * (time_size + 4) +
         h.isstdcnt + h.isutcnt;
}

}  // namespace

Result<TimeZone> TimeZone::FromTzif(std::string name, std::string_view bytes) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("time zone `" + name + "`: " + why);
  };
  TzifReader r(bytes);
  TzifHeader h;
  if (std::string e = ReadHeader(&r, &h); !e.empty()) return corrupt(e);
  size_t time_size = 4;
  if (h.version != '\0') {
    // Skip the 32-bit block for the 64-bit one after it.
    std::string_view skipped;
    if (h.timecnt > r.remaining() || !r.Take(BlockSize(h, 4), &skipped)) {
      return corrupt("truncated in the version 1 data");
    }
    if (std::string e = ReadHeader(&r, &h); !e.empty()) return corrupt("second header: " + e);
    time_size = 8;
  }
  if (h.timecnt > r.remaining() || BlockSize(h, time_size) > r.remaining()) {
    return corrupt("truncated in the data block");
  }
  std::string_view times, indices, types, chars, rest;
  (void)r.Take(h.timecnt * time_size, &times);
  (void)r.Take(h.timecnt, &indices);
  (void)r.Take(h.typecnt * 6, &types);
  (void)r.Take(h.charcnt, &chars);
  (void)r.Take(h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt, &rest);

  auto d = std::make_shared<Data>();
  std::vector<int64_t> type_offsets(h.typecnt);
  for (size_t i = 0; i < h.typecnt; ++i) {
    const int64_t off = TzifReader::BigEndian(types.substr(6 * i, 4));
    if (off < -kMaxOffset || off > kMaxOffset) return corrupt("a UTC offset beyond ±26 h");
    if (static_cast<unsigned char>(types[6 * i + 5]) >= h.charcnt) {
      return corrupt("an abbreviation index past the abbreviations");
    }
    type_offsets[i] = off;
  }
  d->initial_offset = type_offsets[0];
  for (size_t i = 0; i < h.timecnt; ++i) {
    const int64_t t = TzifReader::BigEndian(times.substr(i * time_size, time_size));
    const auto type = static_cast<unsigned char>(indices[i]);
    if (type >= h.typecnt) return corrupt("a transition to a local time type that does not exist");
    if (!d->transitions.empty() && t <= d->transitions.back()) {
      return corrupt("transition times out of order");
    }
    d->transitions.push_back(t);
    d->offsets.push_back(type_offsets[type]);
  }
  if (time_size == 8) {
    // The footer: "\n" TZ string "\n"; an empty string means no rule.
    std::string_view footer;
    const size_t n = r.remaining();
    if (!r.Take(n, &footer) || footer.size() < 2 || footer.front() != '\n' ||
        footer.back() != '\n') {
      return corrupt("truncated or missing footer");
    }
    footer = footer.substr(1, footer.size() - 2);
    if (!footer.empty()) {
      d->footer = PosixParser(footer).Parse();
      if (!d->footer) return corrupt("footer TZ string `" + std::string(footer) + "` is not valid");
    }
  }
  d->name = std::move(name);  // not before: `corrupt` names it
  return TimeZone(std::move(d));
}

TimeZone::Period TimeZone::PeriodAt(int64_t utc) const {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Data& d = *data_;
  const auto& ts = d.transitions;
  const auto after = std::upper_bound(ts.begin(), ts.end(), utc);
  if (after == ts.begin()) {
    if (!ts.empty() || !d.footer) return {kMin, ts.empty() ? kMax : ts.front(), d.initial_offset};
  } else if (after != ts.end() || !d.footer) {
    return {*std::prev(after), after == ts.end() ? kMax : *after,
            d.offsets[static_cast<size_t>(after - ts.begin() - 1)]};
  }
  // Past the table: the footer's rule.
  const PosixRule& rule = *d.footer;
  const int64_t since = ts.empty() ? kMin : ts.back();
  // Past about year ±10000 (the calendar ends at ±32767), standard time.
  constexpr int64_t kFar = 10000 * 366 * kDaySeconds;
  if (!rule.has_dst || utc > kFar || utc < -kFar) return {since, kMax, rule.std_offset};
  // The rule's changes in the years around `utc`, in time order.
  const int year = CivilOf(FloorDiv(utc + rule.std_offset, kDaySeconds)).year;
  std::array<std::pair<int64_t, int64_t>, 6> changes;  // (instant, offset from then)
  for (int i = 0; i < 3; ++i) {
    const int y = year - 1 + i;
    changes[2 * i] = {DayOfRule(rule.start, y) * kDaySeconds + rule.start.time - rule.std_offset,
                      rule.dst_offset};
    changes[2 * i + 1] = {DayOfRule(rule.end, y) * kDaySeconds + rule.end.time - rule.dst_offset,
                          rule.std_offset};
  }
  std::sort(changes.begin(), changes.end());
  Period p{std::max(since, changes[0].first), kMax, changes[0].second};
  for (const auto& [at, offset] : changes) {
    if (at > utc) {
      p.end = at;
      break;
    }
    p = {std::max(since, at), kMax, offset};
  }
  return p;
}

int64_t TimeZone::OffsetSeconds(TimestampMicros utc) const {
  return PeriodAt(FloorDiv(utc, Duration::kSecond)).offset;
}

std::vector<int64_t> TimeZone::LocalToUtc(int64_t local_seconds) const {
  std::vector<int64_t> out;
  // Every instant whose wall time is local_seconds lies within kMaxOffset
  // of it; walk the periods that cover that span.
  for (Period p = PeriodAt(local_seconds - kMaxOffset);; p = PeriodAt(p.end)) {
    const int64_t u = local_seconds - p.offset;
    if (u >= p.begin && u < p.end) out.push_back(u);
    if (p.end > local_seconds + kMaxOffset || p.end == std::numeric_limits<int64_t>::max()) break;
  }
  return out;
}

int64_t TimeZone::FirstUtcAtOrAfterLocal(int64_t local_seconds) const {
  // The first period that has an instant whose wall time is at least
  // local_seconds, and that period's first such instant.
  for (Period p = PeriodAt(local_seconds - kMaxOffset);; p = PeriodAt(p.end)) {
    const int64_t u = std::max(p.begin, local_seconds - p.offset);
    if (u < p.end) return u;
  }
}

}  // namespace larder::schedule
