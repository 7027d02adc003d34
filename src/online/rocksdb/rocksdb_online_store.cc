#include "online/rocksdb/rocksdb_online_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "online/entity_key.h"
#include "online/store_options.h"
#include "online/record_codec.h"
#include "online/rocksdb/record_cache.h"

namespace larder::online {
namespace {

constexpr size_t kLockStripes = 64;
constexpr int64_t kDefaultBlockCacheMb = 256;
constexpr int64_t kDefaultBloomBitsPerKey = 10;
constexpr int64_t kDefaultRecordCacheMb = 256;
constexpr uint64_t kLevel0FilesWorthCompacting = 4;

// Turns a RocksDB status into a Status naming the store's path and the
// operation. A held LOCK file becomes Busy.
Status FromRocks(const rocksdb::Status& s, const std::string& path, std::string_view what) {
  std::string msg =
      "rocksdb online store " + path + ": " + std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Busy(std::move(msg));
  return Status::IOError(std::move(msg));
}


class RocksDbOnlineStore final : public OnlineStore {
 public:
  RocksDbOnlineStore(std::string project, std::string path, std::unique_ptr<rocksdb::DB> db,
                     size_t record_cache_bytes)
      : project_(std::move(project)),
        path_(std::move(path)),
        db_(std::move(db)),
        cache_(record_cache_bytes > 0
                   ? std::make_unique<RecordCache>(record_cache_bytes, kLockStripes)
                   : nullptr) {}

  ~RocksDbOnlineStore() override {
    rocksdb::Status s = db_->Close();
    s.PermitUncheckedError();  // nothing useful to do with it in a destructor
  }

  std::string_view type() const override { return "rocksdb"; }

  Result<OnlineWriteSummary> Write(const OnlineView& view, std::span<const OnlineRecord> records,
                                   const OnlineWriteOptions& options) override;
  Status MultiGetViews(std::span<const OnlineViewRead> reads) override;
  // When level 0 has piled up overlapping tables (each a probe for a cold
  // lookup), compacts every level into the last, so that a lookup probes one
  // table. A few level-0 tables cost less to probe than to compact.
  Status Optimize() override {
    std::string level0_files;
    if (db_->GetProperty("rocksdb.num-files-at-level0", &level0_files) &&
        std::strtoull(level0_files.c_str(), nullptr, 10) < kLevel0FilesWorthCompacting) {
      return Status::OK();
    }
    rocksdb::CompactRangeOptions cro;
    cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    rocksdb::Status s = db_->CompactRange(cro, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, path_, "compact");
    return Status::OK();
  }
  Status Delete(const OnlineView& view, std::span<const EntityKey> keys) override;
  Status DeleteView(std::string_view view_name) override {
    const std::string what = "delete feature view '" + std::string(view_name) + "'";
    LARDER_RETURN_IF_ERROR(DeletePrefix(ViewKeyPrefix(project_, view_name), what));
    return DeletePrefix(ViewKeyPrefix(project_, StateKeyspace(view_name)), what);
  }
  bool SupportsStates() const override { return true; }
  Status UpdateStates(std::string_view view_name, std::span<const EntityKey> keys,
                      const OnlineStateUpdate& update, const OnlineWriteOptions& options) override;
  Status VisitStates(std::string_view view_name, std::span<const EntityKey> keys,
                     const OnlineStateVisit& visit) override;
  Status DeleteProject() override {
    return DeletePrefix(ProjectKeyPrefix(project_), "delete project '" + project_ + "'");
  }

 private:
  Status DeletePrefix(const std::string& prefix, const std::string& what);
  static size_t StripeOf(const std::string& key) {
    return std::hash<std::string_view>{}(key) % kLockStripes;
  }
  // Reads `keys`: cached ones from the record cache, the rest in one
  // MultiGet (then cached). Calls found(k, bytes) for each key k that has a
  // value; `what(k)` names the read in a database error.
  template <typename Found, typename What>
  Status ReadThrough(const std::vector<std::string>& keys, Found&& found, What&& what);
  // Locks the stripes of `keys`, in ascending stripe order (no deadlock).
  std::vector<std::unique_lock<std::mutex>> LockStripes(const std::vector<std::string>& keys);

  const std::string project_;
  const std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  // Stripe i serialises read-check-write of the keys that hash to i.
  std::array<std::mutex, kLockStripes> stripes_;
  // Hot records; shard i holds the keys of stripe i. Null when disabled.
  std::unique_ptr<RecordCache> cache_;
};

Result<OnlineWriteSummary> RocksDbOnlineStore::Write(const OnlineView& view,
                                                     std::span<const OnlineRecord> records,
                                                     const OnlineWriteOptions& options) {
  OnlineWriteSummary summary;
  const size_t n = records.size();
  if (n == 0) return summary;

  // 1. Check and encode the whole batch before touching the database.
  const std::string prefix = ViewKeyPrefix(project_, view.name());
  std::vector<std::string> keys(n);
  std::vector<std::string> values(n);
  std::vector<RecordHeader> headers(n);
  for (size_t i = 0; i < n; ++i) {
    const OnlineRecord& rec = records[i];
    keys[i] = prefix;
    Status s = EncodeEntityKey(rec.entity_key, &keys[i]);
    if (s.ok()) s = EncodeRecord(view, rec, &values[i], &headers[i]);
    if (!s.ok()) {
      return s.WithContext("feature view '" + view.name() + "': record " + std::to_string(i));
    }
  }

  // 2. Group records by key; a stable sort keeps batch order within a key.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<size_t> group_starts;  // positions in `order`
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || keys[order[k]] != keys[order[k - 1]]) group_starts.push_back(k);
  }
  const size_t unique = group_starts.size();

  // 3. Lock the stripes of every key.
  std::vector<std::unique_lock<std::mutex>> locks = LockStripes(keys);

  // 4. Read the stored headers in one MultiGet (keys are sorted bytewise).
  std::vector<rocksdb::Slice> slices(unique);
  for (size_t u = 0; u < unique; ++u) slices[u] = keys[order[group_starts[u]]];
  std::vector<rocksdb::PinnableSlice> stored(unique);
  std::vector<rocksdb::Status> statuses(unique);
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), unique, slices.data(),
                stored.data(), statuses.data(), /*sorted_input=*/true);

  // 5. Apply the rule per key, in batch order; write each key's winner.
  rocksdb::WriteBatch batch;
  std::vector<size_t> winners;
  for (size_t u = 0; u < unique; ++u) {
    bool have = false;
    RecordHeader state;
    if (statuses[u].ok()) {
      // A stored record whose header does not parse cannot be compared; it is
      // replaced, which heals it, rather than blocking the view's writes.
      auto h = DecodeRecordHeader(std::string_view(stored[u].data(), stored[u].size()));
      if (h.ok()) {
        have = true;
        state = *h;
      }
    } else if (!statuses[u].IsNotFound()) {
      return FromRocks(statuses[u], path_, "read before conditional write");
    }
    const size_t end = u + 1 < unique ? group_starts[u + 1] : n;
    size_t winner = n;
    for (size_t k = group_starts[u]; k < end; ++k) {
      size_t i = order[k];
      if (!have || Supersedes(headers[i], state)) {
        have = true;
        state = headers[i];
        winner = i;
        ++summary.written;
      } else {
        ++summary.skipped;
      }
    }
    if (winner != n) {
      rocksdb::Status s = batch.Put(keys[winner], values[winner]);
      if (!s.ok()) return FromRocks(s, path_, "build write batch");
      winners.push_back(winner);
    }
  }
  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) {
      if (cache_ != nullptr) cache_->Clear();  // some keys may have landed
      return FromRocks(s, path_, "write feature view '" + view.name() + "'");
    }
    // Still under the stripe locks, so cached entries change in write order.
    if (cache_ != nullptr) {
      for (size_t i : winners) cache_->Update(StripeOf(keys[i]), keys[i], values[i]);
    }
  }
  return summary;
}

Status RocksDbOnlineStore::MultiGetViews(std::span<const OnlineViewRead> reads) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeReadKeys(project_, reads, /*hash_tag=*/false));
  // The (read, key index) of each encoded key, in order.
  std::vector<std::pair<const OnlineViewRead*, size_t>> owners;
  owners.reserve(encoded.size());
  for (const OnlineViewRead& r : reads) {
    for (size_t i = 0; i < r.keys.size(); ++i) owners.emplace_back(&r, i);
  }
  return ReadThrough(
      encoded,
      [&](size_t k, std::string_view bytes, uint64_t /*version*/) {
        const auto& [r, i] = owners[k];
        Status s = DecodeRecord(*r->view, bytes, &(*r->results)[i]);
        if (!s.ok()) {
          return s.WithContext("rocksdb online store " + path_ + ": feature view '" +
                               r->view->name() + "': entity key " + std::to_string(i));
        }
        return s;
      },
      [&](size_t k) { return "read feature view '" + owners[k].first->view->name() + "'"; });
}

Status RocksDbOnlineStore::UpdateStates(std::string_view view_name,
                                        std::span<const EntityKey> keys,
                                        const OnlineStateUpdate& update,
                                        const OnlineWriteOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeStateKeys(project_, view_name, keys, /*hash_tag=*/false, true));
  if (encoded.empty()) return Status::OK();
  std::vector<std::unique_lock<std::mutex>> locks = LockStripes(encoded);
  // Keys in sorted order: MultiGet skips its own sort, and the write batch
  // inserts into the memtable in order, which reuses the skip list's search
  // path from one key to the next (about twice as fast as random order).
  std::vector<size_t> order(encoded.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return encoded[a] < encoded[b]; });
  std::vector<rocksdb::Slice> slices;
  slices.reserve(order.size());
  for (size_t i : order) slices.emplace_back(encoded[i]);
  std::vector<rocksdb::PinnableSlice> stored(encoded.size());
  std::vector<rocksdb::Status> statuses(encoded.size());
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), encoded.size(),
                slices.data(), stored.data(), statuses.data(), /*sorted_input=*/true);
  rocksdb::WriteBatch batch;
  std::vector<std::string> states(encoded.size());
  std::vector<size_t> changed;
  std::string old;
  for (size_t at = 0; at < order.size(); ++at) {
    const size_t i = order[at];
    const bool found = statuses[at].ok();
    if (!found && !statuses[at].IsNotFound()) {
      return FromRocks(statuses[at], path_, "read aggregation state");
    }
    if (found) old.assign(stored[at].data(), stored[at].size());
    LARDER_RETURN_IF_ERROR(update(i, found ? &old : nullptr, &states[i]));
    if (found && states[i] == old) continue;
    if (!found && states[i].empty()) continue;
    rocksdb::Status s =
        states[i].empty() ? batch.Delete(encoded[i]) : batch.Put(encoded[i], states[i]);
    if (!s.ok()) return FromRocks(s, path_, "build write batch");
    changed.push_back(i);
  }
  if (batch.Count() == 0) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    if (cache_ != nullptr) cache_->Clear();
    return FromRocks(s, path_, "write aggregation states of '" + std::string(view_name) + "'");
  }
  if (cache_ != nullptr) {
    for (size_t i : changed) {
      if (states[i].empty()) {
        cache_->Erase(StripeOf(encoded[i]), encoded[i]);
      } else {
        cache_->Update(StripeOf(encoded[i]), encoded[i], states[i]);
      }
    }
  }
  return Status::OK();
}

Status RocksDbOnlineStore::VisitStates(std::string_view view_name,
                                       std::span<const EntityKey> keys,
                                       const OnlineStateVisit& visit) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeStateKeys(project_, view_name, keys, /*hash_tag=*/false, false));
  return ReadThrough(encoded, visit, [&](size_t) {
    return "read aggregation states of '" + std::string(view_name) + "'";
  });
}

template <typename Found, typename What>
Status RocksDbOnlineStore::ReadThrough(const std::vector<std::string>& keys, Found&& found,
                                       What&& what) {
  struct Miss {
    size_t key;           // into keys
    size_t shard;         // of the record cache
    uint64_t generation;  // of that shard before the database read
  };
  std::vector<Miss> misses;
  Status status;
  for (size_t k = 0; k < keys.size(); ++k) {
    if (cache_ == nullptr) {
      misses.push_back({k, 0, 0});
      continue;
    }
    const size_t shard = StripeOf(keys[k]);
    const uint64_t generation = cache_->Generation(shard);
    RecordCache::Lookup hit =
        cache_->Get(shard, keys[k], [&](std::string_view bytes, uint64_t version) {
          status = found(k, bytes, version);
        });
    LARDER_RETURN_IF_ERROR(status);
    if (hit == RecordCache::Lookup::kMiss) misses.push_back({k, shard, generation});
  }
  if (misses.empty()) return Status::OK();
  std::vector<rocksdb::Slice> slices;
  slices.reserve(misses.size());
  for (const Miss& m : misses) slices.emplace_back(keys[m.key]);
  std::vector<rocksdb::PinnableSlice> values(misses.size());
  std::vector<rocksdb::Status> statuses(misses.size());
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), misses.size(), slices.data(),
                values.data(), statuses.data(), /*sorted_input=*/false);
  for (size_t j = 0; j < misses.size(); ++j) {
    const Miss& m = misses[j];
    const bool absent = statuses[j].IsNotFound();
    if (!absent && !statuses[j].ok()) return FromRocks(statuses[j], path_, what(m.key));
    const std::string_view bytes(values[j].data(), values[j].size());
    if (!absent) LARDER_RETURN_IF_ERROR(found(m.key, bytes, /*version=*/0));
    if (cache_ != nullptr) {
      cache_->InsertIfUnchanged(m.shard, m.generation, keys[m.key], absent ? nullptr : &bytes);
    }
  }
  return Status::OK();
}

std::vector<std::unique_lock<std::mutex>> RocksDbOnlineStore::LockStripes(
    const std::vector<std::string>& keys) {
  std::bitset<kLockStripes> used;
  for (const std::string& key : keys) used.set(StripeOf(key));
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(used.count());
  for (size_t s = 0; s < kLockStripes; ++s) {
    if (used.test(s)) locks.emplace_back(stripes_[s]);
  }
  return locks;
}

// Under the stripe locks, as writes are: a conditional write of the same key
// sees the record either whole or gone, and the cache changes in order.
Status RocksDbOnlineStore::Delete(const OnlineView& view, std::span<const EntityKey> keys) {
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeViewKeys(project_, view, keys, /*hash_tag=*/false));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> states,
                          EncodeStateKeys(project_, view.name(), keys, /*hash_tag=*/false, false));
  encoded.insert(encoded.end(), std::make_move_iterator(states.begin()),
                 std::make_move_iterator(states.end()));
  if (encoded.empty()) return Status::OK();
  std::vector<std::unique_lock<std::mutex>> locks = LockStripes(encoded);
  rocksdb::WriteBatch batch;
  for (const std::string& key : encoded) {
    rocksdb::Status s = batch.Delete(key);
    if (!s.ok()) return FromRocks(s, path_, "build delete batch");
  }
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) {
    if (cache_ != nullptr) cache_->Clear();  // some keys may be gone
    return FromRocks(s, path_, "delete from feature view '" + view.name() + "'");
  }
  if (cache_ != nullptr) {
    for (const std::string& key : encoded) cache_->Erase(StripeOf(key), key);
  }
  return Status::OK();
}

Status RocksDbOnlineStore::DeletePrefix(const std::string& prefix, const std::string& what) {
  // Prefixes start with the key layout version byte, so a successor exists.
  const std::string end = PrefixSuccessor(prefix);
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(prefix, end);
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (cache_ != nullptr) cache_->Clear();
  if (!s.ok()) return FromRocks(s, path_, what);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<OnlineStore>> OpenRocksDbOnlineStore(const OnlineStoreOptions& options) {
  const auto& opts = options.config.options;
  for (const auto& [key, value] : opts) {
    if (key != "path" && key != "block_cache_mb" && key != "record_cache_mb" &&
        key != "bloom_bits_per_key") {
      return Status::InvalidArgument("online_store." + key +
                                     ": not an option of the rocksdb online store (accepted: "
                                     "path, block_cache_mb, record_cache_mb, bloom_bits_per_key)");
    }
  }
  LARDER_ASSIGN_OR_RETURN(int64_t cache_mb,
                          IntOption(opts, "block_cache_mb", kDefaultBlockCacheMb, 1, 1 << 20));
  LARDER_ASSIGN_OR_RETURN(int64_t record_cache_mb,
                          IntOption(opts, "record_cache_mb", kDefaultRecordCacheMb, 0, 1 << 20));
  LARDER_ASSIGN_OR_RETURN(int64_t bloom_bits,
                          IntOption(opts, "bloom_bits_per_key", kDefaultBloomBitsPerKey, 0, 64));
  std::string rel = "data/online_store";
  if (auto it = opts.find("path"); it != opts.end()) rel = it->second;
  if (rel.empty()) return Status::InvalidArgument("online_store.path: empty");
  std::filesystem::path p(rel);
  if (p.is_relative()) p = std::filesystem::path(options.repo_root) / p;
  const std::string path = p.lexically_normal().string();

  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec) {
    return Status::IOError("rocksdb online store " + path + ": cannot create the directory: " +
                           ec.message());
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(cache_mb) << 20);
  if (bloom_bits > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(static_cast<double>(bloom_bits)));
  }
  table.whole_key_filtering = true;
  // A hash index inside each data block: a point lookup skips the binary
  // search within the block.
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.data_block_hash_table_util_ratio = 0.75;
  table.format_version = 5;

  rocksdb::Options o;
  o.create_if_missing = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Bloom filter over whole keys in the memtable too, so misses stay cheap
  // right after a materialization.
  o.memtable_whole_key_filtering = true;
  o.memtable_prefix_bloom_size_ratio = 0.02;
  o.level_compaction_dynamic_level_bytes = true;
  o.max_background_jobs = 2;
  o.max_open_files = -1;  // keep every table, with its filter and index, open

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) {
    std::string detail = s.ToString();
    std::string lower = detail;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s.IsIOError() && lower.find("lock") != std::string::npos) {
      return Status::Busy("rocksdb online store " + path +
                          " is already open in another process or by another OnlineStore in "
                          "this one; RocksDB admits one opener per directory (" +
                          detail + ")");
    }
    return FromRocks(s, path, "open");
  }
  return std::unique_ptr<OnlineStore>(
      new RocksDbOnlineStore(options.project, path, std::unique_ptr<rocksdb::DB>(raw),
                             static_cast<size_t>(record_cache_mb) << 20));
}

}  // namespace larder::online
