#include "aggregation/online_tiles.h"

#include <algorithm>
#include <unordered_map>

#include "aggregation/tile_state.h"
#include "online/entity_key.h"

namespace larder::aggregation {

Status ApplyEvents(OnlineStore& store, const std::string& view_name, const TileLayout& layout,
                   std::vector<EntityEvents> batch, TimestampMicros now,
                   const OnlineWriteOptions& options) {
  // One entry per distinct key.
  std::unordered_map<std::string, size_t> index;
  std::vector<EntityEvents> merged;
  merged.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    std::string encoded;
    Status s = online::EncodeEntityKey(batch[i].key, &encoded);
    if (!s.ok()) return s.WithContext("feature view '" + view_name + "': entity " + std::to_string(i));
    auto [it, inserted] = index.emplace(std::move(encoded), merged.size());
    if (inserted) {
      merged.push_back(std::move(batch[i]));
    } else {
      std::vector<Event>& into = merged[it->second].events;
      into.insert(into.end(), std::make_move_iterator(batch[i].events.begin()),
                  std::make_move_iterator(batch[i].events.end()));
    }
  }
  std::vector<EntityKey> keys;
  keys.reserve(merged.size());
  for (EntityEvents& e : merged) keys.push_back(std::move(e.key));
  return store.UpdateStates(
      view_name, keys,
      [&](size_t i, const std::string* stored, std::string* out) {
        bool changed = false;
        Status s = MergeEvents(layout, stored, merged[i].events, now, out, &changed);
        if (!s.ok()) return s.WithContext("feature view '" + view_name + "': entity " + std::to_string(i));
        return s;
      },
      options);
}

Status ReadAggregates(OnlineStore& store, const std::string& view_name, const TileLayout& layout,
                      std::span<const EntityKey> keys, TimestampMicros t,
                      std::vector<std::vector<Value>>* values, WindowValueCache* cache) {
  values->assign(keys.size(), {});
  std::vector<bool> seen(keys.size(), false);
  const TimestampMicros end = layout.WindowEnd(t);
  LARDER_RETURN_IF_ERROR(store.VisitStates(
      view_name, keys, [&](size_t i, std::string_view stored, uint64_t version) {
        seen[i] = true;
        if (cache != nullptr && cache->Lookup(layout, version, end, &(*values)[i])) {
          return Status::OK();
        }
        Status s = Evaluate(layout, stored, t, &(*values)[i]);
        if (!s.ok()) return s.WithContext("feature view '" + view_name + "': entity key " + std::to_string(i));
        if (cache != nullptr) cache->Insert(layout, version, end, (*values)[i]);
        return s;
      }));
  std::vector<Value> empty;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (seen[i]) continue;
    if (empty.empty()) LARDER_RETURN_IF_ERROR(Evaluate(layout, {}, t, &empty));
    (*values)[i] = empty;
  }
  return Status::OK();
}

}  // namespace larder::aggregation
