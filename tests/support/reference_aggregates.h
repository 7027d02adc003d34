// A brute-force evaluation of window aggregations straight from the
// definition (docs/aggregations.md), for tests of every path: no tiles, no
// partials, each window recomputed from the full event list.
#pragma once

#include <vector>

#include "aggregation/event.h"
#include "larder/definitions.h"
#include "larder/value.h"

namespace larder::aggregation {

// The value of each of view.aggregations at instant t over `events` (one
// entity's; duplicates allowed: identical events count once).
std::vector<Value> ReferenceAggregates(const FeatureView& view, std::vector<Event> events,
                                       TimestampMicros t);

// Whether two aggregate values agree: exactly, except Float64 values, which
// may differ by a relative 1e-9 (sums in another order).
bool AggregatesAgree(const Value& a, const Value& b);

}  // namespace larder::aggregation
