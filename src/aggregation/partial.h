// Partial aggregates: what a tile keeps of its events for one slot
// (tile_layout.h), how two merge, and the final value of a window.
//
// Every merge is associative and commutative, so any grouping of the same
// events into tiles gives the same partial; floating-point sums may differ
// in their last bits with the order of additions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregation/hll.h"
#include "aggregation/tile_layout.h"
#include "larder/status.h"
#include "larder/value.h"
#include "online/value_codec.h"

namespace larder::aggregation {

// A value with its event's place in the order of events.
struct OrderedValue {
  TimestampMicros time = 0;
  uint64_t tie = 0;
  Value value;
};

struct Partial {
  int64_t count = 0;     // non-null values seen (every kind)
  __int128 int_sum = 0;  // kIntSum
  double sum = 0;        // kFloatSum: the sum; kMoments: the mean
  double m2 = 0;         // kMoments
  Value extreme;         // kMin, kMax
  // kFirst, kLast, kFirstN, kLastN: at most max(1, n) values, ascending.
  std::vector<OrderedValue> ordered;
  std::vector<std::string> distinct;  // kDistinct: sorted encoded values
  Hll hll;                            // kHll
};

// Adds one non-null value of the slot's column.
void AddValue(const Slot& slot, const Value& value, TimestampMicros time, uint64_t tie,
              Partial* p);
// Folds `from` into `*into`.
void MergePartial(const Slot& slot, const Partial& from, Partial* into);
// The window's value for `aggregation` from its slot's partial. InvalidArgument
// when an integer sum leaves Int64.
Result<Value> FinalValue(const Aggregation& aggregation, const Slot& slot, const Partial& p);

void EncodePartial(const Slot& slot, const Partial& p, std::string* out);
Status DecodePartial(const Slot& slot, online::ByteReader* reader, Partial* p);

}  // namespace larder::aggregation
