// WindowValueCache: the window values last evaluated from aggregation
// states, so that reading an unchanged state again within one aggregation
// interval costs a lookup instead of a walk over its tiles.
//
// A view's values at t depend only on its layout, the state's bytes and
// WindowEnd(t) (tile_state.h: Evaluate); with an aggregation_interval,
// WindowEnd(t) changes once per interval. The state's bytes are named by the
// version the online store gives them (OnlineStateVisit): equal versions from
// one store object mean equal bytes, and a write gives new bytes a new
// version. So an entry is keyed by (layout, version, window end), the cache
// belongs to one store object, and nothing needs invalidating: entries of
// states that changed are never asked for again and age out. States read
// without a version (Redis, a record cache miss) are evaluated every time.
//
// Bounded by bytes; a full shard drops entries in hash order (close to
// random). Thread-safe: one mutex per shard.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "aggregation/tile_layout.h"
#include "larder/value.h"

namespace larder::aggregation {

class WindowValueCache {
 public:
  // `capacity_bytes` 0 caches nothing.
  explicit WindowValueCache(size_t capacity_bytes);

  // Copies the values of the state the store numbered `version` (nonzero),
  // evaluated for `layout` at window end `end`, into *values, if cached.
  bool Lookup(const TileLayout& layout, uint64_t version, TimestampMicros end,
              std::vector<Value>* values);
  // Remembers `values` for (layout, version, end).
  void Insert(const TileLayout& layout, uint64_t version, TimestampMicros end,
              const std::vector<Value>& values);

  // Entries and their charged bytes, summed over shards.
  size_t entries() const;
  size_t bytes() const;

 private:
  struct Key {
    uint64_t layout = 0;
    uint64_t version = 0;
    TimestampMicros end = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    std::vector<Value> values;
    size_t charge = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Key, Entry, KeyHash> entries;
    size_t bytes = 0;
  };

  std::vector<std::unique_ptr<Shard>> shards_;
  size_t shard_capacity_ = 0;
};

}  // namespace larder::aggregation
