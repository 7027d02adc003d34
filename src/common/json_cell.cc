#include "common/json_cell.h"

#include <limits>
#include <vector>

namespace larder {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

}  // namespace

std::optional<int64_t> JsonInt64(const Json& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
  const uint64_t u = j.get<uint64_t>();
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(u);
}

Result<Value> JsonArrayCell(const Json& j, const std::string& where) {
  auto element = [&](size_t i) { return where + "[" + std::to_string(i) + "]"; };
  bool ints = true, numbers = true, strings = true, bools = true;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& e = j[i];
    if (e.is_null()) return Bad(element(i), "array elements cannot be null");
    ints = ints && e.is_number_integer();
    numbers = numbers && e.is_number();
    strings = strings && e.is_string();
    bools = bools && e.is_boolean();
  }
  if (ints) {
    std::vector<int64_t> out;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::optional<int64_t> v = JsonInt64(j[i]);
      if (!v) return Bad(element(i), j[i].dump() + " is out of the Int64 range");
      out.push_back(*v);
    }
    return Value::Int64Array(std::move(out));
  }
  if (numbers) {
    std::vector<double> out;
    for (const Json& e : j) out.push_back(e.get<double>());
    return Value::Float64Array(std::move(out));
  }
  if (strings) {
    std::vector<std::string> out;
    for (const Json& e : j) out.push_back(e.get<std::string>());
    return Value::StringArray(std::move(out));
  }
  if (bools) {
    std::vector<bool> out;
    for (const Json& e : j) out.push_back(e.get<bool>());
    return Value::BoolArray(std::move(out));
  }
  return Bad(where, "array elements must all be numbers, all strings or all booleans");
}

Result<Value> JsonCell(const Json& j, const std::string& where) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value::Null();
    case Json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const std::optional<int64_t> v = JsonInt64(j);
      if (!v) return Bad(where, j.dump() + " is out of the Int64 range");
      return Value::Int64(*v);
    }
    case Json::value_t::number_float:
      return Value::Float64(j.get<double>());
    case Json::value_t::string:
      return Value::String(j.get<std::string>());
    case Json::value_t::array:
      return JsonArrayCell(j, where);
    default:
      return Bad(where, "expected a number, string, boolean, array or null, got " +
                            std::string(j.type_name()));
  }
}

}  // namespace larder
