// Aggregation states on every backend that holds them: events applied from
// several threads at once, in random batches and orders, read back equal to
// the brute-force reference; applying them again changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aggregation/online_tiles.h"
#include "support/dynalite_server.h"
#include "support/redis_server.h"
#include "support/reference_aggregates.h"
#include "support/test_util.h"

namespace larder {
namespace {

using aggregation::EntityEvents;
using aggregation::Event;

constexpr int64_t kMin = Duration::kMinute;
constexpr int64_t kHour = Duration::kHour;
constexpr int64_t kDay = Duration::kDay;
constexpr TimestampMicros kBase = 1'704'067'200'000'000;

FeatureView View() {
  FeatureView v;
  v.name = "agg";
  v.aggregation_interval.micros = 10 * kMin;
  auto add = [&](AggregationFunction f, int64_t window, int64_t n = 0) {
    Aggregation a;
    a.column = "x";
    a.column_dtype = {ScalarType::kInt64, false};
    a.function = f;
    a.n = n;
    a.lifetime = window == 0;
    a.window.micros = window;
    a.name = AggregationDefaultName(a);
    v.aggregations.push_back(a);
  };
  for (int64_t w : {kHour, kDay, int64_t{0}}) {
    add(AggregationFunction::kCount, w);
    add(AggregationFunction::kSum, w);
    add(AggregationFunction::kLastN, w, 3);
    add(AggregationFunction::kCountDistinct, w);
  }
  return v;
}

class AggregationBackends : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<OnlineStore> Open() {
    OnlineStoreOptions o;
    o.project = "aggbackends";
    if (GetParam() == "dynamodb") {
      testing::DynaliteServer::SetFakeCredentials();
      std::string error;
      testing::DynaliteServer* server = testing::DynaliteServer::Shared(&error);
      EXPECT_NE(server, nullptr) << error;
      if (server == nullptr) return nullptr;
      o.config = {"dynamodb", {{"endpoint_url", server->endpoint_url()}}};
    } else if (GetParam() == "redis") {
      std::string error;
      testing::RedisServer* server = testing::RedisServer::Shared(&error);
      EXPECT_NE(server, nullptr) << error;
      if (server == nullptr) return nullptr;
      o.config = {"redis", {{"host", server->host()}, {"port", std::to_string(server->port())}}};
    } else {
      o.config = {"rocksdb", {{"path", dir_.Join("online")}}};
    }
    auto store = OnlineStore::Open(o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  testing::TempDir dir_;
};

TEST_P(AggregationBackends, ConcurrentWritersConvergeToTheReference) {
  std::unique_ptr<OnlineStore> store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SupportsStates());
  ASSERT_TRUE(store->DeleteView("agg").ok());
  const FeatureView view = View();
  auto layout = aggregation::TileLayout::ForView(view);
  ASSERT_TRUE(layout.ok());

  std::mt19937_64 rng(11);
  std::vector<std::pair<int64_t, Event>> events;  // (user, event)
  for (int i = 0; i < 3000; ++i) {
    const int64_t user = 1 + static_cast<int64_t>(rng() % 5);
    events.push_back({user, aggregation::MakeEvent(
                                kBase + static_cast<int64_t>(rng() % (2 * kDay)),
                                {Value::Int64(static_cast<int64_t>(rng() % 7))})});
  }
  const TimestampMicros now = kBase + 2 * kDay;
  auto batch_of = [](const std::vector<std::pair<int64_t, Event>>& part) {
    std::vector<EntityEvents> batch;
    for (const auto& [user, e] : part) {
      EntityEvents one;
      one.key = {{"user_id"}, {Value::Int64(user)}};
      one.events = {e};
      batch.push_back(std::move(one));
    }
    return batch;
  };
  // Four writers on the same keys at once, in random batches. First each
  // applies its own quarter of the events (a lost update loses events), then
  // each applies all of them again (nothing may count twice).
  auto run_writers = [&](bool everything) {
    std::vector<std::thread> writers;
    std::vector<Status> results(4);
    std::atomic<int> ready{0};
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        std::mt19937_64 own(static_cast<uint64_t>(w) + (everything ? 100 : 0));
        std::vector<std::pair<int64_t, Event>> mine;
        for (size_t i = 0; i < events.size(); ++i) {
          if (everything || i % 4 == static_cast<size_t>(w)) mine.push_back(events[i]);
        }
        std::shuffle(mine.begin(), mine.end(), own);
        ready.fetch_add(1);
        while (ready.load() < 4) std::this_thread::yield();  // start together
        for (size_t b = 0; b < mine.size();) {
          const size_t e = std::min(mine.size(), b + 1 + own() % 20);
          std::vector<std::pair<int64_t, Event>> part(
              mine.begin() + static_cast<std::ptrdiff_t>(b),
              mine.begin() + static_cast<std::ptrdiff_t>(e));
          Status s = aggregation::ApplyEvents(*store, "agg", *layout, batch_of(part), now);
          if (!s.ok()) {
            results[static_cast<size_t>(w)] = s;
            return;
          }
          b = e;
        }
      });
    }
    for (std::thread& t : writers) t.join();
    for (const Status& s : results) ASSERT_TRUE(s.ok()) << s.ToString();
  };

  std::vector<EntityKey> keys;
  for (int64_t user = 1; user <= 6; ++user) keys.push_back({{"user_id"}, {Value::Int64(user)}});
  std::vector<std::vector<Value>> got;
  auto expect_reference = [&](const std::string& when) {
    ASSERT_TRUE(aggregation::ReadAggregates(*store, "agg", *layout, keys, now, &got).ok());
    for (int64_t user = 1; user <= 6; ++user) {
      std::vector<Event> own;
      for (const auto& [u, e] : events) {
        if (u == user) own.push_back(e);
      }
      const std::vector<Value> want = aggregation::ReferenceAggregates(view, own, now);
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_TRUE(aggregation::AggregatesAgree(want[i], got[static_cast<size_t>(user - 1)][i]))
            << when << ", user " << user << " " << view.aggregations[i].name << ": want "
            << want[i].DebugString() << " got "
            << got[static_cast<size_t>(user - 1)][i].DebugString();
      }
    }
  };
  run_writers(false);
  expect_reference("each event once");
  run_writers(true);
  expect_reference("every event four more times");
  // DeleteView removes the states with the view.
  ASSERT_TRUE(store->DeleteView("agg").ok());
  ASSERT_TRUE(aggregation::ReadAggregates(*store, "agg", *layout, keys, now, &got).ok());
  EXPECT_EQ(got[0][0], Value::Int64(0));
}

INSTANTIATE_TEST_SUITE_P(Stores, AggregationBackends,
                         ::testing::Values("rocksdb", "redis", "dynamodb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace larder
