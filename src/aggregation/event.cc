#include "aggregation/event.h"

#include <algorithm>
#include <string>

#include "online/record_codec.h"
#include "online/value_codec.h"

namespace larder::aggregation {
namespace {

std::string ValueSection(std::span<const Value> values) {
  std::string section;
  online::PutVarint(values.size(), &section);
  for (const Value& v : values) online::EncodeValue(v, &section);
  return section;
}

}  // namespace

std::vector<AggregatedColumn> AggregatedColumns(const FeatureView& view) {
  std::vector<AggregatedColumn> columns;
  for (const Aggregation& a : view.aggregations) {
    const bool seen = std::any_of(columns.begin(), columns.end(),
                                  [&](const AggregatedColumn& c) { return c.name == a.column; });
    if (!seen) columns.push_back({a.column, a.column_dtype});
  }
  return columns;
}

uint64_t EventTieKey(std::span<const Value> values) {
  return online::RecordTieKey(ValueSection(values));
}

Event MakeEvent(TimestampMicros time, std::vector<Value> values) {
  for (Value& v : values) {
    if (v.is_null() || v.type().is_array) continue;
    if (v.type().scalar == ScalarType::kFloat64) v = Value::Float64(v.float64_value() + 0.0);
    if (v.type().scalar == ScalarType::kFloat32) v = Value::Float32(v.float32_value() + 0.0f);
  }
  Event e;
  e.time = time;
  e.tie = EventTieKey(values);
  e.values = std::move(values);
  return e;
}

bool EventLess(const Event& a, const Event& b) {
  if (a.time != b.time) return a.time < b.time;
  if (a.tie != b.tie) return a.tie < b.tie;
  return ValueSection(a.values) < ValueSection(b.values);
}

bool SameEvent(const Event& a, const Event& b) {
  return a.time == b.time && a.tie == b.tie && ValueSection(a.values) == ValueSection(b.values);
}

uint64_t MixHash(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t DistinctHash(const Value& value) {
  return MixHash(online::RecordTieKey(ValueSection(std::span<const Value>(&value, 1))));
}

}  // namespace larder::aggregation
