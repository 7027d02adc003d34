// The events of an aggregation view, as both paths see them.
//
// An event is one source row of the view's entity: its event time and the
// values of the columns the view aggregates (AggregatedColumns, in order).
// Events are ordered by (time, tie key), where the tie key is the
// online::RecordTieKey of a value section holding exactly those values, so
// DuckDB computes the same key as larder_tie_key over the same typed columns
// (offline/duckdb/tie_key_function.h). That order decides first, last,
// first_n and last_n.
//
// Two rows of one entity with the same time and the same aggregated values
// are the same event: a row pushed twice, or pushed and then materialized,
// counts once. The batch path applies the same rule (SELECT DISTINCT over the
// join keys, the time and the aggregated columns).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "larder/definitions.h"
#include "larder/types.h"
#include "larder/value.h"

namespace larder::aggregation {

// A column that a view aggregates, with its dtype in the source.
struct AggregatedColumn {
  std::string name;
  ValueType dtype;
};

// The distinct columns of view.aggregations, in order of first use.
std::vector<AggregatedColumn> AggregatedColumns(const FeatureView& view);

struct Event {
  TimestampMicros time = 0;
  uint64_t tie = 0;           // EventTieKey(values)
  std::vector<Value> values;  // one per AggregatedColumns entry; null or of its dtype
};

// The tie key of an event with these values (see the file comment).
uint64_t EventTieKey(std::span<const Value> values);

// An event with its tie key. A float -0.0 becomes 0.0 first: the two are one
// number, and SQL's DISTINCT (the batch path's) takes them as one.
Event MakeEvent(TimestampMicros time, std::vector<Value> values);

// The total order of events: time, then tie key, then the values' encoded
// bytes (so that a 2^-64 collision of tie keys still orders deterministically).
bool EventLess(const Event& a, const Event& b);
// Same time, tie and values.
bool SameEvent(const Event& a, const Event& b);

// The hash that count_distinct and approx_count_distinct use for a non-null
// value: a 64-bit mix (murmur3's fmix64) of the FNV-1a 64 of its encoded
// bytes (online/value_codec.h). DuckDB computes the same through
// larder_tie_key of the one value, mixed the same way.
uint64_t DistinctHash(const Value& value);
// The mixing step alone, for the SQL side: DistinctHash(v) ==
// MixHash(RecordTieKey(value section of v alone)).
uint64_t MixHash(uint64_t h);

}  // namespace larder::aggregation
