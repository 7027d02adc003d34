// Appender::AppendValue and the dtype -> DuckDB type mapping it relies on.
#include <vector>

#include "offline/duckdb/duckdb_connection.h"

namespace larder::duckdb {
namespace {

duckdb_type ElementType(ScalarType scalar) {
  switch (scalar) {
    case ScalarType::kInt32: return DUCKDB_TYPE_INTEGER;
    case ScalarType::kInt64: return DUCKDB_TYPE_BIGINT;
    case ScalarType::kFloat32: return DUCKDB_TYPE_FLOAT;
    case ScalarType::kFloat64: return DUCKDB_TYPE_DOUBLE;
    case ScalarType::kString: return DUCKDB_TYPE_VARCHAR;
    case ScalarType::kBytes: return DUCKDB_TYPE_BLOB;
    case ScalarType::kBool: return DUCKDB_TYPE_BOOLEAN;
    case ScalarType::kUnixTimestamp: return DUCKDB_TYPE_TIMESTAMP_TZ;
  }
  return DUCKDB_TYPE_VARCHAR;
}

duckdb_value StringValue(ScalarType scalar, const std::string& s) {
  if (scalar == ScalarType::kBytes) {
    return duckdb_create_blob(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  return duckdb_create_varchar_length(s.data(), s.size());
}

// A DuckDB LIST value of `elements`, made by `make` from each element.
template <typename T, typename Make>
duckdb_value ListValue(ScalarType scalar, const std::vector<T>& elements, Make make) {
  std::vector<duckdb_value> values;
  values.reserve(elements.size());
  for (const auto& e : elements) values.push_back(make(e));
  duckdb_logical_type type = duckdb_create_logical_type(ElementType(scalar));
  duckdb_value list = duckdb_create_list_value(type, values.data(), values.size());
  duckdb_destroy_logical_type(&type);
  for (auto& v : values) duckdb_destroy_value(&v);
  return list;
}

duckdb_value ArrayValue(const Value& v) {
  const ScalarType scalar = v.type().scalar;
  switch (scalar) {
    case ScalarType::kInt32:
      return ListValue(scalar, v.int32_array(), duckdb_create_int32);
    case ScalarType::kInt64:
      return ListValue(scalar, v.int64_array(), duckdb_create_int64);
    case ScalarType::kUnixTimestamp:
      return ListValue(scalar, v.int64_array(),
                       [](int64_t t) { return duckdb_create_timestamp_tz(duckdb_timestamp{t}); });
    case ScalarType::kFloat32:
      return ListValue(scalar, v.float32_array(), duckdb_create_float);
    case ScalarType::kFloat64:
      return ListValue(scalar, v.float64_array(), duckdb_create_double);
    case ScalarType::kString:
    case ScalarType::kBytes:
      return ListValue(scalar, v.string_array(),
                       [scalar](const std::string& s) { return StringValue(scalar, s); });
    case ScalarType::kBool:
      return ListValue(scalar, v.bool_array(), [](bool b) { return duckdb_create_bool(b); });
  }
  return nullptr;
}

}  // namespace

std::string DuckDbTypeName(ValueType type) {
  std::string name;
  switch (type.scalar) {
    case ScalarType::kInt32: name = "INTEGER"; break;
    case ScalarType::kInt64: name = "BIGINT"; break;
    case ScalarType::kFloat32: name = "FLOAT"; break;
    case ScalarType::kFloat64: name = "DOUBLE"; break;
    case ScalarType::kString: name = "VARCHAR"; break;
    case ScalarType::kBytes: name = "BLOB"; break;
    case ScalarType::kBool: name = "BOOLEAN"; break;
    case ScalarType::kUnixTimestamp: name = "TIMESTAMPTZ"; break;
  }
  return type.is_array ? name + "[]" : name;
}

void Appender::AppendValue(const Value& v) {
  if (v.is_null()) return AppendNull();
  if (!v.type().is_array) {
    switch (v.type().scalar) {
      case ScalarType::kInt32: return AppendInt32(v.int32_value());
      case ScalarType::kInt64: return AppendInt64(v.int64_value());
      case ScalarType::kFloat32:
        if (error_.ok() && !closed_) Check(duckdb_append_float(appender_, v.float32_value()));
        return;
      case ScalarType::kFloat64: return AppendDouble(v.float64_value());
      case ScalarType::kString: return AppendVarchar(v.string_value());
      case ScalarType::kBytes:
        if (error_.ok() && !closed_) {
          Check(duckdb_append_blob(appender_, v.string_value().data(), v.string_value().size()));
        }
        return;
      case ScalarType::kBool: return AppendBool(v.bool_value());
      case ScalarType::kUnixTimestamp: return AppendTimestampTz(v.timestamp_value());
    }
  }
  if (!error_.ok() || closed_) return;
  duckdb_value list = ArrayValue(v);
  Check(duckdb_append_value(appender_, list));
  duckdb_destroy_value(&list);
}

}  // namespace larder::duckdb
