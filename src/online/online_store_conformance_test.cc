// The backend-independent OnlineStore contract. See online_store_conformance.h.
#include "online/online_store_conformance.h"

#include <algorithm>
#include <map>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "online/record_codec.h"

namespace larder::testing {

void OnlineStoreConformance::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  project_ = "conf_" + std::string(info->name());
  std::replace_if(
      project_.begin(), project_.end(), [](char c) { return !std::isalnum(c) && c != '_'; }, '_');
  store_ = OpenStore(project_);
  ASSERT_NE(store_, nullptr);
}

void OnlineStoreConformance::TearDown() {
  if (store_ != nullptr) {
    EXPECT_TRUE(store_->DeleteProject().ok());
  }
  store_.reset();
}

std::unique_ptr<OnlineStore> OnlineStoreConformance::OpenStore(const std::string& project) {
  OnlineStoreOptions options;
  options.config = GetParam().config(dir_.path());
  options.project = project;
  options.repo_root = dir_.path();
  auto store = OnlineStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  EXPECT_EQ((*store)->type(), options.config.type);
  return std::move(store).value();
}

void OnlineStoreConformance::Reopen() {
  store_.reset();
  store_ = OpenStore(project_);
  ASSERT_NE(store_, nullptr);
}

namespace {

OnlineView UserView() {
  return OnlineView("user_features", {{"country", {ScalarType::kString, false}},
                                      {"rating", {ScalarType::kFloat64, false}}});
}

EntityKey User(int64_t id) { return {{"user_id"}, {Value::Int64(id)}}; }

OnlineRecord UserRecord(int64_t id, int64_t event_ts, int64_t created_ts, std::string country,
                        double rating) {
  return {User(id),
          event_ts,
          created_ts,
          {Value::String(std::move(country)), Value::Float64(rating)}};
}

uint64_t TieKey(const OnlineView& view, const OnlineRecord& record) {
  std::string bytes;
  online::RecordHeader header;
  EXPECT_TRUE(online::EncodeRecord(view, record, &bytes, &header).ok());
  return header.tie_key;
}

OnlineWriteSummary MustWrite(OnlineStore& store, const OnlineView& view,
                             const std::vector<OnlineRecord>& records) {
  auto r = store.Write(view, records);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : OnlineWriteSummary{};
}

std::vector<OnlineReadResult> MustRead(OnlineStore& store, const OnlineView& view,
                                       const std::vector<EntityKey>& keys) {
  std::vector<OnlineReadResult> out;
  Status s = store.MultiGet(view, keys, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.size(), keys.size());
  out.resize(keys.size());
  return out;
}

// One read result, flattened for comparisons and readable failures.
std::string Describe(const OnlineReadResult& r) {
  if (r.state == OnlineRecordState::kNotFound) return "not found";
  if (r.state == OnlineRecordState::kSchemaMismatch) return "schema mismatch";
  std::string s = "ev=" + std::to_string(r.event_timestamp) +
                  " cr=" + std::to_string(r.created_timestamp);
  for (const Value& v : r.values) s += " " + v.DebugString();
  return s;
}

// Describe() of reading `rec` back.
std::string DescribeFound(const OnlineRecord& rec) {
  OnlineReadResult r;
  r.state = OnlineRecordState::kFound;
  r.event_timestamp = rec.event_timestamp;
  r.created_timestamp = rec.created_timestamp;
  r.values = rec.values;
  return Describe(r);
}

TEST_P(OnlineStoreConformance, ConditionalWriteRule) {
  OnlineView view = UserView();
  auto w = MustWrite(*store_, view, {UserRecord(1, 100, 0, "fr", 1.0)});
  EXPECT_EQ(w.written, 1);
  EXPECT_EQ(w.skipped, 0);

  // Older event time: skipped.
  w = MustWrite(*store_, view, {UserRecord(1, 99, 50, "de", 2.0)});
  EXPECT_EQ(w.written, 0);
  EXPECT_EQ(w.skipped, 1);
  // The same record again: not newer, skipped.
  w = MustWrite(*store_, view, {UserRecord(1, 100, 0, "fr", 1.0)});
  EXPECT_EQ(w.skipped, 1);
  // Equal (event, created), other values: the greater tie key wins.
  const bool es_wins =
      TieKey(view, UserRecord(1, 100, 0, "es", 3.0)) > TieKey(view, UserRecord(1, 100, 0, "fr", 1.0));
  w = MustWrite(*store_, view, {UserRecord(1, 100, 0, "es", 3.0)});
  EXPECT_EQ(w.written, es_wins ? 1 : 0);
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]),
            es_wins ? "ev=100 cr=0 String(\"es\") Float64(3)"
                    : "ev=100 cr=0 String(\"fr\") Float64(1)");

  // Same event time, later created time: newer.
  w = MustWrite(*store_, view, {UserRecord(1, 100, 1, "it", 4.0)});
  EXPECT_EQ(w.written, 1);
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]),
            "ev=100 cr=1 String(\"it\") Float64(4)");
  // Later event time with an earlier created time: newer (event time first).
  w = MustWrite(*store_, view, {UserRecord(1, 101, 0, "pt", 5.0)});
  EXPECT_EQ(w.written, 1);
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]),
            "ev=101 cr=0 String(\"pt\") Float64(5)");
}

TEST_P(OnlineStoreConformance, NegativeTimestampsOrderCorrectly) {
  OnlineView view = UserView();
  MustWrite(*store_, view, {UserRecord(1, -5, 0, "a", 1)});
  EXPECT_EQ(MustWrite(*store_, view, {UserRecord(1, -6, 0, "b", 1)}).skipped, 1);
  EXPECT_EQ(MustWrite(*store_, view, {UserRecord(1, 0, -1, "c", 1)}).written, 1);
  EXPECT_EQ(MustRead(*store_, view, {User(1)})[0].event_timestamp, 0);
}

TEST_P(OnlineStoreConformance, SameKeyTwiceInOneBatchAppliesInOrder) {
  OnlineView view = UserView();
  auto w = MustWrite(*store_, view,
                     {UserRecord(1, 10, 0, "a", 1), UserRecord(2, 10, 0, "x", 1),
                      UserRecord(1, 30, 0, "c", 3), UserRecord(1, 20, 0, "b", 2),
                      UserRecord(1, 30, 0, "c", 3)});
  // 1@10 lands, 2@10 lands, 1@30 lands, 1@20 and the same 1@30 are skipped.
  EXPECT_EQ(w.written, 3);
  EXPECT_EQ(w.skipped, 2);
  auto got = MustRead(*store_, view, {User(1), User(2)});
  EXPECT_EQ(Describe(got[0]), "ev=30 cr=0 String(\"c\") Float64(3)");
  EXPECT_EQ(Describe(got[1]), "ev=10 cr=0 String(\"x\") Float64(1)");
}

// Replays of the same history in shuffled orders and batchings end in the
// same state: the latest (event, created) per key.
TEST_P(OnlineStoreConformance, ShuffledReplaysConverge) {
  OnlineView view = UserView();
  std::mt19937 rng(7);
  std::vector<OnlineRecord> history;
  std::map<int64_t, std::tuple<int64_t, int64_t, size_t>> latest;  // id -> (ev, cr, index)
  for (int i = 0; i < 600; ++i) {
    int64_t id = rng() % 60;
    int64_t ev = rng() % 8;  // few timestamps: many ties
    int64_t cr = rng() % 3;
    // One (key, ev, cr) always carries the same values.
    history.push_back(UserRecord(id, ev, cr, "c" + std::to_string(id * 100 + ev * 10 + cr),
                                 static_cast<double>(ev * 10 + cr)));
  }
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& r = history[i];
    int64_t id = r.entity_key.values[0].int64_value();
    auto it = latest.find(id);
    if (it == latest.end() ||
        std::tie(r.event_timestamp, r.created_timestamp) >
            std::tie(std::get<0>(it->second), std::get<1>(it->second))) {
      latest[id] = {r.event_timestamp, r.created_timestamp, i};
    }
  }
  std::vector<EntityKey> keys;
  for (int64_t id = 0; id < 61; ++id) keys.push_back(User(id));  // 60 never written

  std::vector<std::string> expected;
  for (int64_t id = 0; id < 61; ++id) {
    auto it = latest.find(id);
    if (it == latest.end()) {
      expected.push_back("not found");
      continue;
    }
    expected.push_back(DescribeFound(history[std::get<2>(it->second)]));
  }

  for (int round = 0; round < 4; ++round) {
    std::vector<OnlineRecord> shuffled = history;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    int64_t written = 0, skipped = 0;
    for (size_t start = 0; start < shuffled.size();) {
      size_t len = 1 + rng() % 97;
      len = std::min(len, shuffled.size() - start);
      auto w = MustWrite(*store_, view,
                         std::vector<OnlineRecord>(shuffled.begin() + start,
                                                   shuffled.begin() + start + len));
      written += w.written;
      skipped += w.skipped;
      start += len;
    }
    EXPECT_EQ(written + skipped, static_cast<int64_t>(history.size()));
    auto got = MustRead(*store_, view, keys);
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(Describe(got[i]), expected[i]) << "round " << round << " user " << i;
    }
    // A second replay of the same order changes nothing and writes nothing.
    auto again = MustWrite(*store_, view, shuffled);
    EXPECT_EQ(again.written, 0);
    ASSERT_TRUE(store_->DeleteView(view.name()).ok());
  }
}

// Several different rows per (key, event, created): every order and batching
// stores the same record per key, the greatest in the total order (event,
// created, tie key), which is independent of write order.
TEST_P(OnlineStoreConformance, TiedRecordsConvergeInEveryOrder) {
  OnlineView view = UserView();
  std::mt19937 rng(13);
  std::vector<OnlineRecord> history;
  for (int64_t id = 0; id < 40; ++id) {
    const int64_t ev = 1000 + static_cast<int64_t>(rng() % 3);
    const int64_t cr = static_cast<int64_t>(rng() % 2);
    // Older rows, and 2 to 5 rows tied at the latest (ev, cr).
    history.push_back(UserRecord(id, ev - 1, 5, "old", 0));
    const int ties = 2 + static_cast<int>(rng() % 4);
    for (int t = 0; t < ties; ++t) {
      history.push_back(UserRecord(id, ev, cr, "t" + std::to_string(rng() % 1000),
                                   static_cast<double>(rng() % 100) / 4));
    }
  }
  // The expected winner per key, by the order itself (not by a backend).
  std::map<int64_t, std::tuple<int64_t, int64_t, uint64_t, size_t>> best;
  for (size_t i = 0; i < history.size(); ++i) {
    const OnlineRecord& r = history[i];
    auto key = std::make_tuple(r.event_timestamp, r.created_timestamp, TieKey(view, r), i);
    auto [it, inserted] = best.try_emplace(r.entity_key.values[0].int64_value(), key);
    if (!inserted && std::tie(std::get<0>(key), std::get<1>(key), std::get<2>(key)) >
                         std::tie(std::get<0>(it->second), std::get<1>(it->second),
                                  std::get<2>(it->second))) {
      it->second = key;
    }
  }
  std::vector<EntityKey> keys;
  std::vector<std::string> expected;
  for (const auto& [id, b] : best) {
    keys.push_back(User(id));
    expected.push_back(DescribeFound(history[std::get<3>(b)]));
  }
  for (int round = 0; round < 5; ++round) {
    std::vector<OnlineRecord> shuffled = history;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (size_t start = 0; start < shuffled.size();) {
      const size_t len = std::min<size_t>(1 + rng() % 31, shuffled.size() - start);
      MustWrite(*store_, view,
                std::vector<OnlineRecord>(shuffled.begin() + start,
                                          shuffled.begin() + start + len));
      start += len;
    }
    auto got = MustRead(*store_, view, keys);
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(Describe(got[i]), expected[i]) << "round " << round << " key " << i;
    }
    EXPECT_EQ(MustWrite(*store_, view, shuffled).written, 0);  // nothing beats the winners
    ASSERT_TRUE(store_->DeleteView(view.name()).ok());
  }
}

TEST_P(OnlineStoreConformance, ConcurrentWritersConverge) {
  OnlineView view = UserView();
  std::vector<OnlineRecord> history;
  for (int64_t ev = 0; ev < 50; ++ev) {
    for (int64_t id = 0; id < 20; ++id) {
      history.push_back(UserRecord(id, ev, 0, "v" + std::to_string(ev), static_cast<double>(ev)));
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<OnlineRecord> mine = history;
      std::shuffle(mine.begin(), mine.end(), rng);
      for (size_t start = 0; start < mine.size(); start += 25) {
        std::vector<OnlineRecord> batch(mine.begin() + start,
                                        mine.begin() + std::min(start + 25, mine.size()));
        auto w = store_->Write(view, batch);
        EXPECT_TRUE(w.ok()) << w.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<EntityKey> keys;
  for (int64_t id = 0; id < 20; ++id) keys.push_back(User(id));
  for (const auto& r : MustRead(*store_, view, keys)) {
    EXPECT_EQ(Describe(r), "ev=49 cr=0 String(\"v49\") Float64(49)");
  }
}

TEST_P(OnlineStoreConformance, MultiGetWithMissingAndRepeatedKeys) {
  OnlineView view = UserView();
  MustWrite(*store_, view, {UserRecord(1, 10, 0, "a", 1), UserRecord(3, 30, 0, "c", 3)});
  auto got = MustRead(*store_, view, {User(3), User(2), User(1), User(3), User(99)});
  EXPECT_EQ(Describe(got[0]), "ev=30 cr=0 String(\"c\") Float64(3)");
  EXPECT_EQ(got[1].state, OnlineRecordState::kNotFound);
  EXPECT_TRUE(got[1].values.empty());
  EXPECT_EQ(Describe(got[2]), "ev=10 cr=0 String(\"a\") Float64(1)");
  EXPECT_EQ(Describe(got[3]), Describe(got[0]));
  EXPECT_EQ(got[4].state, OnlineRecordState::kNotFound);
  EXPECT_TRUE(MustRead(*store_, view, {}).empty());
  // An Int32 key finds what an Int64 key wrote.
  EXPECT_EQ(MustRead(*store_, view, {{{"user_id"}, {Value::Int32(1)}}})[0].state,
            OnlineRecordState::kFound);
}

TEST_P(OnlineStoreConformance, MultiGetViewsMatchesMultiGetPerView) {
  OnlineView a = UserView();
  OnlineView b("book_features", {{"language", {ScalarType::kString, false}}});
  OnlineView c("empty_view", a.features());
  MustWrite(*store_, a, {UserRecord(1, 10, 0, "a", 1), UserRecord(2, 20, 0, "b", 2)});
  EntityKey book{{"isbn"}, {Value::String("0439")}};
  MustWrite(*store_, b, {{book, 5, 1, {Value::String("en")}}});
  std::vector<EntityKey> user_keys = {User(2), User(3), User(1)};
  std::vector<EntityKey> book_keys = {book, {{"isbn"}, {Value::String("none")}}};
  std::vector<OnlineReadResult> ra, rb, rc = {OnlineReadResult{}};
  std::vector<OnlineViewRead> reads = {
      {&a, user_keys, &ra}, {&b, book_keys, &rb}, {&c, {}, &rc}};
  Status s = store_->MultiGetViews(reads);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(ra.size(), 3u);
  ASSERT_EQ(rb.size(), 2u);
  EXPECT_TRUE(rc.empty());
  auto one_a = MustRead(*store_, a, user_keys);
  auto one_b = MustRead(*store_, b, book_keys);
  for (size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(Describe(ra[i]), Describe(one_a[i]));
  for (size_t i = 0; i < rb.size(); ++i) EXPECT_EQ(Describe(rb[i]), Describe(one_b[i]));
  EXPECT_EQ(Describe(rb[0]), "ev=5 cr=1 String(\"en\")");
  EXPECT_EQ(rb[1].state, OnlineRecordState::kNotFound);
  EXPECT_EQ(ra[1].state, OnlineRecordState::kNotFound);
}

TEST_P(OnlineStoreConformance, EveryDtypeWithArraysAndNulls) {
  std::vector<OnlineFeature> features;
  for (int s = 0; s <= static_cast<int>(ScalarType::kUnixTimestamp); ++s) {
    features.push_back({"s" + std::to_string(s), {static_cast<ScalarType>(s), false}});
    features.push_back({"a" + std::to_string(s), {static_cast<ScalarType>(s), true}});
  }
  OnlineView view("all_types", features);
  std::vector<Value> full = {
      Value::Int32(-2147483647 - 1), Value::Int32Array({1, -2, 3}),
      Value::Int64(9007199254740993), Value::Int64Array({-1}),
      Value::Float32(3.5f), Value::Float32Array({-0.25f, 1e30f}),
      Value::Float64(-1e-300), Value::Float64Array({}),
      Value::String("héllo"), Value::StringArray({"", "a", std::string(1000, 'b')}),
      Value::Bytes(std::string("\0\x01\xff", 3)), Value::BytesArray({std::string("\0", 1)}),
      Value::Bool(false), Value::BoolArray({true, false, true}),
      Value::UnixTimestamp(-62135596800000000), Value::UnixTimestampArray({0, 1})};
  std::vector<Value> nulls(features.size());
  std::vector<Value> mixed = full;
  for (size_t i = 0; i < mixed.size(); i += 3) mixed[i] = Value();
  std::vector<EntityKey> keys = {
      {{"isbn"}, {Value::String("0439064872")}},
      {{"user_id", "isbn"}, {Value::Int64(5), Value::String("x")}},
      {{"flag", "when", "score", "raw", "n32"},
       {Value::Bool(true), Value::UnixTimestamp(7), Value::Float64(0.5), Value::Bytes("\xff"),
        Value::Int32(-1)}},
  };
  std::vector<OnlineRecord> records = {{keys[0], 1, 2, full}, {keys[1], 3, 4, nulls},
                                       {keys[2], 5, 6, mixed}};
  EXPECT_EQ(MustWrite(*store_, view, records).written, 3);
  // Join keys in another order are the same entity.
  std::vector<EntityKey> reordered = {
      keys[0],
      {{"isbn", "user_id"}, {Value::String("x"), Value::Int64(5)}},
      keys[2],
  };
  auto got = MustRead(*store_, view, reordered);
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(got[i].state, OnlineRecordState::kFound) << i;
    EXPECT_EQ(got[i].event_timestamp, records[i].event_timestamp);
    EXPECT_EQ(got[i].created_timestamp, records[i].created_timestamp);
    EXPECT_EQ(got[i].values, records[i].values) << i;
  }
}

TEST_P(OnlineStoreConformance, ViewsDoNotShareRecords) {
  OnlineView a = UserView();
  OnlineView b("user_features_2", a.features());
  MustWrite(*store_, a, {UserRecord(1, 10, 0, "a", 1)});
  EXPECT_EQ(MustRead(*store_, b, {User(1)})[0].state, OnlineRecordState::kNotFound);
  EXPECT_EQ(MustWrite(*store_, b, {UserRecord(1, 5, 0, "b", 2)}).written, 1);
  EXPECT_EQ(MustRead(*store_, a, {User(1)})[0].event_timestamp, 10);
}

TEST_P(OnlineStoreConformance, DeleteViewLeavesOtherViews) {
  OnlineView a = UserView();
  OnlineView b("user_features_x", a.features());
  OnlineView c("user", a.features());  // a name that is a prefix of a's
  MustWrite(*store_, a, {UserRecord(1, 10, 0, "a", 1), UserRecord(2, 10, 0, "a", 1)});
  MustWrite(*store_, b, {UserRecord(1, 10, 0, "b", 1)});
  MustWrite(*store_, c, {UserRecord(1, 10, 0, "c", 1)});
  ASSERT_TRUE(store_->DeleteView(a.name()).ok());
  ASSERT_TRUE(store_->DeleteView("never_written").ok());
  auto got = MustRead(*store_, a, {User(1), User(2)});
  EXPECT_EQ(got[0].state, OnlineRecordState::kNotFound);
  EXPECT_EQ(got[1].state, OnlineRecordState::kNotFound);
  EXPECT_EQ(MustRead(*store_, b, {User(1)})[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(MustRead(*store_, c, {User(1)})[0].state, OnlineRecordState::kFound);
  // After a delete, an older record lands as into a new view.
  EXPECT_EQ(MustWrite(*store_, a, {UserRecord(1, 1, 0, "old", 0)}).written, 1);
}

TEST_P(OnlineStoreConformance, DeleteRemovesOnlyTheGivenKeys) {
  OnlineView view = UserView();
  OnlineView other("other_features", {{"country", {ScalarType::kString, false}},
                                      {"rating", {ScalarType::kFloat64, false}}});
  MustWrite(*store_, view,
            {UserRecord(1, 100, 0, "a", 1), UserRecord(2, 100, 0, "b", 2),
             UserRecord(3, 100, 0, "c", 3)});
  MustWrite(*store_, other, {UserRecord(1, 100, 0, "z", 9)});
  // Read first, so that a backend's read cache holds user 1.
  EXPECT_EQ(MustRead(*store_, view, {User(1)})[0].state, OnlineRecordState::kFound);

  // Repeated and absent keys are fine.
  const std::vector<EntityKey> keys = {User(1), User(9), User(1)};
  Status deleted = store_->Delete(view, keys);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  auto got = MustRead(*store_, view, {User(1), User(2), User(3), User(9)});
  EXPECT_EQ(Describe(got[0]), "not found");
  EXPECT_EQ(Describe(got[1]), "ev=100 cr=0 String(\"b\") Float64(2)");
  EXPECT_EQ(Describe(got[2]), "ev=100 cr=0 String(\"c\") Float64(3)");
  EXPECT_EQ(Describe(got[3]), "not found");
  // Another view's record of the same key stays.
  EXPECT_EQ(Describe(MustRead(*store_, other, {User(1)})[0]),
            "ev=100 cr=0 String(\"z\") Float64(9)");
  Reopen();
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]), "not found");

  // No tombstone: an older record than the deleted one lands.
  auto w = MustWrite(*store_, view, {UserRecord(1, 50, 0, "old", 0.5)});
  EXPECT_EQ(w.written, 1);
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]),
            "ev=50 cr=0 String(\"old\") Float64(0.5)");

  // A bad key deletes nothing; no keys, or a view never written, is fine.
  const std::vector<EntityKey> bad = {User(2), EntityKey{}};
  EXPECT_EQ(store_->Delete(view, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MustRead(*store_, view, {User(2)})[0].state, OnlineRecordState::kFound);
  EXPECT_TRUE(store_->Delete(view, {}).ok());
  OnlineView never("never_written", {{"x", {ScalarType::kInt64, false}}});
  deleted = store_->Delete(never, keys);
  EXPECT_TRUE(deleted.ok()) << deleted.ToString();
}

TEST_P(OnlineStoreConformance, DeleteOfManyKeysSpansBatches) {
  // More keys than one DynamoDB BatchWriteItem (25) or Redis command holds.
  OnlineView view = UserView();
  std::vector<OnlineRecord> records;
  std::vector<EntityKey> even;
  for (int64_t id = 0; id < 120; ++id) {
    records.push_back(UserRecord(id, 10, 0, "x", static_cast<double>(id)));
    if (id % 2 == 0) even.push_back(User(id));
  }
  MustWrite(*store_, view, records);
  Status deleted = store_->Delete(view, even);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  std::vector<EntityKey> all;
  for (int64_t id = 0; id < 120; ++id) all.push_back(User(id));
  auto got = MustRead(*store_, view, all);
  for (int64_t id = 0; id < 120; ++id) {
    EXPECT_EQ(got[id].state, id % 2 == 0 ? OnlineRecordState::kNotFound : OnlineRecordState::kFound)
        << "user " << id;
  }
}

TEST_P(OnlineStoreConformance, DeleteProjectLeavesOtherProjects) {
  OnlineView view = UserView();
  MustWrite(*store_, view, {UserRecord(1, 10, 0, "mine", 1)});
  const std::string other_project = project_ + "_other";
  store_.reset();  // RocksDB admits one opener per directory
  {
    auto other = OpenStore(other_project);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(MustRead(*other, view, {User(1)})[0].state, OnlineRecordState::kNotFound);
    MustWrite(*other, view, {UserRecord(1, 5, 0, "theirs", 2)});
  }
  Reopen();
  ASSERT_TRUE(store_->DeleteProject().ok());
  EXPECT_EQ(MustRead(*store_, view, {User(1)})[0].state, OnlineRecordState::kNotFound);
  store_.reset();
  {
    auto other = OpenStore(other_project);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(Describe(MustRead(*other, view, {User(1)})[0]),
              "ev=5 cr=0 String(\"theirs\") Float64(2)");
    EXPECT_TRUE(other->DeleteProject().ok());
  }
  Reopen();
}

TEST_P(OnlineStoreConformance, ReopenKeepsData) {
  OnlineView view = UserView();
  MustWrite(*store_, view, {UserRecord(1, 10, 2, "a", 1.5)});
  Reopen();
  EXPECT_EQ(Describe(MustRead(*store_, view, {User(1)})[0]),
            "ev=10 cr=2 String(\"a\") Float64(1.5)");
  // The conditional rule still holds against what was persisted.
  EXPECT_EQ(MustWrite(*store_, view, {UserRecord(1, 10, 1, "b", 0)}).skipped, 1);
  EXPECT_EQ(MustWrite(*store_, view, {UserRecord(1, 10, 2, "a", 1.5)}).skipped, 1);
}

TEST_P(OnlineStoreConformance, SchemaChangeIsDetectedAndReplaced) {
  OnlineView v1 = UserView();
  MustWrite(*store_, v1, {UserRecord(1, 10, 0, "a", 1)});
  OnlineView v2("user_features", {{"country", {ScalarType::kString, false}},
                                  {"rating", {ScalarType::kFloat64, false}},
                                  {"age", {ScalarType::kInt64, false}}});
  EXPECT_EQ(MustRead(*store_, v2, {User(1)})[0].state, OnlineRecordState::kSchemaMismatch);
  // The same timestamps under the new schema replace the old record.
  auto w = MustWrite(*store_, v2,
                     {{User(1), 10, 0, {Value::String("a"), Value::Float64(1), Value::Int64(30)}}});
  EXPECT_EQ(w.written, 1);
  EXPECT_EQ(Describe(MustRead(*store_, v2, {User(1)})[0]),
            "ev=10 cr=0 String(\"a\") Float64(1) Int64(30)");
}

TEST_P(OnlineStoreConformance, BadBatchWritesNothing) {
  OnlineView view = UserView();
  std::vector<OnlineRecord> batch = {UserRecord(1, 10, 0, "a", 1),
                                     {User(2), 10, 0, {Value::String("b")}}};
  auto w = store_->Write(view, batch);
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("record 1"), std::string::npos) << w.status().ToString();
  batch[1] = {User(2), 10, 0, {Value::Int64(3), Value::Float64(1)}};
  EXPECT_EQ(store_->Write(view, batch).status().code(), StatusCode::kInvalidArgument);
  batch[1] = {{{"user_id"}, {Value()}}, 10, 0, {Value(), Value()}};
  EXPECT_EQ(store_->Write(view, batch).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MustRead(*store_, view, {User(1)})[0].state, OnlineRecordState::kNotFound);
  std::vector<OnlineReadResult> out;
  EXPECT_EQ(store_->MultiGet(view, std::vector<EntityKey>{{}}, &out).code(),
            StatusCode::kInvalidArgument);
  auto empty = store_->Write(view, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->written + empty->skipped, 0);
}

}  // namespace
}  // namespace larder::testing
