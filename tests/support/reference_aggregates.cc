#include "support/reference_aggregates.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "aggregation/hll.h"
#include "online/value_codec.h"

namespace larder::aggregation {
namespace {

double Num(const Value& v) {
  switch (v.type().scalar) {
    case ScalarType::kInt32: return v.int32_value();
    case ScalarType::kInt64: return static_cast<double>(v.int64_value());
    case ScalarType::kFloat32: return v.float32_value();
    case ScalarType::kFloat64: return v.float64_value();
    default: return 0;
  }
}

Value Zeroed(const Value& v) {
  if (v.type().scalar == ScalarType::kFloat64) return Value::Float64(v.float64_value() + 0.0);
  if (v.type().scalar == ScalarType::kFloat32) return Value::Float32(v.float32_value() + 0.0f);
  return v;
}

bool Less(const Value& a, const Value& b) {
  switch (a.type().scalar) {
    case ScalarType::kString: return a.string_value() < b.string_value();
    case ScalarType::kUnixTimestamp: return a.timestamp_value() < b.timestamp_value();
    case ScalarType::kInt32:
    case ScalarType::kInt64:
      return (a.type().scalar == ScalarType::kInt32 ? a.int32_value() : a.int64_value()) <
             (b.type().scalar == ScalarType::kInt32 ? b.int32_value() : b.int64_value());
    default:
      if (std::isnan(Num(a))) return false;
      if (std::isnan(Num(b))) return true;
      return Num(a) < Num(b);
  }
}

Value ArrayOf(ScalarType scalar, const std::vector<Value>& items) {
  switch (scalar) {
    case ScalarType::kInt32: {
      std::vector<int32_t> v;
      for (const Value& x : items) v.push_back(x.int32_value());
      return Value::Int32Array(v);
    }
    case ScalarType::kInt64: {
      std::vector<int64_t> v;
      for (const Value& x : items) v.push_back(x.int64_value());
      return Value::Int64Array(v);
    }
    case ScalarType::kFloat32: {
      std::vector<float> v;
      for (const Value& x : items) v.push_back(x.float32_value());
      return Value::Float32Array(v);
    }
    case ScalarType::kFloat64: {
      std::vector<double> v;
      for (const Value& x : items) v.push_back(x.float64_value());
      return Value::Float64Array(v);
    }
    case ScalarType::kString:
    case ScalarType::kBytes: {
      std::vector<std::string> v;
      for (const Value& x : items) v.push_back(x.string_value());
      return scalar == ScalarType::kString ? Value::StringArray(v) : Value::BytesArray(v);
    }
    case ScalarType::kBool: {
      std::vector<bool> v;
      for (const Value& x : items) v.push_back(x.bool_value());
      return Value::BoolArray(v);
    }
    case ScalarType::kUnixTimestamp: {
      std::vector<int64_t> v;
      for (const Value& x : items) v.push_back(x.timestamp_value());
      return Value::UnixTimestampArray(v);
    }
  }
  return Value();
}

}  // namespace

std::vector<Value> ReferenceAggregates(const FeatureView& view, std::vector<Event> events,
                                       TimestampMicros t) {
  for (Event& e : events) e = MakeEvent(e.time, e.values);
  std::sort(events.begin(), events.end(), EventLess);
  events.erase(std::unique(events.begin(), events.end(), SameEvent), events.end());
  const std::vector<AggregatedColumn> columns = AggregatedColumns(view);
  const int64_t interval = view.aggregation_interval.micros;
  TimestampMicros end = t;
  if (interval > 0) {
    end = t / interval * interval;
    if (t % interval != 0 && t < 0) end -= interval;
  }
  std::vector<Value> out;
  for (const Aggregation& a : view.aggregations) {
    size_t c = 0;
    while (columns[c].name != a.column) ++c;
    std::vector<Value> in;  // non-null values in the window, in event order
    for (const Event& e : events) {
      if (e.time >= end || (!a.lifetime && e.time < end - a.window.micros)) continue;
      if (!e.values[c].is_null()) in.push_back(e.values[c]);
    }
    const int64_t n = static_cast<int64_t>(in.size());
    const ScalarType scalar = a.column_dtype.scalar;
    const bool is_float = scalar == ScalarType::kFloat32 || scalar == ScalarType::kFloat64;
    switch (a.function) {
      case AggregationFunction::kCount: out.push_back(Value::Int64(n)); continue;
      case AggregationFunction::kCountDistinct:
      case AggregationFunction::kApproxCountDistinct: {
        std::set<std::string> keys;
        Hll hll;
        for (const Value& v : in) {
          std::string k;
          online::EncodeValue(Zeroed(v), &k);
          keys.insert(k);
          hll.Add(DistinctHash(Zeroed(v)));
        }
        out.push_back(Value::Int64(a.function == AggregationFunction::kCountDistinct
                                       ? static_cast<int64_t>(keys.size())
                                       : hll.Estimate()));
        continue;
      }
      default: break;
    }
    if (n == 0) {
      out.push_back(Value());
      continue;
    }
    switch (a.function) {
      case AggregationFunction::kSum:
        if (is_float) {
          double s = 0;
          for (const Value& v : in) s += Num(v);
          out.push_back(Value::Float64(s));
        } else {
          int64_t s = 0;
          for (const Value& v : in) {
            s += scalar == ScalarType::kInt32 ? v.int32_value() : v.int64_value();
          }
          out.push_back(Value::Int64(s));
        }
        break;
      case AggregationFunction::kMean: {
        double s = 0;
        for (const Value& v : in) s += Num(v);
        out.push_back(Value::Float64(s / static_cast<double>(n)));
        break;
      }
      case AggregationFunction::kStddev:
      case AggregationFunction::kVariance: {
        if (n < 2) {
          out.push_back(Value());
          break;
        }
        double mean = 0;
        for (const Value& v : in) mean += Num(v);
        mean /= static_cast<double>(n);
        double ss = 0;
        for (const Value& v : in) ss += (Num(v) - mean) * (Num(v) - mean);
        const double var = ss / static_cast<double>(n - 1);
        out.push_back(
            Value::Float64(a.function == AggregationFunction::kVariance ? var : std::sqrt(var)));
        break;
      }
      case AggregationFunction::kMin:
      case AggregationFunction::kMax: {
        Value best = in.front();
        for (const Value& v : in) {
          if (a.function == AggregationFunction::kMin ? Less(v, best) : Less(best, v)) best = v;
        }
        out.push_back(best);
        break;
      }
      case AggregationFunction::kFirst: out.push_back(in.front()); break;
      case AggregationFunction::kLast: out.push_back(in.back()); break;
      case AggregationFunction::kFirstN:
      case AggregationFunction::kLastN: {
        const size_t k = std::min(in.size(), static_cast<size_t>(a.n));
        std::vector<Value> items = a.function == AggregationFunction::kFirstN
                                       ? std::vector<Value>(in.begin(), in.begin() + k)
                                       : std::vector<Value>(in.end() - k, in.end());
        out.push_back(ArrayOf(scalar, items));
        break;
      }
      default: out.push_back(Value()); break;
    }
  }
  return out;
}

bool AggregatesAgree(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null();
  if (a.type() == ValueType{ScalarType::kFloat64, false} && a.type() == b.type()) {
    const double x = a.float64_value(), y = b.float64_value();
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
    return std::fabs(x - y) <= 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)});
  }
  return a == b;
}

}  // namespace larder::aggregation
