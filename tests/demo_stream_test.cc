// `larder demo-stream` against a real kinesalite, and the consistency proof
// of stream ingestion: the example's ratings replayed through kinesalite into
// `larder stream` (no materialization) give online aggregation values equal,
// value for value, to `larder historical` at the same instant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "stream/kinesis/kinesis_client.h"
#include "support/kinesalite_server.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::KinesaliteServer;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDay = 86'400 * kSecond;

const std::vector<std::string> kFeatures = {
    "agg_user_features_1d:avg_day_user_rating", "agg_user_features_1d:count_day_user_rating",
    "agg_user_features_1d:avg_week_user_rating", "agg_user_features_1d:count_week_user_rating"};

TimestampMicros Now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "YYYY-MM-DDTHH:MM:SSZ" of a time at whole seconds.
std::string Iso(TimestampMicros t) {
  const time_t secs = static_cast<time_t>(t / kSecond);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void SetTestCredentials() {
  setenv("AWS_ACCESS_KEY_ID", "AKIDLARDERTEST", /*overwrite=*/0);
  setenv("AWS_SECRET_ACCESS_KEY", "larder-test-secret", /*overwrite=*/0);
}

void ReplaceOnce(std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

// The book_recs example, its kinesis source pointed at `endpoint` and
// `stream`, with demo data at `scale` ending at `end`, applied.
struct ExampleRepo {
  TempDir dir;
  std::string repo;
  ExampleRepo(const std::string& endpoint, const std::string& stream, double scale,
              TimestampMicros end) {
    repo = dir.Join("repo");
    CommandResult r = RunLarder("init " + repo + " --template book_recs");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string sources = testing::ReadFileText(repo + "/data_sources.yaml");
    ReplaceOnce(sources, "endpoint_url: http://127.0.0.1:4567", "endpoint_url: " + endpoint);
    ReplaceOnce(sources, "stream_name: book_ratings", "stream_name: " + stream);
    dir.Write("repo/data_sources.yaml", sources);
    r = Larder("demo-data --scale " + std::to_string(scale) + " --end " + Iso(end));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = Larder("apply");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  CommandResult Larder(const std::string& args) const { return RunLarder("-c " + repo + " " + args); }
  std::unique_ptr<FeatureStore> Open() const {
    FeatureStoreOptions o;
    o.repo_dir = repo;
    auto fs = FeatureStore::Open(o);
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    return fs.ok() ? std::move(*fs) : nullptr;
  }
  std::vector<std::vector<Value>> Query(const std::string& sql, std::vector<ValueType> types) const {
    auto conn = duckdb::Connection::Open(":memory:");
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return {};
    auto rows = (*conn)->QueryValues(sql, "test", types);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<std::vector<Value>>{};
  }
  std::string Ratings() const {
    return "read_parquet(" + duckdb::QuoteLiteral(repo + "/data/raw/ratings.parquet") + ")";
  }
};

// Per user, the four features of agg_user_features_1d read online at `t`.
std::map<int64_t, std::vector<Value>> OnlineValues(FeatureStore& fs,
                                                   const std::vector<int64_t>& users,
                                                   TimestampMicros t) {
  OnlineFeaturesRequest req;
  req.features = kFeatures;
  for (int64_t u : users) req.entity_rows["user_id"].push_back(Value::Int64(u));
  OnlineReadOptions options;
  options.clock = [t] { return t; };
  auto got = fs.GetOnlineFeatures(req, options);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  std::map<int64_t, std::vector<Value>> out;
  if (!got.ok()) return out;
  for (size_t i = 0; i < users.size(); ++i) {
    for (const OnlineFeatureColumn& c : got->columns) {
      if (c.name != "user_id") out[users[i]].push_back(c.values[i]);
    }
  }
  return out;
}

// Per user, the same features from training data at `t`.
std::map<int64_t, std::vector<Value>> HistoricalValues(FeatureStore& fs, const ExampleRepo& repo,
                                                       const std::vector<int64_t>& users,
                                                       TimestampMicros t) {
  std::string list;
  for (int64_t u : users) list += (list.empty() ? "" : ", ") + std::to_string(u);
  HistoricalFeaturesRequest req;
  req.entity_sql = "SELECT unnest([" + list + "])::BIGINT AS user_id, TIMESTAMPTZ " +
                   duckdb::QuoteLiteral(duckdb::FormatTimestampMicros(t) + "+00") +
                   " AS event_timestamp";
  req.features = kFeatures;
  auto job = fs.GetHistoricalFeatures(req);
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  std::map<int64_t, std::vector<Value>> out;
  if (!job.ok()) return out;
  const std::string path = repo.dir.Join("historical.parquet");
  auto written = (*job)->WriteToFile(path);
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  const ValueType i64{ScalarType::kInt64}, f64{ScalarType::kFloat64};
  for (auto& row : repo.Query("SELECT user_id, avg_day_user_rating, count_day_user_rating, "
                              "avg_week_user_rating, count_week_user_rating FROM read_parquet(" +
                                  duckdb::QuoteLiteral(path) + ")",
                              {i64, f64, i64, f64, i64})) {
    out[row[0].int64_value()] = {row.begin() + 1, row.end()};
  }
  return out;
}

// The consistency proof (issue: "Proof: Consistency"). Every rating of a
// small example goes through kinesalite, some sent late and some twice, into
// `larder stream`; nothing is materialized. At one instant, online reads and
// training data agree on every value of agg_user_features_1d (nulls
// included) for 1,000 random users and for every user who rated in the
// last week.
TEST(KinesisDemoStream, ReplayedRatingsGiveOnlineValuesEqualToHistorical) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  SetTestCredentials();
  // The data ends at the last whole minute, so the windows at now hold a
  // full day and week of ratings whatever the time of day.
  const TimestampMicros end = Now() / (60 * kSecond) * (60 * kSecond);
  ExampleRepo repo(server->endpoint_url(), "ratings_consistency", 0.05, end);

  CommandResult put = repo.Larder(
      "demo-stream --rate 100000 --late-fraction 0.05 --duplicate-fraction 0.05 --shards 2");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto count = repo.Query("SELECT count(*)::BIGINT FROM " + repo.Ratings(), {{ScalarType::kInt64}});
  ASSERT_EQ(count.size(), 1u);
  const int64_t ratings = count[0][0].int64_value();
  EXPECT_THAT(put.out, HasSubstr(", " + std::to_string(ratings) + " rows of source 'ratings_source'"))
      << put.out;
  CommandResult streamed = repo.Larder("stream --until-idle");
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_THAT(streamed.out, HasSubstr(" 0 dead letters")) << streamed.out;

  // 1,000 random users, and every user with a rating in the last 8 days.
  const ValueType i64{ScalarType::kInt64};
  auto max_user = repo.Query("SELECT max(user_id)::BIGINT FROM read_parquet(" +
                                 duckdb::QuoteLiteral(repo.repo + "/data/raw/users.parquet") + ")",
                             {i64});
  ASSERT_EQ(max_user.size(), 1u);
  std::set<int64_t> chosen;
  std::mt19937_64 rng(15);
  std::uniform_int_distribution<int64_t> any_user(1, max_user[0][0].int64_value());
  const size_t random_users = std::min<int64_t>(1000, max_user[0][0].int64_value());
  while (chosen.size() < random_users) chosen.insert(any_user(rng));
  const TimestampMicros t = Now();
  for (const auto& row : repo.Query("SELECT DISTINCT user_id FROM " + repo.Ratings() +
                                        " WHERE rating_timestamp >= TIMESTAMPTZ " +
                                        duckdb::QuoteLiteral(Iso(t - 8 * kDay)),
                                    {i64})) {
    chosen.insert(row[0].int64_value());
  }
  const std::vector<int64_t> users(chosen.begin(), chosen.end());

  auto fs = repo.Open();
  ASSERT_NE(fs, nullptr);
  const auto online = OnlineValues(*fs, users, t);
  const auto historical = HistoricalValues(*fs, repo, users, t);
  ASSERT_EQ(online.size(), users.size());
  ASSERT_EQ(historical.size(), users.size());
  int differences = 0, day_values = 0, week_values = 0;
  for (int64_t u : users) {
    const std::vector<Value>& a = online.at(u);
    const std::vector<Value>& b = historical.at(u);
    ASSERT_EQ(a.size(), kFeatures.size());
    for (size_t f = 0; f < kFeatures.size(); ++f) {
      if (a[f] == b[f]) continue;
      if (++differences <= 10) {
        ADD_FAILURE() << "user " << u << " " << kFeatures[f] << ": online "
                      << a[f].DebugString() << ", historical " << b[f].DebugString();
      }
    }
    day_values += !b[0].is_null();
    week_values += !b[2].is_null();
  }
  EXPECT_EQ(differences, 0) << "of " << users.size() * kFeatures.size() << " values";
  // Not vacuous: ~47 ratings a day at this scale.
  EXPECT_GE(day_values, 15);
  EXPECT_GE(week_values, 150);
  std::printf("compared %zu users x %zu features: %d day means and %d week means non-null\n",
              users.size(), kFeatures.size(), day_values, week_values);
}

// Records carry the batch source's columns as JSON, the event time under
// the source's timestamp_field, keyed by user_id; --restamp-to-now moves
// them to end just before now; --duplicate-fraction 1 sends each twice.
TEST(KinesisDemoStream, SendsRecordsInTimeOrderRestampedAndDuplicated) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  SetTestCredentials();
  ExampleRepo repo(server->endpoint_url(), "ratings_restamp", 0.01,
                   Now() / kDay * kDay - 30 * kDay);
  const TimestampMicros before = Now() / kSecond * kSecond;
  CommandResult put = repo.Larder(
      "demo-stream --limit 40 --restamp-to-now --duplicate-fraction 1 --rate 1000 --shards 1");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_THAT(put.out, HasSubstr("Put 80 records (0 sent late, 40 duplicates)"));
  EXPECT_THAT(put.err, HasSubstr("created stream 'ratings_restamp' with 1 shard"));

  stream::KinesisClientOptions o;
  o.endpoint_url = server->endpoint_url();
  auto client = stream::KinesisClient::Open(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto shards = (*client)->ListShards("ratings_restamp");
  ASSERT_TRUE(shards.ok() && shards->size() == 1u);
  auto it = (*client)->GetShardIterator("ratings_restamp", (*shards)[0].shard_id,
                                        stream::ShardIteratorType::kTrimHorizon);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  auto got = (*client)->GetRecords(*it, 1000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->records.size(), 80u);

  // The 40 latest ratings, as the file has them, in event-time order.
  auto latest = repo.Query(
      "SELECT * FROM (SELECT user_id, isbn, rating, epoch_us(rating_timestamp) AS t FROM " +
          repo.Ratings() + " ORDER BY t DESC, user_id DESC, isbn DESC, rating DESC LIMIT 40) "
          "ORDER BY t, user_id, isbn, rating",
      {{ScalarType::kInt64}, {ScalarType::kString}, {ScalarType::kInt64}, {ScalarType::kInt64}});
  ASSERT_EQ(latest.size(), 40u);
  std::multiset<std::string> expected, sent;
  std::vector<TimestampMicros> times;
  for (const auto& r : latest) {
    expected.insert(std::to_string(r[0].int64_value()) + "|" + r[1].string_value() + "|" +
                    std::to_string(r[2].int64_value()));
  }
  for (const auto& rec : got->records) {
    auto j = nlohmann::json::parse(rec.data);
    ASSERT_EQ(j.size(), 4u) << rec.data;
    EXPECT_EQ(rec.partition_key, std::to_string(j["user_id"].get<int64_t>()));
    sent.insert(std::to_string(j["user_id"].get<int64_t>()) + "|" + j["isbn"].get<std::string>() +
                "|" + std::to_string(j["rating"].get<int64_t>()));
    TimestampMicros at = 0;
    ASSERT_TRUE(ParseIsoTimestamp(j["rating_timestamp"].get<std::string>(), &at)) << rec.data;
    times.push_back(at);
  }
  std::multiset<std::string> twice;
  for (const std::string& e : expected) twice.insert({e, e});
  EXPECT_EQ(sent, twice);
  // Restamped: the last event is one second before the command read the
  // clock; the spacing is the file's.
  const TimestampMicros last = *std::max_element(times.begin(), times.end());
  EXPECT_GE(last, before - 2 * kSecond);
  EXPECT_LE(last, Now());
  EXPECT_EQ(last - *std::min_element(times.begin(), times.end()),
            latest.back()[3].int64_value() - latest.front()[3].int64_value());
}

// A source with field_mapping and its own event-time field: demo-stream
// writes each column under the field the consumer maps back, nulls and all
// column types included, so every record lands and none is a dead letter.
// With two kinesis sources, --source chooses.
TEST(KinesisDemoStream, MappedFieldsRoundTripThroughTheConsumer) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  SetTestCredentials();
  TempDir dir;
  const std::string kinesis = "    type: kinesis\n    region: us-east-1\n    endpoint_url: " +
                              server->endpoint_url() + "\n    batch_source: events\n";
  dir.Write("feature_store.yaml",
            "project: mapped\nregistry: data/registry.db\nprovider: local\n"
            "online_store: {type: rocksdb, path: data/online}\n"
            "offline_store: {type: duckdb, path: data/offline.duckdb}\n");
  dir.Write("repo.yaml",
            "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
            "data_sources:\n"
            "  - {name: events, type: file, path: data/events.parquet, timestamp_field: ts}\n"
            "  - name: events_stream\n    stream_name: mapped_events\n" + kinesis +
            "    timestamp_field: event_time\n    field_mapping: {uid: user_id}\n"
            "  - name: other_stream\n    stream_name: mapped_other\n" + kinesis +
            "    timestamp_field: ts\n"
            "feature_views:\n"
            "  - name: agg\n    entities: [user]\n    source: events_stream\n"
            "    aggregation_interval: 10m\n    aggregations:\n"
            "      - {column: x, function: count, time_window: 1d, name: n}\n"
            "      - {column: x, function: sum, time_window: 1d, name: total}\n"
            "  - name: latest\n    entities: [user]\n    source: events_stream\n"
            "    schema: [{name: label, dtype: String}, {name: score, dtype: Float64}, "
            "{name: flag, dtype: Bool}]\n");
  // 60 events of 5 users over the last day (all before the last 10-minute
  // mark), one of every column type, with nulls.
  const TimestampMicros t = Now();
  const TimestampMicros mark = t / (600 * kSecond) * (600 * kSecond);
  dir.Write("data/.keep", "");
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::string events =
      "COPY (SELECT (i % 5 + 1)::BIGINT AS user_id, make_timestamptz(" +
      std::to_string(mark - 20 * 3600 * kSecond) +
      ") + to_seconds(i * 600) AS ts, (i * 7 % 11)::INTEGER AS x, "
      "CASE WHEN i % 4 = 0 THEN NULL ELSE 'l\"' || i END AS label, i / 3.0 AS score, "
      "i % 2 = 0 AS flag FROM range(60) t(i)) TO " +
      duckdb::QuoteLiteral(dir.Join("data/events.parquet")) + " (FORMAT parquet)";
  Status written = (*conn)->Execute(events, "test");
  ASSERT_TRUE(written.ok()) << written.ToString();
  const std::string c = "-c " + dir.path() + " ";
  CommandResult r = RunLarder(c + "apply");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunLarder(c + "demo-stream");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("several stream sources (events_stream, other_stream): choose "
                               "one with --source"));
  r = RunLarder(c + "demo-stream --source events_stream --rate 100000 --shards 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Put 60 records"));
  // --shards for a stream that exists with another count is refused.
  r = RunLarder(c + "demo-stream --source events_stream --limit 0 --shards 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("stream 'mapped_events' exists with 1 open shards; --shards 3 "
                               "applies only when the stream is created"));
  r = RunLarder(c + "stream --until-idle --sources events_stream");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Streamed 60 records"));
  EXPECT_THAT(r.out, HasSubstr(" 0 dead letters"));

  FeatureStoreOptions o;
  o.repo_dir = dir.path();
  auto fs = FeatureStore::Open(o);
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  OnlineFeaturesRequest req;
  req.features = {"agg:n", "agg:total", "latest:label", "latest:score", "latest:flag"};
  for (int64_t u = 1; u <= 5; ++u) req.entity_rows["user_id"].push_back(Value::Int64(u));
  OnlineReadOptions read;
  read.clock = [t] { return t; };
  auto got = (*fs)->GetOnlineFeatures(req, read);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  // Per user u (i % 5 == u - 1): 12 events; the latest is i = 55 + u - 1.
  for (int64_t u = 1; u <= 5; ++u) {
    int64_t total = 0;
    for (int64_t i = u - 1; i < 60; i += 5) total += i * 7 % 11;
    const int64_t last = 55 + u - 1;
    std::map<std::string, Value> want = {
        {"n", Value::Int64(12)},
        {"total", Value::Int64(total)},
        {"label", last % 4 == 0 ? Value::Null() : Value::String("l\"" + std::to_string(last))},
        {"score", Value::Float64(static_cast<double>(last) / 3.0)},
        {"flag", Value::Bool(last % 2 == 0)}};
    for (const OnlineFeatureColumn& col : got->columns) {
      if (col.name == "user_id") continue;
      EXPECT_EQ(col.values[u - 1], want.at(col.name))
          << "user " << u << " " << col.name << ": " << col.values[u - 1].DebugString();
    }
  }
}

TEST(KinesisDemoStream, RefusesBadFlagsUnknownSourcesAndUnreachableEndpoints) {
  // An endpoint where nothing listens: a port of a server started and
  // stopped.
  int closed_port = 0;
  {
    auto server = KinesaliteServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    closed_port = (*server)->port();
  }
  SetTestCredentials();
  ExampleRepo repo("http://127.0.0.1:" + std::to_string(closed_port), "nowhere", 0.01,
                   Now() / kDay * kDay);
  CommandResult r = repo.Larder("demo-stream --rate 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--rate takes records per second, 1..100000, got `0`"));
  r = repo.Larder("demo-stream --late-fraction 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--late-fraction takes a fraction from 0 to 1"));
  r = repo.Larder("demo-stream --source user_ratings_push");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no kinesis or kafka source 'user_ratings_push' is registered "
                               "('user_ratings_push' is a push source); stream sources: "
                               "book_ratings_stream"));
  r = repo.Larder("demo-stream --limit 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("kinesis source 'book_ratings_stream' (stream 'nowhere' at "
                               "http://127.0.0.1:" +
                               std::to_string(closed_port) + ")"));
  EXPECT_THAT(r.err, HasSubstr("http://127.0.0.1:" + std::to_string(closed_port)));
}

}  // namespace
}  // namespace larder
