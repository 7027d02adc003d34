// A time zone read from the system's TZif files (RFC 8536), for evaluating
// schedules in local wall time. libstdc++ 12 has no std::chrono::tzdb.
//
//   auto berlin = TimeZone::Load("Europe/Berlin");
//   int64_t off = berlin->OffsetSeconds(now);        // 3600 or 7200
//   auto utc = berlin->LocalToUtc(local_seconds);   // 0, 1 or 2 instants
//
// Times are seconds (or TimestampMicros where stated) since the Unix epoch;
// a "local" time is the wall clock reading expressed the same way, i.e. the
// UTC instant plus the offset in effect. Leap seconds are ignored.
//
// Thread safety: a TimeZone is immutable; copies share their data and may
// be used from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"

namespace larder::schedule {

class TimeZone {
 public:
  // The longest name Load accepts.
  static constexpr size_t kMaxNameLength = 255;

  // UTC, with no file behind it.
  static TimeZone Utc();

  // Reads the zone `name` (e.g. "Europe/Berlin") from the zoneinfo
  // directory: $TZDIR when set and non-empty, else /usr/share/zoneinfo.
  // "UTC" and "Etc/UTC" are built in and never read a file.
  // The name is untrusted: it must be components of [A-Za-z0-9_+-] joined
  // by '/', at most kMaxNameLength bytes; anything else (a leading '/',
  // "..", other characters) is InvalidArgument, and no file is opened.
  // NotFound naming the zone and the directory when there is no such zone
  // file; Corruption naming the file when it is not a valid TZif file (v1
  // to v4), its footer TZ string included.
  static Result<TimeZone> Load(std::string_view name);

  // Parses TZif `bytes` as the zone `name` (not validated, not read);
  // Corruption naming `name` when they are not valid. Load's parser.
  static Result<TimeZone> FromTzif(std::string name, std::string_view bytes);

  // The UTC offset (local minus UTC, in seconds) at the instant `utc`:
  // from the transition table, and after its last transition from the
  // file's POSIX TZ footer (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"). Before the
  // first transition, the offset of the file's first time type. Beyond
  // about year ±10000 a footer's daylight saving rule is not applied.
  int64_t OffsetSeconds(TimestampMicros utc) const;

  // The instants (seconds, ascending) whose wall time is `local_seconds`:
  // one usually, none in a gap (the hour skipped when clocks spring
  // forward), two in a fold (the hour repeated when clocks fall back).
  std::vector<int64_t> LocalToUtc(int64_t local_seconds) const;

  // The first instant (seconds) whose wall time is `local_seconds` or
  // later: the one instant of LocalToUtc, the earlier of two in a fold, and
  // in a gap the instant the gap ends (the transition). (Only a zone whose
  // clock jumps forward over a wall time and later falls back over it again
  // gives the gap's end although LocalToUtc has an instant.) Non-decreasing
  // in `local_seconds`. Schedules resolve their wall-clock fire times by it.
  int64_t FirstUtcAtOrAfterLocal(int64_t local_seconds) const;

  // The name it was loaded as ("UTC" for Utc()).
  const std::string& name() const;

 private:
  struct Data;
  // A span of time [begin, end) with one UTC offset.
  struct Period {
    int64_t begin;
    int64_t end;
    int64_t offset;
  };

  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

  // The period containing the instant `utc` (seconds).
  Period PeriodAt(int64_t utc) const;

  std::shared_ptr<const Data> data_;
};

}  // namespace larder::schedule
