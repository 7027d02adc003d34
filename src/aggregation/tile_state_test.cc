#include "aggregation/tile_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "aggregation/hll.h"
#include "support/reference_aggregates.h"

namespace larder::aggregation {
namespace {

constexpr int64_t kSec = Duration::kSecond;
constexpr int64_t kMin = Duration::kMinute;
constexpr int64_t kHour = Duration::kHour;
constexpr int64_t kDay = Duration::kDay;

Aggregation Agg(std::string column, ValueType dtype, AggregationFunction f, int64_t window,
                int64_t n = 0) {
  Aggregation a;
  a.column = std::move(column);
  a.column_dtype = dtype;
  a.function = f;
  a.n = n;
  a.lifetime = window == 0;
  a.window.micros = window;
  a.name = AggregationDefaultName(a);
  return a;
}

// A view over three columns: x Int64, y Float64, s String, with every
// function over suitable columns and windows of 10 minutes, 1 hour, 1 day
// and lifetime.
FeatureView EveryFunctionView(int64_t interval) {
  const ValueType i64{ScalarType::kInt64, false};
  const ValueType f64{ScalarType::kFloat64, false};
  const ValueType str{ScalarType::kString, false};
  FeatureView v;
  v.name = "v";
  v.aggregation_interval.micros = interval;
  using F = AggregationFunction;
  for (int64_t w : {10 * kMin, kHour, kDay, int64_t{0}}) {
    v.aggregations.push_back(Agg("x", i64, F::kCount, w));
    v.aggregations.push_back(Agg("x", i64, F::kSum, w));
    v.aggregations.push_back(Agg("y", f64, F::kSum, w));
    v.aggregations.push_back(Agg("y", f64, F::kMean, w));
    v.aggregations.push_back(Agg("x", i64, F::kMean, w));
    v.aggregations.push_back(Agg("y", f64, F::kStddev, w));
    v.aggregations.push_back(Agg("x", i64, F::kVariance, w));
    v.aggregations.push_back(Agg("x", i64, F::kMin, w));
    v.aggregations.push_back(Agg("s", str, F::kMax, w));
    v.aggregations.push_back(Agg("y", f64, F::kMin, w));
    v.aggregations.push_back(Agg("s", str, F::kFirst, w));
    v.aggregations.push_back(Agg("y", f64, F::kLast, w));
    v.aggregations.push_back(Agg("x", i64, F::kFirstN, w, 3));
    v.aggregations.push_back(Agg("s", str, F::kLastN, w, 2));
    v.aggregations.push_back(Agg("s", str, F::kCountDistinct, w));
    v.aggregations.push_back(Agg("y", f64, F::kCountDistinct, w));
    v.aggregations.push_back(Agg("x", i64, F::kApproxCountDistinct, w));
  }
  return v;
}

// EveryFunctionView without its lifetime windows, so that old events are
// pruned.
FeatureView BoundedEveryFunctionView(int64_t interval) {
  FeatureView view = EveryFunctionView(interval);
  std::erase_if(view.aggregations, [](const Aggregation& a) { return a.lifetime; });
  return view;
}

// Random events around `base`: out of order, repeated times, sub-second
// times, times at and next to the `edges` (window bounds), nulls, exact
// duplicates, -0.0 beside 0.0.
std::vector<Event> RandomEvents(std::mt19937_64& rng, TimestampMicros base, size_t count,
                                const std::vector<TimestampMicros>& edges = {}) {
  std::uniform_int_distribution<int64_t> offset(0, 2 * kDay);
  std::uniform_int_distribution<int> small(0, 9);
  std::vector<Event> events;
  for (size_t i = 0; i < count; ++i) {
    Event e;
    switch (small(rng) % 4) {
      case 0: e.time = base + offset(rng); break;                      // any microsecond
      case 1: e.time = base + offset(rng) / (10 * kMin) * (10 * kMin); break;  // on a tile edge
      case 2:
        if (!edges.empty() && small(rng) < 6) {
          e.time = edges[rng() % edges.size()] + small(rng) % 3 - 1;  // at, just before, after
        } else {
          e.time = events.empty() ? base : events[rng() % events.size()].time;
        }
        break;
      default: e.time = base + offset(rng) / kSec * kSec; break;
    }
    e.values.push_back(small(rng) == 0 ? Value() : Value::Int64(small(rng) - 3));
    const int y = small(rng);
    e.values.push_back(y == 0 ? Value() : Value::Float64(y == 1 ? -0.0 : 0.25 * (y - 5)));
    e.values.push_back(small(rng) < 2 ? Value() : Value::String(std::string(1, 'a' + small(rng))));
    e.tie = EventTieKey(e.values);
    events.push_back(e);
    if (small(rng) == 0) events.push_back(e);  // the same event again
  }
  std::shuffle(events.begin(), events.end(), rng);
  return events;
}

void ExpectAgree(const FeatureView& view, const std::vector<Value>& want,
                 const std::vector<Value>& got, const std::string& context) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(AggregatesAgree(want[i], got[i]))
        << context << " " << view.aggregations[i].name << ": want " << want[i].DebugString()
        << " got " << got[i].DebugString();
  }
}

// Builds the state by merging `events` in random batches at `now`.
std::string StateOf(const TileLayout& layout, std::vector<Event> events, TimestampMicros now,
                    std::mt19937_64& rng) {
  std::string state;
  while (!events.empty()) {
    const size_t take = 1 + rng() % events.size();
    std::vector<Event> batch(events.end() - static_cast<std::ptrdiff_t>(take), events.end());
    events.resize(events.size() - take);
    std::string next;
    bool changed = false;
    EXPECT_TRUE(MergeEvents(layout, &state, batch, now, &next, &changed).ok());
    state = std::move(next);
  }
  return state;
}

class TileStateProperty : public ::testing::TestWithParam<int64_t> {};

TEST_P(TileStateProperty, TilesEqualTheReferenceAtRandomInstants) {
  const FeatureView view = EveryFunctionView(GetParam());
  auto layout = TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  std::mt19937_64 rng(42 + static_cast<uint64_t>(GetParam()));
  const TimestampMicros base = 1'600'000'000LL * kSec + 123;
  for (int round = 0; round < 40; ++round) {
    const TimestampMicros t = base + static_cast<int64_t>(rng() % (3 * kDay));
    const TimestampMicros end = layout->WindowEnd(t);
    const std::vector<Event> events =
        RandomEvents(rng, base, 1 + rng() % 60, {end, end - 10 * kMin, end - kHour, end - kDay});
    const std::string state = StateOf(*layout, events, t, rng);
    std::vector<Value> got;
    Status s = Evaluate(*layout, state, t, &got);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectAgree(view, ReferenceAggregates(view, events, t), got,
                "round " + std::to_string(round) + " t=" + std::to_string(t));
    // Another order of the same events gives the same bytes.
    std::vector<Event> shuffled = events;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(state, StateOf(*layout, shuffled, t, rng));
  }
}

INSTANTIATE_TEST_SUITE_P(Intervals, TileStateProperty,
                         ::testing::Values(int64_t{0}, 10 * kMin, 5 * kMin),
                         [](const auto& info) {
                           return info.param == 0 ? std::string("Continuous")
                                                  : "Every" + std::to_string(info.param / kMin) +
                                                        "m";
                         });

TEST(TileState, AnEventNeverFeedsItsOwnInstant) {
  FeatureView view;
  view.name = "v";
  view.aggregations.push_back(
      Agg("x", {ScalarType::kInt64, false}, AggregationFunction::kCount, kDay));
  auto layout = TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok());
  Event e;
  e.time = 1'600'000'000LL * kSec;
  e.values = {Value::Int64(1)};
  e.tie = EventTieKey(e.values);
  std::string state;
  bool changed;
  ASSERT_TRUE(MergeEvents(*layout, nullptr, {e}, e.time, &state, &changed).ok());
  std::vector<Value> v;
  ASSERT_TRUE(Evaluate(*layout, state, e.time, &v).ok());
  EXPECT_EQ(v[0], Value::Int64(0));
  ASSERT_TRUE(Evaluate(*layout, state, e.time + 1, &v).ok());
  EXPECT_EQ(v[0], Value::Int64(1));
  ASSERT_TRUE(Evaluate(*layout, state, e.time + kDay, &v).ok());
  EXPECT_EQ(v[0], Value::Int64(1));
  ASSERT_TRUE(Evaluate(*layout, state, e.time + kDay + 1, &v).ok());
  EXPECT_EQ(v[0], Value::Int64(0));
}

TEST(TileState, ExpiredEventsAreDroppedAndAnEmptyStateIsCleared) {
  FeatureView view;
  view.name = "v";
  view.aggregation_interval.micros = 10 * kMin;
  view.aggregations.push_back(
      Agg("x", {ScalarType::kInt64, false}, AggregationFunction::kCount, kHour));
  auto layout = TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok());
  Event e;
  e.time = 1'600'000'000LL * kSec;
  e.values = {Value::Int64(1)};
  e.tie = EventTieKey(e.values);
  std::string state, later;
  bool changed;
  ASSERT_TRUE(MergeEvents(*layout, nullptr, {e}, e.time, &state, &changed).ok());
  EXPECT_TRUE(changed);
  ASSERT_TRUE(MergeEvents(*layout, &state, {e}, e.time, &later, &changed).ok());
  EXPECT_FALSE(changed);  // the same event again changes nothing
  ASSERT_TRUE(MergeEvents(*layout, &state, {}, e.time + 2 * kHour, &later, &changed).ok());
  EXPECT_TRUE(changed);
  EXPECT_TRUE(later.empty());
}

// MergeEvents keeps the stored bytes of tiles that no incoming or pruned
// event touches. Events arriving in time-ordered batches while "now" moves
// on (so that pruning cuts through tiles of every level) must still give
// the bytes of one merge of the kept events into an empty state.
TEST(TileState, MergingBatchesAsTimePassesGivesTheBytesOfOneMerge) {
  std::mt19937_64 rng(11);
  for (int64_t interval : {10 * kMin, int64_t{0}}) {
    const FeatureView view = BoundedEveryFunctionView(interval);
    auto layout = TileLayout::ForView(view);
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    const TimestampMicros base = 1'600'000'000LL * kSec;
    std::vector<Event> all;
    for (int day = 0; day < 6; ++day) {
      std::vector<Event> more = RandomEvents(rng, base + day * kDay, 150);
      all.insert(all.end(), more.begin(), more.end());
    }
    std::sort(all.begin(), all.end(),
              [](const Event& a, const Event& b) { return a.time < b.time; });
    std::string state;
    TimestampMicros now = base;
    for (size_t i = 0; i < all.size();) {
      const size_t take = std::min(all.size() - i, size_t{1} + rng() % 40);
      std::vector<Event> batch(all.begin() + static_cast<std::ptrdiff_t>(i),
                               all.begin() + static_cast<std::ptrdiff_t>(i + take));
      i += take;
      now = std::max(now, batch.back().time + 1);
      std::string next;
      bool changed = false;
      ASSERT_TRUE(MergeEvents(*layout, &state, batch, now, &next, &changed).ok());
      state = std::move(next);
      std::string fresh;
      ASSERT_TRUE(MergeEvents(*layout, nullptr,
                              std::vector<Event>(all.begin(),
                                                 all.begin() + static_cast<std::ptrdiff_t>(i)),
                              now, &fresh, &changed)
                      .ok());
      ASSERT_EQ(state, fresh) << "interval " << interval << ", after " << i << " events";
    }
  }
}

// A state of up to 32 events keeps no tiles and is read from its events;
// one more event makes every tile. Both kinds read the reference values, and
// crossing the bound in either direction (an added event, a pruned one)
// gives the bytes of one merge of the same events.
TEST(TileState, SmallStatesKeepNoTilesAndCrossTheBoundExactly) {
  for (int64_t interval : {10 * kMin, int64_t{0}}) {
    const FeatureView view = BoundedEveryFunctionView(interval);
    auto layout = TileLayout::ForView(view);
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    const TimestampMicros base = 1'600'000'000LL * kSec;
    // 33 distinct events within a day, in time order.
    std::vector<Event> events;
    for (int i = 0; i < 33; ++i) {
      events.push_back(MakeEvent(base + i * 7 * kMin + 13 * kSec,
                                 {Value::Int64(i % 5), Value::Float64(0.5 * i),
                                  Value::String(std::string(1, static_cast<char>('a' + i % 4)))}));
    }
    const TimestampMicros now = base + kDay;
    auto merge = [&](const std::string* stored, std::vector<Event> incoming, TimestampMicros at) {
      std::string out;
      bool changed = false;
      EXPECT_TRUE(MergeEvents(*layout, stored, std::move(incoming), at, &out, &changed).ok());
      return out;
    };
    const std::string small = merge(nullptr, {events.begin(), events.end() - 1}, now);
    const std::string tiled = merge(&small, {events.back()}, now);
    EXPECT_EQ(tiled, merge(nullptr, events, now)) << "interval " << interval;
    auto tiles = [&](const std::string& state) {
      Result<size_t> n = CountTiles(*layout, state);
      EXPECT_TRUE(n.ok());
      return n.ok() ? *n : size_t{0};
    };
    EXPECT_EQ(tiles(small), 0u) << "interval " << interval;
    EXPECT_GE(tiles(tiled), layout->level_sizes().size()) << "interval " << interval;
    for (TimestampMicros t : {now, base + 2 * kHour + 5 * kMin, base + 90 * kMin}) {
      std::vector<Value> got;
      ASSERT_TRUE(Evaluate(*layout, small, t, &got).ok());
      ExpectAgree(view, ReferenceAggregates(view, {events.begin(), events.end() - 1}, t), got,
                  "32 events, t=" + std::to_string(t));
      ASSERT_TRUE(Evaluate(*layout, tiled, t, &got).ok());
      ExpectAgree(view, ReferenceAggregates(view, events, t), got,
                  "33 events, t=" + std::to_string(t));
    }
    // Pruning the oldest event takes the state back under the bound: the
    // bytes of a fresh merge of the 32 kept events.
    const TimestampMicros later = layout->WindowEnd(events.front().time) + layout->retention() +
                                  std::max<int64_t>(layout->interval(), kMin);
    std::string pruned = merge(&tiled, {}, later);
    std::vector<Event> kept;
    const TimestampMicros horizon = layout->WindowEnd(later) - layout->retention();
    for (const Event& e : events) {
      if (e.time >= horizon) kept.push_back(e);
    }
    ASSERT_FALSE(kept.empty());
    ASSERT_LT(kept.size(), events.size());
    EXPECT_EQ(pruned, merge(nullptr, kept, later)) << "interval " << interval;
  }
}

TEST(TileState, ALongWindowReadsAboutAHundredTiles) {
  FeatureView view;
  view.name = "v";
  view.aggregation_interval.micros = 10 * kMin;
  view.aggregations.push_back(
      Agg("x", {ScalarType::kInt64, false}, AggregationFunction::kCount, 365 * kDay));
  auto layout = TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok());
  size_t most = 0;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const TimestampMicros end = layout->WindowEnd(static_cast<int64_t>(rng() % (1LL << 52)));
    size_t tiles = 0;
    for (const TileRange& r : layout->Cover(end - 365 * kDay, end)) {
      tiles += static_cast<size_t>((r.end - r.begin) / layout->level_sizes()[r.level - 1]);
    }
    most = std::max(most, tiles);
  }
  EXPECT_LE(most, 120u);  // of 52,560 ten-minute tiles
}

TEST(TileState, ACorruptStateIsAnErrorNotACrash) {
  const FeatureView view = EveryFunctionView(10 * kMin);
  auto layout = TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok());
  std::mt19937_64 rng(3);
  const TimestampMicros t = 1'600'000'000LL * kSec + 3 * kDay;
  std::string state = StateOf(*layout, RandomEvents(rng, t - 2 * kDay, 30), t, rng);
  for (size_t cut = 0; cut < state.size(); cut += 7) {
    std::vector<Value> v;
    std::string broken = state.substr(0, cut);
    if (broken.empty()) continue;
    EXPECT_FALSE(Evaluate(*layout, broken, t, &v).ok()) << cut;
  }
}


}  // namespace
}  // namespace larder::aggregation

namespace larder::aggregation {
namespace {

TEST(TileState, AStateFromBeforeTheAggregationsChangedIsReadThroughItsEvents) {
  FeatureView before;
  before.name = "v";
  before.aggregation_interval.micros = 10 * kMin;
  before.aggregations.push_back(
      Agg("x", {ScalarType::kInt64, false}, AggregationFunction::kCount, kDay));
  FeatureView after = before;
  after.aggregations.push_back(
      Agg("x", {ScalarType::kInt64, false}, AggregationFunction::kSum, 7 * kDay));
  auto old_layout = TileLayout::ForView(before);
  auto new_layout = TileLayout::ForView(after);
  ASSERT_TRUE(old_layout.ok() && new_layout.ok());
  ASSERT_NE(old_layout->tiles_fingerprint(), new_layout->tiles_fingerprint());
  const TimestampMicros t = 1'600'000'000LL * kSec;
  std::vector<Event> events;
  for (int i = 1; i <= 3; ++i) events.push_back(MakeEvent(t - i * kHour, {Value::Int64(i)}));
  std::string state;
  bool changed;
  ASSERT_TRUE(MergeEvents(*old_layout, nullptr, events, t, &state, &changed).ok());
  std::vector<Value> v;
  ASSERT_TRUE(Evaluate(*new_layout, state, t, &v).ok());
  EXPECT_EQ(v, (std::vector<Value>{Value::Int64(3), Value::Int64(6)}));
}

}  // namespace
}  // namespace larder::aggregation
