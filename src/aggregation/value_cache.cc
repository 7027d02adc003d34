#include "aggregation/value_cache.h"

#include <string>

#include "aggregation/event.h"
#include "online/value_codec.h"

namespace larder::aggregation {
namespace {

constexpr size_t kShards = 16;

// The entry's node and key, then per value its object and about its heap
// bytes (strings, lists), estimated by its encoded size.
size_t Charge(const std::vector<Value>& values) {
  size_t bytes = 96;
  std::string encoded;
  for (const Value& v : values) {
    encoded.clear();
    online::EncodeValue(v, &encoded);
    bytes += sizeof(Value) + encoded.size();
  }
  return bytes;
}

}  // namespace

size_t WindowValueCache::KeyHash::operator()(const Key& k) const {
  return MixHash(k.layout ^ MixHash(k.version ^ MixHash(static_cast<uint64_t>(k.end))));
}

WindowValueCache::WindowValueCache(size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards) {
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
}

bool WindowValueCache::Lookup(const TileLayout& layout, uint64_t version, TimestampMicros end,
                              std::vector<Value>* values) {
  if (shard_capacity_ == 0 || version == 0) return false;
  const Key key{layout.tiles_fingerprint(), version, end};
  Shard& s = *shards_[KeyHash()(key) % shards_.size()];
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return false;
  *values = it->second.values;
  return true;
}

void WindowValueCache::Insert(const TileLayout& layout, uint64_t version, TimestampMicros end,
                              const std::vector<Value>& values) {
  if (shard_capacity_ == 0 || version == 0) return;
  Entry entry{values, Charge(values)};
  if (entry.charge > shard_capacity_) return;
  const Key key{layout.tiles_fingerprint(), version, end};
  Shard& s = *shards_[KeyHash()(key) % shards_.size()];
  std::lock_guard lock(s.mu);
  if (s.entries.contains(key)) return;  // another reader got there first
  while (s.bytes + entry.charge > shard_capacity_ && !s.entries.empty()) {
    auto victim = s.entries.begin();
    s.bytes -= victim->second.charge;
    s.entries.erase(victim);
  }
  s.bytes += entry.charge;
  s.entries.emplace(key, std::move(entry));
}

size_t WindowValueCache::entries() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->entries.size();
  }
  return n;
}

size_t WindowValueCache::bytes() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->bytes;
  }
  return n;
}

}  // namespace larder::aggregation
