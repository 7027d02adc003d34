// Value types (Feast's dtypes) and durations.
//
// Types are written as Feast writes them: Int32, Int64, Float32, Float64,
// String, Bytes, Bool, UnixTimestamp, and Array(T) of any of these scalars.
// Durations are written as an integer and a unit: "365d", "12h", "10m",
// "30s", or a sum such as "1d12h". "0" (or "0s") is the zero duration.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder {

enum class ScalarType {
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kString,
  kBytes,
  kBool,
  kUnixTimestamp,
};

struct ValueType {
  ScalarType scalar = ScalarType::kString;
  bool is_array = false;

  bool operator==(const ValueType&) const = default;
};

// Parses "Int64", "Array(String)", ... Names are case-sensitive, as in Feast.
// Returns InvalidArgument naming the text and the accepted names otherwise.
Result<ValueType> ParseValueType(std::string_view text);
// The inverse of ParseValueType.
std::string ValueTypeName(const ValueType& type);

// Microseconds since the Unix epoch, UTC.
using TimestampMicros = int64_t;

// Parses an ISO 8601 time: YYYY-MM-DD, optionally followed by
// [T ]HH:MM[:SS[.ffffff]] and a zone: none or Z (UTC), or +HH:MM, -HH:MM,
// +HHMM or +HH. Returns false, leaving *out alone, for anything else.
bool ParseIsoTimestamp(std::string_view text, TimestampMicros* out);
// "2026-12-07T06:31:00Z", with ".ffffff" when the time has a fraction.
std::string FormatIsoTimestamp(TimestampMicros micros);

// A length of time in microseconds. Non-negative when parsed.
struct Duration {
  int64_t micros = 0;

  static constexpr int64_t kSecond = 1'000'000;
  static constexpr int64_t kMinute = 60 * kSecond;
  static constexpr int64_t kHour = 60 * kMinute;
  static constexpr int64_t kDay = 24 * kHour;

  bool operator==(const Duration&) const = default;
  auto operator<=>(const Duration&) const = default;
};

// Parses "365d", "12h", "10m", "30s", "1d12h", "0". Units: d, h, m, s.
// A negative or malformed duration is InvalidArgument with the reason.
Result<Duration> ParseDuration(std::string_view text);
// The shortest canonical form: "365d", "1d12h", "0s".
std::string FormatDuration(Duration d);

}  // namespace larder
