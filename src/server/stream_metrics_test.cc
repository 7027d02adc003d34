#include "server/stream_metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace larder::server {
namespace {

StreamProgress Progress(int64_t records, int64_t behind_ms, int64_t arrival_ms) {
  StreamProgress p;
  StreamShardProgress s;
  s.source = "rat\"ings";
  s.shard = "shardId-0";
  s.records = records;
  s.dead_letters = 2;
  s.millis_behind_latest = behind_ms;
  s.last_arrival_ms = arrival_ms;
  s.checkpointed_at_ms = 1'700'000'000'500;
  p.shards.push_back(s);
  p.views.push_back({"agg", records - 2, 0});
  return p;
}

TEST(StreamMetrics, RendersEachShardAndViewWithEscapedLabels) {
  StreamMetrics m;
  m.SetRunning(true);
  m.Update(Progress(100, 0, 1'700'000'000'000));
  const std::string text = m.Render(1'700'000'001'000);
  const std::string labels = "{source=\"rat\\\"ings\",shard=\"shardId-0\"}";
  EXPECT_NE(text.find("larder_stream_running 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("larder_stream_records_total" + labels + " 100\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("larder_stream_dead_letters_total" + labels + " 2\n"), std::string::npos);
  EXPECT_NE(text.find("larder_stream_last_checkpoint_timestamp_seconds" + labels +
                      " 1700000000.5\n"),
            std::string::npos)
      << text;
  // Caught up: no iterator age.
  EXPECT_NE(text.find("larder_stream_iterator_age_milliseconds" + labels + " 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("larder_stream_view_rows_total{view=\"agg\",outcome=\"written\"} 98\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE larder_stream_records_total counter\n"), std::string::npos);
}

TEST(StreamMetrics, IteratorAgeCountsFromTheLastArrivalWhileBehind) {
  StreamMetrics m;
  m.Update(Progress(10, 5'000, 1'700'000'000'000));
  const std::string text = m.Render(1'700'000'003'250);
  EXPECT_NE(text.find("larder_stream_iterator_age_milliseconds{source=\"rat\\\"ings\",shard="
                      "\"shardId-0\"} 3250\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("larder_stream_millis_behind_latest{source=\"rat\\\"ings\",shard="
                      "\"shardId-0\"} 5000\n"),
            std::string::npos);
  EXPECT_NE(text.find("larder_stream_running 0\n"), std::string::npos);
}

TEST(StreamMetrics, RateFollowsTheRecordsReadSinceTheFirstSample) {
  StreamMetrics m;
  m.Update(Progress(0, 0, 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  m.Update(Progress(1000, 0, 0));
  const std::string text = m.Render();
  const std::string key = "larder_stream_records_per_second{source=\"rat\\\"ings\",shard=\"shardId-0\"} ";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos) << text;
  const double rate = std::stod(text.substr(at + key.size()));
  EXPECT_GT(rate, 1000.0);  // 1,000 records over a bit more than 0.2 s
  EXPECT_LT(rate, 5000.0);
}

}  // namespace
}  // namespace larder::server
