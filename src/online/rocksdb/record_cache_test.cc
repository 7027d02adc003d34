#include "online/rocksdb/record_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace larder::online {
namespace {

std::string GetText(RecordCache& cache, size_t shard, std::string_view key,
                    RecordCache::Lookup* found) {
  std::string out;
  *found = cache.Get(shard, key, [&](std::string_view bytes, uint64_t) { out = std::string(bytes); });
  return out;
}

TEST(RecordCache, MissAbsentAndFound) {
  RecordCache cache(1 << 20, 4);
  RecordCache::Lookup found;
  GetText(cache, 1, "k", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
  cache.InsertIfUnchanged(1, cache.Generation(1), "absent", nullptr);
  GetText(cache, 1, "absent", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kAbsent);
  const std::string_view bytes = "record";
  cache.InsertIfUnchanged(1, cache.Generation(1), "k", &bytes);
  EXPECT_EQ(GetText(cache, 1, "k", &found), "record");
  EXPECT_EQ(found, RecordCache::Lookup::kFound);
  // Shards are separate.
  GetText(cache, 2, "k", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
}

// Equal versions mean equal bytes: a key's version holds while its bytes
// do, and every insert or update (of any key) takes a new one.
TEST(RecordCache, VersionsNameTheCachedBytes) {
  RecordCache cache(1 << 20, 2);
  auto version = [&](size_t shard, std::string_view key) {
    uint64_t v = 0;
    cache.Get(shard, key, [&](std::string_view, uint64_t got) { v = got; });
    return v;
  };
  const std::string_view a = "a", b = "b";
  cache.InsertIfUnchanged(0, cache.Generation(0), "k", &a);
  cache.InsertIfUnchanged(1, cache.Generation(1), "j", &a);
  const uint64_t first = version(0, "k");
  EXPECT_NE(first, 0u);
  EXPECT_EQ(version(0, "k"), first);
  EXPECT_NE(version(1, "j"), first);  // the same bytes under another key
  cache.Update(0, "k", "b");
  const uint64_t second = version(0, "k");
  EXPECT_NE(second, first);
  cache.Update(0, "k", "a");  // the old bytes again: still a new version
  EXPECT_NE(version(0, "k"), first);
  EXPECT_NE(version(0, "k"), second);
  cache.Erase(0, "k");
  cache.InsertIfUnchanged(0, cache.Generation(0), "k", &b);
  EXPECT_NE(version(0, "k"), second);
}

TEST(RecordCache, AWriteDuringAReadKeepsTheReadOut) {
  RecordCache cache(1 << 20, 2);
  const uint64_t before = cache.Generation(0);  // a reader misses ...
  cache.Update(0, "k", "new");                  // ... a write lands ...
  const std::string_view old_bytes = "old";     // ... the reader read the old bytes
  cache.InsertIfUnchanged(0, before, "k", &old_bytes);
  RecordCache::Lookup found;
  GetText(cache, 0, "k", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
  // A write to another shard does not block this one.
  const uint64_t again = cache.Generation(0);
  cache.Update(1, "other", "x");
  const std::string_view fresh = "new";
  cache.InsertIfUnchanged(0, again, "k", &fresh);
  EXPECT_EQ(GetText(cache, 0, "k", &found), "new");
}

TEST(RecordCache, UpdateReplacesCachedEntriesIncludingAbsentOnes) {
  RecordCache cache(1 << 20, 1);
  cache.InsertIfUnchanged(0, cache.Generation(0), "gone", nullptr);
  cache.Update(0, "gone", "now here");
  RecordCache::Lookup found;
  EXPECT_EQ(GetText(cache, 0, "gone", &found), "now here");
  EXPECT_EQ(found, RecordCache::Lookup::kFound);
  // An uncached key stays uncached: writes do not fill the cache.
  cache.Update(0, "cold", "bytes");
  GetText(cache, 0, "cold", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
}

TEST(RecordCache, ClearEmptiesAndFencesReaders) {
  RecordCache cache(1 << 20, 2);
  const std::string_view bytes = "v";
  cache.InsertIfUnchanged(0, cache.Generation(0), "k", &bytes);
  const uint64_t before = cache.Generation(1);
  cache.Clear();
  RecordCache::Lookup found;
  GetText(cache, 0, "k", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
  cache.InsertIfUnchanged(1, before, "late", &bytes);
  GetText(cache, 1, "late", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kMiss);
}

TEST(RecordCache, StaysWithinItsBudget) {
  // One shard of 4 KiB; each entry charges about 64 + key + 100 bytes.
  RecordCache cache(4096, 1);
  const std::string value(100, 'x');
  const std::string_view bytes = value;
  for (int i = 0; i < 1000; ++i) {
    cache.InsertIfUnchanged(0, cache.Generation(0), "key" + std::to_string(i), &bytes);
  }
  int cached = 0;
  for (int i = 0; i < 1000; ++i) {
    RecordCache::Lookup found;
    GetText(cache, 0, "key" + std::to_string(i), &found);
    cached += found == RecordCache::Lookup::kFound;
  }
  EXPECT_GT(cached, 0);
  EXPECT_LE(cached, 4096 / (64 + 100));
  // The newest insert is never its own victim.
  RecordCache::Lookup found;
  GetText(cache, 0, "key999", &found);
  EXPECT_EQ(found, RecordCache::Lookup::kFound);
}

}  // namespace
}  // namespace larder::online
