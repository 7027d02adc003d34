// How one aggregation view's events become tiles: the partial aggregates
// ("slots") each tile keeps, the tile sizes of its rollup levels, and how a
// window [a, b) is covered by whole tiles.
//
// Level 1 tiles are aggregation_interval long (one minute for a continuous
// view, whose window edges fall between tiles and are read from the events
// themselves). Each next level is 8 times longer, up to about an eighth of
// the largest window, so a window reads at most 7 tiles per level at each
// edge and a handful of top-level tiles: a 365-day window at a 10-minute
// interval reads about 70 tiles, not 52,560. Every tile starts at a multiple
// of its length since the Unix epoch.
#pragma once

#include <cstdint>
#include <vector>

#include "aggregation/event.h"
#include "larder/definitions.h"
#include "larder/status.h"

namespace larder::aggregation {

// What a tile keeps for one (column, function) pair; windows of the same
// pair share it.
enum class PartialKind {
  kCount,     // non-null values
  kIntSum,    // exact integer sum and count
  kFloatSum,  // double sum and count (sum over floats; mean)
  kMoments,   // count, mean and sum of squared deviations (stddev, variance)
  kMin,
  kMax,
  kFirst,     // the least (time, tie) value
  kLast,      // the greatest
  kFirstN,    // the n least
  kLastN,     // the n greatest
  kDistinct,  // the distinct values, exactly
  kHll,       // a HyperLogLog sketch
};

struct Slot {
  size_t column = 0;  // into TileLayout::columns()
  ValueType dtype;    // the column's
  PartialKind kind = PartialKind::kCount;
  int64_t n = 0;      // kFirstN, kLastN
};

// A part of a window: level `level` tiles starting in [begin, end), or, with
// level 0, the events with time in [begin, end).
struct TileRange {
  int level = 0;
  TimestampMicros begin = 0;
  TimestampMicros end = 0;
};

class TileLayout {
 public:
  // REQUIRES: view.aggregations non-empty, each with name and column_dtype
  // set (the repo loader fills them). InvalidArgument otherwise.
  static Result<TileLayout> ForView(const FeatureView& view);

  const std::vector<AggregatedColumn>& columns() const { return columns_; }
  const std::vector<Aggregation>& aggregations() const { return aggregations_; }
  const std::vector<Slot>& slots() const { return slots_; }
  // The slot each aggregation reads, one per aggregations() entry.
  const std::vector<size_t>& slot_of() const { return slot_of_; }
  // Tile lengths in microseconds, level 1 first; size() levels.
  const std::vector<int64_t>& level_sizes() const { return level_sizes_; }
  bool continuous() const { return interval_ == 0; }
  int64_t interval() const { return interval_; }
  // Events older than the newest window start by more than this can no
  // longer be read; 0 when a lifetime window keeps every event.
  int64_t retention() const { return retention_; }
  // Hash of the columns (names, dtypes): stored events stay usable while it
  // holds. Hash of the whole layout: stored tiles stay usable while it holds.
  uint64_t columns_fingerprint() const { return columns_fingerprint_; }
  uint64_t tiles_fingerprint() const { return tiles_fingerprint_; }

  // The instant a read at `t` is answered for: t rounded down to a multiple
  // of the interval (t itself when continuous).
  TimestampMicros WindowEnd(TimestampMicros t) const;
  // The window of aggregation `i` ending at `end` (from WindowEnd), as
  // [*begin, end). A lifetime window begins at `oldest` rounded down to a
  // top-level tile.
  TimestampMicros WindowBegin(size_t i, TimestampMicros end, TimestampMicros oldest) const;
  // Covers [begin, end) with whole tiles, coarsest in the middle (and, when
  // continuous, events at the edges). REQUIRES: begin <= end, and both
  // multiples of the interval unless continuous.
  std::vector<TileRange> Cover(TimestampMicros begin, TimestampMicros end) const;

 private:
  std::vector<AggregatedColumn> columns_;
  std::vector<Aggregation> aggregations_;
  std::vector<Slot> slots_;
  std::vector<size_t> slot_of_;
  std::vector<int64_t> level_sizes_;
  int64_t interval_ = 0;
  int64_t retention_ = 0;
  uint64_t columns_fingerprint_ = 0;
  uint64_t tiles_fingerprint_ = 0;
};

// floor(t / size) * size for any sign of t. REQUIRES: size > 0.
TimestampMicros AlignDown(TimestampMicros t, int64_t size);

}  // namespace larder::aggregation
