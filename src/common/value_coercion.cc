#include "common/value_coercion.h"

#include <cmath>
#include <limits>

namespace larder {
namespace {

Status Mismatch(const Value& value, ValueType to, std::string_view why = "") {
  std::string message = value.DebugString() + " cannot be read as " + ValueTypeName(to);
  if (!why.empty()) message += " (" + std::string(why) + ")";
  return Status::InvalidArgument(message);
}

// Element conversions shared by scalars and arrays. Each returns false when
// the element does not convert without loss.
bool ToInt32(int64_t v, int32_t* out) {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(v);
  return true;
}

bool ToFloat32(double v, float* out) {
  if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) return false;
  *out = static_cast<float>(v);
  return true;
}

bool ToTimestamp(const std::string& text, TimestampMicros* out) {
  return ParseIsoTimestamp(text, out);
}

// Applies `convert` to every element of `in`, into a vector of Out.
template <typename Out, typename In, typename F>
bool ConvertAll(const std::vector<In>& in, std::vector<Out>* out, F convert) {
  out->resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    Out element{};
    if (!convert(in[i], &element)) return false;
    (*out)[i] = element;
  }
  return true;
}

Result<Value> CoerceScalar(Value value, ScalarType to) {
  const ValueType target{to, false};
  const ScalarType from = value.type().scalar;
  switch (to) {
    case ScalarType::kInt32: {
      int32_t v = 0;
      if (from == ScalarType::kInt64 && ToInt32(value.int64_value(), &v)) return Value::Int32(v);
      return Mismatch(value, target, from == ScalarType::kInt64 ? "out of range" : "");
    }
    case ScalarType::kInt64:
      if (from == ScalarType::kInt32) return Value::Int64(value.int32_value());
      break;
    case ScalarType::kFloat32: {
      float v = 0;
      if (from == ScalarType::kFloat64 && ToFloat32(value.float64_value(), &v)) {
        return Value::Float32(v);
      }
      if (from == ScalarType::kInt64) return Value::Float32(static_cast<float>(value.int64_value()));
      if (from == ScalarType::kInt32) return Value::Float32(static_cast<float>(value.int32_value()));
      break;
    }
    case ScalarType::kFloat64:
      if (from == ScalarType::kInt64) return Value::Float64(static_cast<double>(value.int64_value()));
      if (from == ScalarType::kInt32) return Value::Float64(value.int32_value());
      if (from == ScalarType::kFloat32) return Value::Float64(value.float32_value());
      break;
    case ScalarType::kUnixTimestamp: {
      TimestampMicros t = 0;
      if (from == ScalarType::kString) {
        if (ToTimestamp(value.string_value(), &t)) return Value::UnixTimestamp(t);
        return Mismatch(value, target, "use ISO 8601, e.g. 2022-01-01T00:00:00Z");
      }
      break;
    }
    case ScalarType::kString:
    case ScalarType::kBytes:
    case ScalarType::kBool:
      break;
  }
  return Mismatch(value, target);
}

Result<Value> CoerceArray(Value value, ScalarType to) {
  const ValueType target{to, true};
  const ScalarType from = value.type().scalar;
  // An empty array has no element type to speak of: it fits every array.
  bool empty = false;
  switch (from) {
    case ScalarType::kInt32: empty = value.int32_array().empty(); break;
    case ScalarType::kInt64:
    case ScalarType::kUnixTimestamp: empty = value.int64_array().empty(); break;
    case ScalarType::kFloat32: empty = value.float32_array().empty(); break;
    case ScalarType::kFloat64: empty = value.float64_array().empty(); break;
    case ScalarType::kString:
    case ScalarType::kBytes: empty = value.string_array().empty(); break;
    case ScalarType::kBool: empty = value.bool_array().empty(); break;
  }
  switch (to) {
    case ScalarType::kInt32: {
      std::vector<int32_t> out;
      if (empty) return Value::Int32Array({});
      if (from == ScalarType::kInt64 && ConvertAll(value.int64_array(), &out, ToInt32)) {
        return Value::Int32Array(std::move(out));
      }
      break;
    }
    case ScalarType::kInt64: {
      if (empty) return Value::Int64Array({});
      if (from == ScalarType::kInt32) {
        const auto& in = value.int32_array();
        return Value::Int64Array(std::vector<int64_t>(in.begin(), in.end()));
      }
      break;
    }
    case ScalarType::kFloat32: {
      std::vector<float> out;
      if (empty) return Value::Float32Array({});
      if (from == ScalarType::kFloat64 && ConvertAll(value.float64_array(), &out, ToFloat32)) {
        return Value::Float32Array(std::move(out));
      }
      if (from == ScalarType::kInt64) {
        ConvertAll(value.int64_array(), &out, [](int64_t v, float* f) {
          *f = static_cast<float>(v);
          return true;
        });
        return Value::Float32Array(std::move(out));
      }
      break;
    }
    case ScalarType::kFloat64: {
      std::vector<double> out;
      if (empty) return Value::Float64Array({});
      if (from == ScalarType::kInt64) {
        ConvertAll(value.int64_array(), &out, [](int64_t v, double* d) {
          *d = static_cast<double>(v);
          return true;
        });
        return Value::Float64Array(std::move(out));
      }
      if (from == ScalarType::kFloat32) {
        const auto& in = value.float32_array();
        return Value::Float64Array(std::vector<double>(in.begin(), in.end()));
      }
      break;
    }
    case ScalarType::kUnixTimestamp: {
      std::vector<TimestampMicros> out;
      if (empty) return Value::UnixTimestampArray({});
      if (from == ScalarType::kString && ConvertAll(value.string_array(), &out, ToTimestamp)) {
        return Value::UnixTimestampArray(std::move(out));
      }
      break;
    }
    case ScalarType::kString:
      if (empty) return Value::StringArray({});
      break;
    case ScalarType::kBytes:
      if (empty) return Value::BytesArray({});
      break;
    case ScalarType::kBool:
      if (empty) return Value::BoolArray({});
      break;
  }
  return Mismatch(value, target);
}

}  // namespace

Result<Value> CoerceValue(Value value, ValueType to) {
  if (value.is_null() || value.type() == to) return value;
  if (value.type().is_array != to.is_array) return Mismatch(value, to);
  return to.is_array ? CoerceArray(std::move(value), to.scalar)
                     : CoerceScalar(std::move(value), to.scalar);
}

}  // namespace larder
