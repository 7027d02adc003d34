#include "aggregation/partial.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace larder::aggregation {
namespace {

double AsDouble(const Value& v) {
  switch (v.type().scalar) {
    case ScalarType::kInt32: return v.int32_value();
    case ScalarType::kInt64: return static_cast<double>(v.int64_value());
    case ScalarType::kFloat32: return v.float32_value();
    case ScalarType::kFloat64: return v.float64_value();
    default: return 0;
  }
}

int64_t AsInt(const Value& v) {
  return v.type().scalar == ScalarType::kInt32 ? v.int32_value() : v.int64_value();
}

// -0.0 and 0.0 are one distinct value, as in SQL.
std::string DistinctKey(const Value& v) {
  std::string key;
  if (v.type().scalar == ScalarType::kFloat64) {
    online::EncodeValue(Value::Float64(v.float64_value() + 0.0), &key);
  } else if (v.type().scalar == ScalarType::kFloat32) {
    online::EncodeValue(Value::Float32(v.float32_value() + 0.0f), &key);
  } else {
    online::EncodeValue(v, &key);
  }
  return key;
}

Value Canonical(const Value& v) {
  if (v.type().scalar == ScalarType::kFloat64) return Value::Float64(v.float64_value() + 0.0);
  if (v.type().scalar == ScalarType::kFloat32) return Value::Float32(v.float32_value() + 0.0f);
  return v;
}

// SQL's order of values for min and max: numbers by value (NaN greatest),
// strings bytewise, timestamps by time.
bool ValueLess(const Value& a, const Value& b) {
  switch (a.type().scalar) {
    case ScalarType::kInt32:
    case ScalarType::kInt64: return AsInt(a) < AsInt(b);
    case ScalarType::kUnixTimestamp: return a.timestamp_value() < b.timestamp_value();
    case ScalarType::kFloat32:
    case ScalarType::kFloat64: {
      const double x = AsDouble(a), y = AsDouble(b);
      if (std::isnan(x)) return false;
      if (std::isnan(y)) return true;
      return x < y;
    }
    case ScalarType::kString: return a.string_value() < b.string_value();
    default: return false;
  }
}

std::string Encoded(const Value& v) {
  std::string s;
  online::EncodeValue(v, &s);
  return s;
}

bool OrderedLess(const OrderedValue& a, const OrderedValue& b) {
  if (a.time != b.time) return a.time < b.time;
  if (a.tie != b.tie) return a.tie < b.tie;
  return Encoded(a.value) < Encoded(b.value);
}

// Keeps the n least (first) or greatest (last) of a sorted list.
void Trim(PartialKind kind, int64_t n, std::vector<OrderedValue>* items) {
  const size_t keep = static_cast<size_t>(std::max<int64_t>(n, 1));
  if (items->size() <= keep) return;
  if (kind == PartialKind::kFirst || kind == PartialKind::kFirstN) {
    items->resize(keep);
  } else {
    items->erase(items->begin(), items->end() - static_cast<std::ptrdiff_t>(keep));
  }
}

void PutDouble(double d, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  online::PutFixed64(bits, out);
}

bool ReadDouble(online::ByteReader* r, double* d) {
  uint64_t bits;
  if (!r->ReadFixed64(&bits)) return false;
  std::memcpy(d, &bits, 8);
  return true;
}

// An array of `scalar` from non-null scalar values of that dtype.
Value MakeArray(ScalarType scalar, const std::vector<OrderedValue>& items) {
  auto collect = [&](auto get) {
    std::vector<std::decay_t<decltype(get(items.front().value))>> out;
    out.reserve(items.size());
    for (const OrderedValue& o : items) out.push_back(get(o.value));
    return out;
  };
  switch (scalar) {
    case ScalarType::kInt32:
      return Value::Int32Array(collect([](const Value& v) { return v.int32_value(); }));
    case ScalarType::kInt64:
      return Value::Int64Array(collect([](const Value& v) { return v.int64_value(); }));
    case ScalarType::kFloat32:
      return Value::Float32Array(collect([](const Value& v) { return v.float32_value(); }));
    case ScalarType::kFloat64:
      return Value::Float64Array(collect([](const Value& v) { return v.float64_value(); }));
    case ScalarType::kString:
      return Value::StringArray(collect([](const Value& v) { return v.string_value(); }));
    case ScalarType::kBytes:
      return Value::BytesArray(collect([](const Value& v) { return v.string_value(); }));
    case ScalarType::kBool:
      return Value::BoolArray(collect([](const Value& v) { return v.bool_value(); }));
    case ScalarType::kUnixTimestamp:
      return Value::UnixTimestampArray(collect([](const Value& v) { return v.timestamp_value(); }));
  }
  return Value::Null();
}

Status Malformed(const char* what) {
  return Status::Corruption(std::string("aggregation tile: malformed ") + what);
}

}  // namespace

void AddValue(const Slot& slot, const Value& value, TimestampMicros time, uint64_t tie,
              Partial* p) {
  // The numeric kinds update in place, with exactly the arithmetic of
  // MergePartial(one value) below, so the bits come out the same.
  if (p->count > 0) {
    switch (slot.kind) {
      case PartialKind::kCount:
        ++p->count;
        return;
      case PartialKind::kIntSum:
        p->int_sum += AsInt(value);
        ++p->count;
        return;
      case PartialKind::kFloatSum:
        p->sum += AsDouble(value);
        ++p->count;
        return;
      case PartialKind::kMoments: {
        const int64_t n = p->count + 1;
        const double delta = AsDouble(value) - p->sum;
        const double na = static_cast<double>(p->count), nb = 1.0;
        p->m2 += 0.0 + delta * delta * na * nb / static_cast<double>(n);
        p->sum += delta * nb / static_cast<double>(n);
        p->count = n;
        return;
      }
      default:
        break;
    }
  }
  Partial one;
  one.count = 1;
  switch (slot.kind) {
    case PartialKind::kCount: break;
    case PartialKind::kIntSum: one.int_sum = AsInt(value); break;
    case PartialKind::kFloatSum: one.sum = AsDouble(value); break;
    case PartialKind::kMoments: one.sum = AsDouble(value); break;
    case PartialKind::kMin:
    case PartialKind::kMax: one.extreme = value; break;
    case PartialKind::kFirst:
    case PartialKind::kLast:
    case PartialKind::kFirstN:
    case PartialKind::kLastN: one.ordered.push_back({time, tie, value}); break;
    case PartialKind::kDistinct: one.distinct.push_back(DistinctKey(value)); break;
    case PartialKind::kHll: one.hll.Add(DistinctHash(Canonical(value))); break;
  }
  MergePartial(slot, one, p);
}

void MergePartial(const Slot& slot, const Partial& from, Partial* into) {
  if (from.count == 0) return;
  if (into->count == 0) {
    *into = from;
    return;
  }
  const int64_t n = into->count + from.count;
  switch (slot.kind) {
    case PartialKind::kCount: break;
    case PartialKind::kIntSum: into->int_sum += from.int_sum; break;
    case PartialKind::kFloatSum: into->sum += from.sum; break;
    case PartialKind::kMoments: {
      // Chan et al.'s pairwise update of the mean and squared deviations.
      const double delta = from.sum - into->sum;
      const double na = static_cast<double>(into->count), nb = static_cast<double>(from.count);
      into->m2 += from.m2 + delta * delta * na * nb / static_cast<double>(n);
      into->sum += delta * nb / static_cast<double>(n);
      break;
    }
    case PartialKind::kMin:
      if (ValueLess(from.extreme, into->extreme)) into->extreme = from.extreme;
      break;
    case PartialKind::kMax:
      if (ValueLess(into->extreme, from.extreme)) into->extreme = from.extreme;
      break;
    case PartialKind::kFirst:
    case PartialKind::kLast:
    case PartialKind::kFirstN:
    case PartialKind::kLastN: {
      std::vector<OrderedValue> merged;
      merged.reserve(into->ordered.size() + from.ordered.size());
      std::merge(into->ordered.begin(), into->ordered.end(), from.ordered.begin(),
                 from.ordered.end(), std::back_inserter(merged), OrderedLess);
      Trim(slot.kind, slot.n, &merged);
      into->ordered = std::move(merged);
      break;
    }
    case PartialKind::kDistinct: {
      std::vector<std::string> merged;
      merged.reserve(into->distinct.size() + from.distinct.size());
      std::set_union(into->distinct.begin(), into->distinct.end(), from.distinct.begin(),
                     from.distinct.end(), std::back_inserter(merged));
      into->distinct = std::move(merged);
      break;
    }
    case PartialKind::kHll: into->hll.Merge(from.hll); break;
  }
  into->count = n;
}

Result<Value> FinalValue(const Aggregation& a, const Slot& slot, const Partial& p) {
  const bool counts = a.function == AggregationFunction::kCount ||
                      a.function == AggregationFunction::kCountDistinct ||
                      a.function == AggregationFunction::kApproxCountDistinct;
  if (p.count == 0) return counts ? Value::Int64(0) : Value::Null();
  switch (a.function) {
    case AggregationFunction::kCount: return Value::Int64(p.count);
    case AggregationFunction::kSum:
      if (slot.kind == PartialKind::kFloatSum) return Value::Float64(p.sum);
      if (p.int_sum > std::numeric_limits<int64_t>::max() ||
          p.int_sum < std::numeric_limits<int64_t>::min()) {
        return Status::InvalidArgument("aggregation '" + a.name + "': the sum leaves Int64");
      }
      return Value::Int64(static_cast<int64_t>(p.int_sum));
    case AggregationFunction::kMean: return Value::Float64(p.sum / static_cast<double>(p.count));
    case AggregationFunction::kVariance:
    case AggregationFunction::kStddev: {
      if (p.count < 2) return Value::Null();
      const double var = std::max(0.0, p.m2) / static_cast<double>(p.count - 1);
      return Value::Float64(a.function == AggregationFunction::kVariance ? var : std::sqrt(var));
    }
    case AggregationFunction::kMin:
    case AggregationFunction::kMax: return p.extreme;
    case AggregationFunction::kFirst: return p.ordered.front().value;
    case AggregationFunction::kLast: return p.ordered.back().value;
    case AggregationFunction::kFirstN:
    case AggregationFunction::kLastN: {
      return MakeArray(slot.dtype.scalar, p.ordered);
    }
    case AggregationFunction::kCountDistinct:
      return Value::Int64(static_cast<int64_t>(p.distinct.size()));
    case AggregationFunction::kApproxCountDistinct: return Value::Int64(p.hll.Estimate());
  }
  return Value::Null();
}

void EncodePartial(const Slot& slot, const Partial& p, std::string* out) {
  online::PutVarint(static_cast<uint64_t>(p.count), out);
  if (p.count == 0) return;
  switch (slot.kind) {
    case PartialKind::kCount: break;
    case PartialKind::kIntSum: {
      const unsigned __int128 u = static_cast<unsigned __int128>(p.int_sum);
      online::PutFixed64(static_cast<uint64_t>(u), out);
      online::PutFixed64(static_cast<uint64_t>(u >> 64), out);
      break;
    }
    case PartialKind::kFloatSum: PutDouble(p.sum, out); break;
    case PartialKind::kMoments:
      PutDouble(p.sum, out);
      PutDouble(p.m2, out);
      break;
    case PartialKind::kMin:
    case PartialKind::kMax: online::EncodeValue(p.extreme, out); break;
    case PartialKind::kFirst:
    case PartialKind::kLast:
    case PartialKind::kFirstN:
    case PartialKind::kLastN:
      online::PutVarint(p.ordered.size(), out);
      for (const OrderedValue& o : p.ordered) {
        online::PutFixed64(static_cast<uint64_t>(o.time), out);
        online::PutFixed64(o.tie, out);
        online::EncodeValue(o.value, out);
      }
      break;
    case PartialKind::kDistinct:
      online::PutVarint(p.distinct.size(), out);
      for (const std::string& d : p.distinct) online::PutLengthPrefixed(d, out);
      break;
    case PartialKind::kHll: p.hll.EncodeTo(out); break;
  }
}

Status DecodePartial(const Slot& slot, online::ByteReader* r, Partial* p) {
  *p = Partial();
  uint64_t count;
  if (!r->ReadVarint(&count)) return Malformed("count");
  p->count = static_cast<int64_t>(count);
  if (count == 0) return Status::OK();
  switch (slot.kind) {
    case PartialKind::kCount: break;
    case PartialKind::kIntSum: {
      uint64_t lo, hi;
      if (!r->ReadFixed64(&lo) || !r->ReadFixed64(&hi)) return Malformed("sum");
      p->int_sum = static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
      break;
    }
    case PartialKind::kFloatSum:
      if (!ReadDouble(r, &p->sum)) return Malformed("sum");
      break;
    case PartialKind::kMoments:
      if (!ReadDouble(r, &p->sum) || !ReadDouble(r, &p->m2)) return Malformed("moments");
      break;
    case PartialKind::kMin:
    case PartialKind::kMax: return online::DecodeValue(r, &p->extreme);
    case PartialKind::kFirst:
    case PartialKind::kLast:
    case PartialKind::kFirstN:
    case PartialKind::kLastN: {
      uint64_t k;
      if (!r->ReadVarint(&k) || k > r->remaining()) return Malformed("value list");
      p->ordered.resize(k);
      for (OrderedValue& o : p->ordered) {
        uint64_t time;
        if (!r->ReadFixed64(&time) || !r->ReadFixed64(&o.tie)) return Malformed("value list");
        o.time = static_cast<TimestampMicros>(time);
        LARDER_RETURN_IF_ERROR(online::DecodeValue(r, &o.value));
      }
      break;
    }
    case PartialKind::kDistinct: {
      uint64_t k;
      if (!r->ReadVarint(&k) || k > r->remaining()) return Malformed("distinct values");
      p->distinct.resize(k);
      for (std::string& d : p->distinct) {
        std::string_view v;
        if (!r->ReadLengthPrefixed(&v)) return Malformed("distinct values");
        d.assign(v);
      }
      break;
    }
    case PartialKind::kHll: return p->hll.DecodeFrom(r);
  }
  return Status::OK();
}

}  // namespace larder::aggregation
