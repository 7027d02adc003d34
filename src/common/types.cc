#include "larder/types.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>
#include <utility>

namespace larder {
namespace {

constexpr std::array<std::pair<ScalarType, std::string_view>, 8> kScalarNames{{
    {ScalarType::kInt32, "Int32"},
    {ScalarType::kInt64, "Int64"},
    {ScalarType::kFloat32, "Float32"},
    {ScalarType::kFloat64, "Float64"},
    {ScalarType::kString, "String"},
    {ScalarType::kBytes, "Bytes"},
    {ScalarType::kBool, "Bool"},
    {ScalarType::kUnixTimestamp, "UnixTimestamp"},
}};

std::string AcceptedTypeNames() {
  std::string out;
  for (const auto& [type, name] : kScalarNames) {
    out += name;
    out += ", ";
  }
  out += "or Array(T) of these";
  return out;
}

}  // namespace

Result<ValueType> ParseValueType(std::string_view text) {
  ValueType result;
  std::string_view inner = text;
  constexpr std::string_view kArray = "Array(";
  if (inner.starts_with(kArray) && inner.ends_with(")")) {
    result.is_array = true;
    inner = inner.substr(kArray.size(), inner.size() - kArray.size() - 1);
  }
  for (const auto& [type, name] : kScalarNames) {
    if (inner == name) {
      result.scalar = type;
      return result;
    }
  }
  return Status::InvalidArgument("unknown dtype '" + std::string(text) +
                                 "'; expected " + AcceptedTypeNames());
}

std::string ValueTypeName(const ValueType& type) {
  std::string_view name = "String";
  for (const auto& [t, n] : kScalarNames) {
    if (t == type.scalar) name = n;
  }
  if (type.is_array) return "Array(" + std::string(name) + ")";
  return std::string(name);
}

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("bad duration '" + std::string(text) +
                                   "': " + std::string(why) +
                                   " (write e.g. 365d, 12h, 10m, 30s, 1d12h)");
  };
  if (text.empty()) return bad("it is empty");
  if (text.front() == '-') return bad("a duration cannot be negative");
  if (text == "0") return Duration{0};
  Duration total;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return bad("expected a number");
    int64_t amount = 0;
    const char* begin = text.data() + i;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, amount);
    if (ec == std::errc::result_out_of_range) return bad("the number is too large");
    if (ec != std::errc() || ptr == begin) return bad("expected a number");
    i += static_cast<size_t>(ptr - begin);
    if (i >= text.size()) return bad("a number needs a unit: d, h, m or s");
    int64_t unit = 0;
    switch (text[i]) {
      case 'd': unit = Duration::kDay; break;
      case 'h': unit = Duration::kHour; break;
      case 'm': unit = Duration::kMinute; break;
      case 's': unit = Duration::kSecond; break;
      default: return bad("unknown unit; use d, h, m or s");
    }
    ++i;
    if (amount > (std::numeric_limits<int64_t>::max() - total.micros) / unit) {
      return bad("the duration is too long");
    }
    total.micros += amount * unit;
  }
  return total;
}

std::string FormatDuration(Duration d) {
  if (d.micros == 0) return "0s";
  std::string out;
  int64_t rest = d.micros;
  constexpr std::array<std::pair<int64_t, char>, 4> kUnits{{
      {Duration::kDay, 'd'}, {Duration::kHour, 'h'},
      {Duration::kMinute, 'm'}, {Duration::kSecond, 's'}}};
  for (const auto& [unit, letter] : kUnits) {
    if (rest >= unit) {
      out += std::to_string(rest / unit);
      out += letter;
      rest %= unit;
    }
  }
  if (rest != 0) out += std::to_string(rest) + "us";  // not parseable; never
                                                      // produced by the parser
  return out;
}

namespace {

// Exactly `len` decimal digits at `pos` (no sign, unlike std::from_chars).
bool ReadDigits(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The zone suffix in seconds east of UTC; false when it is not one.
bool ParseZone(std::string_view zone, int* offset_seconds) {
  *offset_seconds = 0;
  if (zone.empty() || zone == "Z") return true;
  if (zone[0] != '+' && zone[0] != '-') return false;
  int h = 0, m = 0;
  if (!ReadDigits(zone, 1, 2, &h)) return false;
  std::string_view rest = zone.substr(3);
  if (rest.starts_with(':')) rest.remove_prefix(1);
  if (!rest.empty() && (rest.size() != 2 || !ReadDigits(rest, 0, 2, &m))) return false;
  if (h > 23 || m > 59) return false;
  *offset_seconds = (zone[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return true;
}

}  // namespace

std::string FormatIsoTimestamp(TimestampMicros micros) {
  const int64_t secs = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  const int64_t fraction = micros - secs * 1'000'000;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  char text[48] = "?";
  if (gmtime_r(&t, &tm) == nullptr) return text;
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  if (fraction != 0) {
    std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(fraction));
  } else {
    std::snprintf(text + n, sizeof text - n, "Z");
  }
  return text;
}

bool ParseIsoTimestamp(std::string_view s, TimestampMicros* out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !ReadDigits(s, 0, 4, &y) ||
      !ReadDigits(s, 5, 2, &mo) || !ReadDigits(s, 8, 2, &d)) {
    return false;
  }
  size_t i = 10;
  int64_t micros = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    if (!ReadDigits(s, i + 1, 2, &h) || s.size() < i + 6 || s[i + 3] != ':' ||
        !ReadDigits(s, i + 4, 2, &mi)) {
      return false;
    }
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!ReadDigits(s, i + 1, 2, &sec)) return false;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        ++i;
        int64_t scale = 100000;
        const size_t first = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          micros += (s[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == first) return false;
      }
    }
  }
  int offset = 0;
  if (!ParseZone(s.substr(i), &offset)) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) {
    return false;
  }
  const int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  *out = seconds * 1'000'000 + micros;
  return true;
}

}  // namespace larder
