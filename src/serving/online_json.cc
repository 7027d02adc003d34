// Feast's get-online-features JSON for OnlineFeaturesResponse, and the
// names of feature statuses.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "larder/online_features.h"

namespace larder {

const char* FeatureStatusName(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kPresent:
      return "PRESENT";
    case FeatureStatus::kNullValue:
      return "NULL_VALUE";
    case FeatureStatus::kNotFound:
      return "NOT_FOUND";
    case FeatureStatus::kOutsideMaxAge:
      return "OUTSIDE_MAX_AGE";
  }
  return "INVALID";
}

namespace {

// Appends `s` as a JSON string: quotes, backslashes and control characters
// escaped; bytes that are not valid UTF-8 replaced by U+FFFD.
void AppendString(std::string_view s, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence: copied when well formed.
    size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    } else if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);  // overlong, > U+10FFFF
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  out += '"';
}

// A double as JSON: the shortest text that reads back the same, with ".0"
// on whole numbers (as JSON libraries print doubles; -0.0 keeps its sign).
// JSON has no number for NaN and the infinities: they are the strings
// "NaN", "Infinity" and "-Infinity", protobuf's JSON mapping, which Feast's
// server sends too.
void AppendDouble(double d, std::string& out) {
  if (std::isnan(d)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void AppendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(end - buf));
}

// ".mmm" or ".uuuuuu" of a second's `micros`, as few digits as keep it
// exact (none for a whole second), as Feast writes event timestamps.
void AppendFraction(int64_t micros, std::string& out) {
  if (micros == 0) return;
  int digits = 6;
  if (micros % 1000 == 0) {
    micros /= 1000;
    digits = 3;
  }
  char buf[8] = ".000000";
  for (int d = digits; d >= 1; --d, micros /= 10) buf[d] = static_cast<char>('0' + micros % 10);
  out.append(buf, static_cast<size_t>(digits) + 1);
}

// "YYYY-MM-DDTHH:MM:SS[.fff[fff]]Z" of a time in microseconds, by the
// civil-from-days algorithm: no locale, no time zone, no libc call.
void AppendRfc3339(TimestampMicros micros, std::string& out) {
  int64_t secs = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  const int64_t fraction = micros - secs * 1'000'000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year >= 0 && year <= 9999) {
    // The common case, digit by digit: snprintf was a fifth of a server's
    // CPU at one entity per request.
    char buf[21] = "\"0000-00-00T00:00:00";
    auto two = [&buf](size_t at, int64_t v) {
      buf[at] = static_cast<char>('0' + v / 10);
      buf[at + 1] = static_cast<char>('0' + v % 10);
    };
    two(1, year / 100);
    two(3, year % 100);
    two(6, month);
    two(9, day);
    two(12, rem / 3600);
    two(15, rem / 60 % 60);
    two(18, rem % 60);
    out.append(buf, 20);
  } else {
    char buf[96];  // room for any int64 fields
    std::snprintf(buf, sizeof buf, "\"%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                  static_cast<long long>(year), static_cast<long long>(month),
                  static_cast<long long>(day), static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
    out += buf;
  }
  AppendFraction(fraction, out);
  out += "Z\"";
}

template <typename T, typename F>
void AppendArray(const std::vector<T>& items, F append_one, std::string& out) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    append_one(items[i], out);
  }
  out += ']';
}

void AppendValue(const Value& v, std::string& out) {
  if (v.is_null()) {
    out += "null";
    return;
  }
  const ValueType t = v.type();
  auto seconds = [](int64_t micros, std::string& o) { AppendInt(micros / 1'000'000, o); };
  auto base64 = [](const std::string& b, std::string& o) { AppendString(Base64Encode(b), o); };
  if (!t.is_array) {
    switch (t.scalar) {
      case ScalarType::kInt32: return AppendInt(v.int32_value(), out);
      case ScalarType::kInt64: return AppendInt(v.int64_value(), out);
      case ScalarType::kFloat32: return AppendDouble(v.float32_value(), out);
      case ScalarType::kFloat64: return AppendDouble(v.float64_value(), out);
      case ScalarType::kString: return AppendString(v.string_value(), out);
      case ScalarType::kBytes: return base64(v.string_value(), out);
      case ScalarType::kBool: out += v.bool_value() ? "true" : "false"; return;
      case ScalarType::kUnixTimestamp: return seconds(v.timestamp_value(), out);  // Feast: seconds
    }
  }
  switch (t.scalar) {
    case ScalarType::kInt32:
      return AppendArray(v.int32_array(), [](int32_t x, std::string& o) { AppendInt(x, o); }, out);
    case ScalarType::kInt64:
      return AppendArray(v.int64_array(), [](int64_t x, std::string& o) { AppendInt(x, o); }, out);
    case ScalarType::kUnixTimestamp:
      return AppendArray(v.int64_array(), seconds, out);
    case ScalarType::kFloat32:
      return AppendArray(v.float32_array(), [](float x, std::string& o) { AppendDouble(x, o); }, out);
    case ScalarType::kFloat64:
      return AppendArray(v.float64_array(), [](double x, std::string& o) { AppendDouble(x, o); }, out);
    case ScalarType::kString:
      return AppendArray(v.string_array(),
                         [](const std::string& x, std::string& o) { AppendString(x, o); }, out);
    case ScalarType::kBytes:
      return AppendArray(v.string_array(), base64, out);
    case ScalarType::kBool:
      out += '[';
      for (size_t i = 0; i < v.bool_array().size(); ++i) {
        out += i > 0 ? "," : "";
        out += v.bool_array()[i] ? "true" : "false";
      }
      out += ']';
      return;
  }
}

}  // namespace

std::string OnlineFeaturesResponse::ToJson() const {
  // Written directly, in Feast's key order: a tree of JSON objects first
  // cost more than the read it reports.
  std::string out = "{\"metadata\":{\"feature_names\":[";
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) out += ',';
    AppendString(columns[c].name, out);
  }
  out += "]},\"results\":[";
  for (size_t c = 0; c < columns.size(); ++c) {
    const OnlineFeatureColumn& col = columns[c];
    out += c > 0 ? ",{\"values\":[" : "{\"values\":[";
    for (size_t i = 0; i < col.values.size(); ++i) {
      if (i > 0) out += ',';
      AppendValue(col.values[i], out);
    }
    out += "],\"statuses\":[";
    for (size_t i = 0; i < col.statuses.size(); ++i) {
      if (i > 0) out += ',';
      out += '"';
      out += FeatureStatusName(col.statuses[i]);
      out += '"';
    }
    out += "],\"event_timestamps\":[";
    for (size_t i = 0; i < col.event_timestamps.size(); ++i) {
      if (i > 0) out += ',';
      AppendRfc3339(col.event_timestamps[i], out);
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace larder
