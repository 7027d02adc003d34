// The `rocksdb` online store: an embedded RocksDB database in a directory.
//
// Options (online_store: in feature_store.yaml; declared in
// src/repo/config_keys.cc):
//   path                relative to the repo root unless absolute.
//                       Default: data/online_store.
//   block_cache_mb      LRU block cache for data blocks, MiB, 1..1048576.
//                       Default: 256.
//   record_cache_mb     in-memory cache of hot records (online/rocksdb/
//                       record_cache.h), MiB, 0 (off)..1048576. Default: 256.
//   bloom_bits_per_key  bloom filter bits per key, 0 (no filter)..64.
//                       Default: 10 (about 1% false positives).
// None can change while the store is open.
//
// Layout: one key-value pair per record in the default column family; keys
// and values as in online/entity_key.h and online/record_codec.h.
//
// Conditional writes are a read-check-write under striped in-process locks
// (see docs/online-store.md for why, not a merge operator): RocksDB's LOCK
// file admits one process per directory, so the stripes cover every writer.
// A second opener, in this or another process, gets Busy naming the path.
#pragma once

#include <memory>

#include "larder/online_store.h"

namespace larder::online {

[[nodiscard]] Result<std::unique_ptr<OnlineStore>> OpenRocksDbOnlineStore(
    const OnlineStoreOptions& options);

}  // namespace larder::online
