// What the stream consumer tests (Kinesis, Kafka) share: a feature repo
// whose views read one stream source, events with known expected values,
// the records they become, and bad records that must become dead letters.
//
//   StreamTestRepo repo(KinesisSourceYaml(endpoint, "events_a"));
//   ... put GoodRecord(g) for each event, run the consumer ...
//   EXPECT_EQ(repo.Online(users, t), ExpectedOnline(events));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "larder/feature_store.h"
#include "support/test_util.h"

namespace larder::testing {

inline constexpr int64_t kStreamMinute = 60'000'000;
inline constexpr int64_t kStreamHour = 60 * kStreamMinute;
inline constexpr int64_t kStreamDay = 24 * kStreamHour;

// Wall-clock now, in microseconds since the epoch.
TimestampMicros NowMicros();

// An event of user `user` at `time` with value `x`.
struct StreamEvent {
  int64_t user;
  TimestampMicros time;
  int64_t x;
};

// `count` events of users 1..7 from an hour after `base`, 37 s apart from
// index `offset` on.
std::vector<StreamEvent> StreamEvents(std::mt19937_64& rng, TimestampMicros base, int count,
                                      int offset);

// The event as the JSON record a producer sends: {"uid", "event_time", "x"}.
std::string StreamRecordJson(const StreamEvent& e);

// Records that must become dead letters: malformed JSON, no event time, a
// wrong type, no join key, and one over 64 KiB (use max_record_bytes 64 KiB).
const std::vector<std::string>& BadStreamRecords();

// The source block of a kinesis / kafka source named `events_stream`
// (field_mapping uid -> user_id, timestamp_field event_time, batch_source
// `events`), as YAML list items.
std::string KinesisSourceYaml(const std::string& endpoint, const std::string& stream);
// `to` is the source's push target.
std::string KafkaSourceYaml(const std::string& bootstrap_servers, const std::string& topic,
                            const std::string& to = "online_and_offline");

// A repo (project `st`; RocksDB online unless `online_store` gives another
// as a YAML flow mapping; DuckDB offline) whose views `agg` (count and sum
// of x over 1 day, 10-minute tiles) and `latest` (x) read the stream source
// `events_stream` given by `source_yaml`; applied on construction.
struct StreamTestRepo {
  TempDir dir;
  explicit StreamTestRepo(const std::string& source_yaml,
                          const std::string& online_store = "{type: rocksdb, path: data/online}");
  std::unique_ptr<FeatureStore> Open();
  // (n, total, latest x) per user, read online at `t`.
  std::map<int64_t, std::vector<std::string>> Online(const std::vector<int64_t>& users,
                                                     TimestampMicros t);
  // Rows of `sql` over the offline store, waiting out a consumer's lock.
  std::vector<std::vector<Value>> Query(const std::string& sql, std::vector<ValueType> types);
  // count(*) of the stream's offline rows (push__events_stream); 0 before
  // the first push made the table.
  int64_t OfflineRows();
};

// The (n, total, latest x) per user that the events give, as Online prints them.
std::map<int64_t, std::vector<std::string>> ExpectedOnline(const std::vector<StreamEvent>& events);

}  // namespace larder::testing
