// RecordCache: the stored bytes of hot records, by record key, in memory,
// in front of the RocksDB online store.
//
// Why not only RocksDB's row cache? A row-cache hit still goes through
// RocksDB's read path (version, key sort, cache shard lock, copy), about a
// microsecond per key; a feature service reads one key per view and entity
// row, so that cost decides serving latency. This cache answers a hit with
// one hash lookup under a shard lock.
//
// Coherence: RocksDB admits one process per directory, so the store object
// that owns this cache performs every write. After each write lands it calls
// Update for the key, which replaces a cached entry and bumps the shard's
// generation; a reader that missed remembers the generation before reading
// the database and inserts what it read only if the generation is unchanged.
// So a reader never caches bytes older than a write that completed. A key's
// delete calls Erase; deletes of views and projects Clear() everything.
//
// Absent keys are cached too (as "absent"), so repeated reads of unknown
// entities stay cheap. Eviction is by byte budget per shard, removing
// entries in hash order (close to random), which suits uniform lookups.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace larder::online {

class RecordCache {
 public:
  // `capacity_bytes` is shared evenly by `shards` shards. REQUIRES: shards > 0.
  RecordCache(size_t capacity_bytes, size_t shards);

  size_t shards() const { return shards_.size(); }

  // The result of a lookup.
  enum class Lookup { kMiss, kAbsent, kFound };

  // Looks `key` up in `shard`; on kFound calls `use(bytes, version)` while the
  // entry is held (the bytes are valid only during the call). `version`
  // numbers the cached bytes: every insert and update takes a new one from
  // a counter of this cache, so equal versions mean equal bytes.
  template <typename Use>
  Lookup Get(size_t shard, std::string_view key, Use&& use) {
    Shard& s = *shards_[shard];
    std::lock_guard lock(s.mu);
    auto it = s.entries.find(key);
    if (it == s.entries.end()) return Lookup::kMiss;
    if (!it->second.present) return Lookup::kAbsent;
    use(it->second.bytes(), it->second.version);
    return Lookup::kFound;
  }

  // The shard's generation: read it before reading the database for a miss.
  uint64_t Generation(size_t shard) const {
    return shards_[shard]->generation.load(std::memory_order_acquire);
  }

  // Caches what the database returned for `key` (`bytes`, or absent when
  // null), unless the shard changed since `generation`.
  void InsertIfUnchanged(size_t shard, uint64_t generation, std::string_view key,
                         const std::string_view* bytes);

  // After a write of `key` has landed: replaces the cached entry, if any, by
  // `bytes`, and bumps the shard's generation.
  void Update(size_t shard, std::string_view key, std::string_view bytes);

  // After a delete of `key` has landed: drops the cached entry, if any, and
  // bumps the shard's generation.
  void Erase(size_t shard, std::string_view key);

  // Empties every shard and bumps every generation.
  void Clear();

 private:
  // The key and the record's bytes in one allocation, so that a lookup
  // touches the table, the node and this one block.
  struct Entry {
    bool present = false;
    uint64_t version = 0;
    size_t key_size = 0;
    std::string blob;  // key bytes, then record bytes
    std::string_view key() const { return std::string_view(blob).substr(0, key_size); }
    std::string_view bytes() const { return std::string_view(blob).substr(key_size); }
  };
  struct Hash {
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::atomic<uint64_t> generation{0};
    // Keys are views into their entry's blob (stable: nodes do not move).
    std::unordered_map<std::string_view, Entry, Hash> entries;
    size_t bytes = 0;  // charged size of the entries
  };
  static size_t Charge(const Entry& e) {
    return e.blob.size() + 64;  // 64: node and bookkeeping
  }

  std::vector<std::unique_ptr<Shard>> shards_;
  size_t shard_capacity_;
  std::atomic<uint64_t> versions_{0};  // the last version given out
};

}  // namespace larder::online
