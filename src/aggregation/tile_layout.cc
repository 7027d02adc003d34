#include "aggregation/tile_layout.h"

#include <algorithm>
#include <limits>
#include <string>

namespace larder::aggregation {
namespace {

constexpr int64_t kContinuousTile = Duration::kMinute;
constexpr int64_t kLevelFactor = 8;
constexpr size_t kMaxLevels = 8;
// How far a lifetime window's levels reach: three years of top-level tiles.
constexpr int64_t kLifetimeSpan = 3 * 365 * Duration::kDay;

PartialKind KindOf(AggregationFunction f, ValueType dtype) {
  switch (f) {
    case AggregationFunction::kCount: return PartialKind::kCount;
    case AggregationFunction::kSum:
      return (dtype.scalar == ScalarType::kFloat32 || dtype.scalar == ScalarType::kFloat64)
                 ? PartialKind::kFloatSum
                 : PartialKind::kIntSum;
    case AggregationFunction::kMean: return PartialKind::kFloatSum;
    case AggregationFunction::kStddev:
    case AggregationFunction::kVariance: return PartialKind::kMoments;
    case AggregationFunction::kMin: return PartialKind::kMin;
    case AggregationFunction::kMax: return PartialKind::kMax;
    case AggregationFunction::kFirst: return PartialKind::kFirst;
    case AggregationFunction::kLast: return PartialKind::kLast;
    case AggregationFunction::kFirstN: return PartialKind::kFirstN;
    case AggregationFunction::kLastN: return PartialKind::kLastN;
    case AggregationFunction::kCountDistinct: return PartialKind::kDistinct;
    case AggregationFunction::kApproxCountDistinct: return PartialKind::kHll;
  }
  return PartialKind::kCount;
}

struct Fnv {
  uint64_t h = 0xcbf29ce484222325ULL;
  void Bytes(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  }
  void Int(int64_t v) { Bytes(std::to_string(v)); }
};

}  // namespace

TimestampMicros AlignDown(TimestampMicros t, int64_t size) {
  TimestampMicros q = t / size;
  if (t % size != 0 && t < 0) --q;
  return q * size;
}

Result<TileLayout> TileLayout::ForView(const FeatureView& view) {
  if (view.aggregations.empty()) {
    return Status::InvalidArgument("feature view '" + view.name + "' has no aggregations");
  }
  TileLayout l;
  l.columns_ = AggregatedColumns(view);
  l.aggregations_ = view.aggregations;
  l.interval_ = view.aggregation_interval.micros;
  if (l.interval_ < 0) {
    return Status::InvalidArgument("feature view '" + view.name +
                                   "': aggregation_interval is negative");
  }
  int64_t widest = 0;
  bool lifetime = false;
  for (const Aggregation& a : view.aggregations) {
    if (a.name.empty()) {
      return Status::InvalidArgument("feature view '" + view.name + "': an aggregation of '" +
                                     a.column + "' has no name");
    }
    if (a.lifetime) {
      lifetime = true;
    } else {
      if (a.window.micros <= 0 || (l.interval_ > 0 && a.window.micros % l.interval_ != 0)) {
        return Status::InvalidArgument("feature view '" + view.name + "': aggregation '" +
                                       a.name + "': its window must be positive and a "
                                       "multiple of aggregation_interval");
      }
      widest = std::max(widest, a.window.micros);
    }
    size_t column = 0;
    while (l.columns_[column].name != a.column) ++column;
    const Slot slot{column, a.column_dtype, KindOf(a.function, a.column_dtype), a.n};
    size_t s = 0;
    while (s < l.slots_.size() &&
           !(l.slots_[s].column == slot.column && l.slots_[s].kind == slot.kind &&
             l.slots_[s].n == slot.n)) {
      ++s;
    }
    if (s == l.slots_.size()) l.slots_.push_back(slot);
    l.slot_of_.push_back(s);
  }
  const int64_t base = l.interval_ > 0 ? l.interval_ : kContinuousTile;
  const int64_t span = std::max(widest, lifetime ? kLifetimeSpan : int64_t{0});
  l.level_sizes_.push_back(base);
  while (l.level_sizes_.size() < kMaxLevels &&
         l.level_sizes_.back() <= span / (kLevelFactor * kLevelFactor)) {
    l.level_sizes_.push_back(l.level_sizes_.back() * kLevelFactor);
  }
  l.retention_ = lifetime ? 0 : widest + base;

  Fnv columns;
  for (const AggregatedColumn& c : l.columns_) {
    columns.Bytes(c.name);
    columns.Bytes(ValueTypeName(c.dtype));
  }
  l.columns_fingerprint_ = columns.h;
  Fnv tiles = columns;
  for (int64_t size : l.level_sizes_) tiles.Int(size);
  for (const Slot& s : l.slots_) {
    tiles.Int(static_cast<int64_t>(s.column));
    tiles.Int(static_cast<int64_t>(s.kind));
    tiles.Int(s.n);
  }
  l.tiles_fingerprint_ = tiles.h;
  return l;
}

TimestampMicros TileLayout::WindowEnd(TimestampMicros t) const {
  return interval_ > 0 ? AlignDown(t, interval_) : t;
}

TimestampMicros TileLayout::WindowBegin(size_t i, TimestampMicros end,
                                        TimestampMicros oldest) const {
  const Aggregation& a = aggregations_[i];
  if (a.lifetime) return std::min(end, AlignDown(oldest, level_sizes_.back()));
  return end - a.window.micros;
}

std::vector<TileRange> TileLayout::Cover(TimestampMicros begin, TimestampMicros end) const {
  std::vector<TileRange> ranges;
  auto align_up = [](TimestampMicros t, int64_t size) {
    const TimestampMicros down = AlignDown(t, size);
    return down == t ? t : down + size;
  };
  TimestampMicros lo = begin;
  TimestampMicros hi = end;
  if (interval_ == 0) {
    const int64_t s1 = level_sizes_.front();
    const TimestampMicros lo1 = std::min(align_up(lo, s1), hi);
    if (lo < lo1) ranges.push_back({0, lo, lo1});
    lo = lo1;
    const TimestampMicros hi1 = std::max(AlignDown(hi, s1), lo);
    if (hi1 < hi) ranges.push_back({0, hi1, hi});
    hi = hi1;
  }
  for (size_t k = 0; k + 1 < level_sizes_.size(); ++k) {
    const int64_t next = level_sizes_[k + 1];
    const TimestampMicros lo_k = std::min(align_up(lo, next), hi);
    if (lo < lo_k) ranges.push_back({static_cast<int>(k + 1), lo, lo_k});
    lo = lo_k;
    const TimestampMicros hi_k = std::max(AlignDown(hi, next), lo);
    if (hi_k < hi) ranges.push_back({static_cast<int>(k + 1), hi_k, hi});
    hi = hi_k;
  }
  if (lo < hi) ranges.push_back({static_cast<int>(level_sizes_.size()), lo, hi});
  return ranges;
}

}  // namespace larder::aggregation
