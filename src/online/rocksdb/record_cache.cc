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
  Entry entry;
  entry.present = bytes != nullptr;
  entry.version = versions_.fetch_add(1, std::memory_order_relaxed) + 1;
  entry.key_size = key.size();
  entry.blob.reserve(key.size() + (bytes != nullptr ? bytes->size() : 0));
  entry.blob.append(key);
  if (bytes != nullptr) entry.blob.append(*bytes);
  const size_t charge = Charge(entry);
  if (charge > shard_capacity_) return;
  std::lock_guard lock(s.mu);
  if (s.generation.load(std::memory_order_relaxed) != generation) return;
  if (auto old = s.entries.find(key); old != s.entries.end()) {
    s.bytes -= Charge(old->second);
    s.entries.erase(old);
  }
  // The node's key must view the blob where it will live: the entry's own.
  auto it = s.entries.emplace(std::string_view(), std::move(entry)).first;
  auto node = s.entries.extract(it);
  node.key() = node.mapped().key();
  it = s.entries.insert(std::move(node)).position;
  s.bytes += charge;
  // Evict in hash order, never the entry just inserted.
  for (auto victim = s.entries.begin(); s.bytes > shard_capacity_ && victim != s.entries.end();) {
    if (victim == it) {
      ++victim;
      continue;
    }
    s.bytes -= Charge(victim->second);
    victim = s.entries.erase(victim);
  }
}

void RecordCache::Update(size_t shard, std::string_view key, std::string_view bytes) {
  Shard& s = *shards_[shard];
  std::lock_guard lock(s.mu);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  // Rebuild the entry; its key view must follow the new blob.
  auto node = s.entries.extract(it);
  s.bytes -= Charge(node.mapped());
  Entry& e = node.mapped();
  e.present = true;
  e.version = versions_.fetch_add(1, std::memory_order_relaxed) + 1;
  e.blob.resize(e.key_size);
  e.blob.append(bytes);
  node.key() = e.key();
  s.bytes += Charge(e);
  s.entries.insert(std::move(node));
}

void RecordCache::Erase(size_t shard, std::string_view key) {
  Shard& s = *shards_[shard];
  std::lock_guard lock(s.mu);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  s.bytes -= Charge(it->second);
  s.entries.erase(it);
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
