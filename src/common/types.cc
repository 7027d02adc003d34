#include "larder/types.h"

#include <array>
#include <charconv>
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

}  // namespace larder
