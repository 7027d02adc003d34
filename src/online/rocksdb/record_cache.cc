#include "online/rocksdb/record_cache.h"

namespace larder::online {

RecordCache::RecordCache(size_t capacity_bytes, size_t shards)
    : shard_capacity_(capacity_bytes / shards) {
  shards_.reserve(shards);
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

void RecordCache::InsertIfUnchanged(size_t shard, uint64_t generation, std::string_view key,
                                    const std::string_view* bytes) {
  Shard& s = *shards_[shard];
  Entry entry{bytes != nullptr, bytes != nullptr ? std::string(*bytes) : std::string()};
  const size_t charge = Charge(key, entry);
  if (charge > shard_capacity_) return;
  std::lock_guard lock(s.mu);
  if (s.generation.load(std::memory_order_relaxed) != generation) return;
  auto [it, inserted] = s.entries.try_emplace(std::string(key));
  if (!inserted) s.bytes -= Charge(it->first, it->second);
  it->second = std::move(entry);
  s.bytes += charge;
  // Evict in hash order, never the entry just inserted.
  for (auto victim = s.entries.begin(); s.bytes > shard_capacity_ && victim != s.entries.end();) {
    if (victim == it) {
      ++victim;
      continue;
    }
    s.bytes -= Charge(victim->first, victim->second);
    victim = s.entries.erase(victim);
  }
}

void RecordCache::Update(size_t shard, std::string_view key, std::string_view bytes) {
  Shard& s = *shards_[shard];
  std::lock_guard lock(s.mu);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  s.bytes -= Charge(it->first, it->second);
  it->second.present = true;
  it->second.bytes.assign(bytes);
  s.bytes += Charge(it->first, it->second);
}

void RecordCache::Clear() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    shard->generation.fetch_add(1, std::memory_order_acq_rel);
    shard->entries.clear();
    shard->bytes = 0;
  }
}

}  // namespace larder::online
