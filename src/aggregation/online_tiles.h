// Aggregation states in an online store: applying events to them and
// reading window values from them (one batched round trip each way).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "aggregation/event.h"
#include "aggregation/tile_layout.h"
#include "aggregation/value_cache.h"
#include "larder/online_store.h"
#include "larder/status.h"

namespace larder::aggregation {

// Events of one entity (any order; repeats allowed).
struct EntityEvents {
  EntityKey key;
  std::vector<Event> events;
};

// Adds each entity's events to its state in `view_name`, pruning at `now`
// (tile_state.h: MergeEvents). Entries for the same key are combined first.
// InvalidArgument for a bad key; the store's errors otherwise.
Status ApplyEvents(OnlineStore& store, const std::string& view_name, const TileLayout& layout,
                   std::vector<EntityEvents> batch, TimestampMicros now,
                   const OnlineWriteOptions& options = {});

// The aggregations' values at instant `t` for each key: (*values)[i] holds
// one Value per layout.aggregations() entry for keys[i] (counts 0 and nulls
// for a key with no state). With `cache` (which must serve only `store`),
// values already evaluated from the same state version at the same window
// end are taken from it, and new ones are added to it.
Status ReadAggregates(OnlineStore& store, const std::string& view_name, const TileLayout& layout,
                      std::span<const EntityKey> keys, TimestampMicros t,
                      std::vector<std::vector<Value>>* values,
                      WindowValueCache* cache = nullptr);

}  // namespace larder::aggregation
