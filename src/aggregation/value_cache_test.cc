#include "aggregation/value_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace larder::aggregation {
namespace {

TileLayout Layout(int64_t window_minutes) {
  FeatureView view;
  view.name = "v";
  view.aggregation_interval.micros = 10 * Duration::kMinute;
  Aggregation a;
  a.column = "x";
  a.column_dtype = {ScalarType::kInt64, false};
  a.function = AggregationFunction::kCount;
  a.window = Duration{window_minutes * Duration::kMinute};
  a.name = "n";
  view.aggregations.push_back(a);
  auto layout = TileLayout::ForView(view);
  EXPECT_TRUE(layout.ok());
  return *layout;
}

TEST(WindowValueCache, AnEntryAnswersOnlyItsLayoutVersionAndWindowEnd) {
  WindowValueCache cache(1 << 20);
  const TileLayout hour = Layout(60), day = Layout(1440);
  cache.Insert(hour, 7, 1000, {Value::Int64(3)});
  std::vector<Value> got;
  ASSERT_TRUE(cache.Lookup(hour, 7, 1000, &got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].int64_value(), 3);
  EXPECT_FALSE(cache.Lookup(hour, 8, 1000, &got));  // the state changed
  EXPECT_FALSE(cache.Lookup(hour, 7, 2000, &got));  // the next interval
  EXPECT_FALSE(cache.Lookup(day, 7, 1000, &got));   // the view's aggregations changed
  // Version 0 (the store cannot name the bytes) is never cached.
  cache.Insert(hour, 0, 1000, {Value::Int64(4)});
  EXPECT_FALSE(cache.Lookup(hour, 0, 1000, &got));
}

TEST(WindowValueCache, StaysWithinItsBytesAndZeroCachesNothing) {
  WindowValueCache cache(64 << 10);
  const TileLayout layout = Layout(60);
  for (uint64_t v = 1; v <= 20000; ++v) {
    cache.Insert(layout, v, 0, {Value::String(std::string(40, 'x')), Value::Int64(1)});
  }
  EXPECT_LE(cache.bytes(), size_t{64} << 10);
  EXPECT_GT(cache.entries(), 0u);
  std::vector<Value> got;
  EXPECT_TRUE(cache.Lookup(layout, 20000, 0, &got));  // the newest is kept

  WindowValueCache off(0);
  off.Insert(layout, 1, 0, {Value::Int64(1)});
  EXPECT_FALSE(off.Lookup(layout, 1, 0, &got));
  EXPECT_EQ(off.entries(), 0u);
}

}  // namespace
}  // namespace larder::aggregation
