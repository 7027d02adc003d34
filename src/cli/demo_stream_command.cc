// `larder demo-stream`: replays the rows of a kinesis or kafka source's
// batch_source (the example's ratings) into its stream or topic as JSON
// records, in event-time order, at a steady rate (docs/stream.md, "The
// example's stream").
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "common/progress.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "stream/kafka/kafka_client.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A late record is sent after up to this many later ones; a duplicate's
// second copy, likewise, after up to this many.
constexpr int64_t kMaxDisplacement = 1000;

struct ReplayFlags {
  std::string source;        // --source; empty = the only stream source
  int64_t rate = 1000;       // records per second
  int64_t limit = -1;        // the latest K rows; -1 = every row
  double seconds = 0;        // stop after this long; 0 = when all are sent
  double late_fraction = 0;
  double duplicate_fraction = 0;
  int shards = 0;            // when creating; 0 = not given (then 2)
  uint64_t seed = 42;
  bool restamp_to_now = false;
};

// Parses all of `text` as a double in [lo, hi].
bool ParseFraction(const std::string& text, double lo, double hi, double* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(*out) &&
         *out >= lo && *out <= hi;
}

// Reads the flags; on a usage error prints it and returns false.
bool ParseFlags(const Invocation& inv, Output& o, ReplayFlags* f) {
  f->source = inv.Flag("--source");
  if (inv.Has("--rate") && !ParseInt(inv.Flag("--rate"), int64_t{1}, int64_t{100'000}, &f->rate)) {
    o.err << "larder: --rate takes records per second, 1..100000, got `" << inv.Flag("--rate")
          << "`\n";
    return false;
  }
  if (inv.Has("--limit") &&
      !ParseInt(inv.Flag("--limit"), int64_t{0}, int64_t{1} << 40, &f->limit)) {
    o.err << "larder: --limit takes a count of records, 0 or more, got `" << inv.Flag("--limit")
          << "`\n";
    return false;
  }
  if (inv.Has("--seconds") &&
      (!ParseFraction(inv.Flag("--seconds"), 0, 1e7, &f->seconds) || f->seconds <= 0)) {
    o.err << "larder: --seconds takes a positive number of seconds, got `"
          << inv.Flag("--seconds") << "`\n";
    return false;
  }
  for (auto [flag, out] : {std::pair{"--late-fraction", &f->late_fraction},
                           std::pair{"--duplicate-fraction", &f->duplicate_fraction}}) {
    if (inv.Has(flag) && !ParseFraction(inv.Flag(flag), 0, 1, out)) {
      o.err << "larder: " << flag << " takes a fraction from 0 to 1, got `" << inv.Flag(flag)
            << "`\n";
      return false;
    }
  }
  if (inv.Has("--shards") && !ParseInt(inv.Flag("--shards"), 1, 100, &f->shards)) {
    o.err << "larder: --shards takes 1..100, got `" << inv.Flag("--shards") << "`\n";
    return false;
  }
  if (inv.Has("--seed") &&
      !ParseInt(inv.Flag("--seed"), uint64_t{0}, UINT64_MAX, &f->seed)) {
    o.err << "larder: --seed takes a non-negative integer, got `" << inv.Flag("--seed") << "`\n";
    return false;
  }
  f->restamp_to_now = inv.Has("--restamp-to-now");
  return true;
}


// The stream source to replay into: `name`, or the repo's only one.
Result<const DataSource*> FindStreamSource(const FeatureRepo& repo, const std::string& name) {
  std::vector<const DataSource*> streams;
  for (const DataSource& s : repo.data_sources) {
    if (IsStreamSource(s.kind)) streams.push_back(&s);
  }
  std::string names;
  for (const DataSource* s : streams) names += (names.empty() ? "" : ", ") + s->name;
  if (!name.empty()) {
    for (const DataSource* s : streams) {
      if (s->name == name) return s;
    }
    const DataSource* other = repo.FindDataSource(name);
    return Status::NotFound(
        "no kinesis or kafka source '" + name + "' is registered" +
        (other != nullptr ? " ('" + name + "' is a " + std::string(DataSourceKindName(other->kind)) +
                                " source)"
                          : "") +
        (streams.empty() ? "; the repo has none" : "; stream sources: " + names));
  }
  if (streams.empty()) {
    return Status::NotFound("the registered repo has no kinesis or kafka source (docs/stream.md)");
  }
  if (streams.size() > 1) {
    return Status::InvalidArgument("the repo has several stream sources (" + names +
                                   "): choose one with --source");
  }
  return streams[0];
}

// The record field that carries `column` of the batch source: the event time
// column travels as the source's timestamp_field, and field_mapping (record
// field -> column) is applied in reverse.
std::string RecordField(const DataSource& source, const DataSource& batch,
                        const std::string& column) {
  const std::string mapped = column == batch.timestamp_field ? source.timestamp_field : column;
  for (const auto& [field, to] : source.field_mapping) {
    if (to == mapped) return field;
  }
  return mapped;
}

// The partition key column: the first join key of a view reading the
// source, else the first column.
std::string PartitionColumn(const FeatureRepo& repo, const DataSource& source,
                            const std::vector<std::string>& columns) {
  for (const FeatureView& v : repo.feature_views) {
    if (v.source != source.name) continue;
    for (const std::string& entity : v.entities) {
      const Entity* e = repo.FindEntity(entity);
      if (e == nullptr) continue;
      for (const std::string& key : e->join_keys) {
        if (std::find(columns.begin(), columns.end(), key) != columns.end()) return key;
      }
    }
  }
  return columns.empty() ? "" : columns[0];
}

// How a column of the batch source is read and sent.
struct ColumnPlan {
  std::string name;    // in the batch source
  std::string field;   // in the record
  std::string select;  // the SQL that reads it
  ValueType type;      // as QueryValues reads it
  bool is_time = false;
};

// The select expression and read type of a DuckDB column type; false for a
// type that a JSON record cannot carry here.
bool PlanColumn(const std::string& duck_type, const std::string& quoted, ColumnPlan* c) {
  static const char* kInts[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT",
                                "UTINYINT", "USMALLINT", "UINTEGER"};
  if (std::find(std::begin(kInts), std::end(kInts), duck_type) != std::end(kInts)) {
    c->select = "CAST(" + quoted + " AS BIGINT)";
    c->type = {ScalarType::kInt64};
  } else if (duck_type == "FLOAT" || duck_type == "DOUBLE" || duck_type.starts_with("DECIMAL")) {
    c->select = "CAST(" + quoted + " AS DOUBLE)";
    c->type = {ScalarType::kFloat64};
  } else if (duck_type == "VARCHAR") {
    c->select = quoted;
    c->type = {ScalarType::kString};
  } else if (duck_type == "BOOLEAN") {
    c->select = quoted;
    c->type = {ScalarType::kBool};
  } else if (duck_type.starts_with("TIMESTAMP") || duck_type == "DATE") {
    c->select = "epoch_us(CAST(" + quoted + " AS TIMESTAMPTZ))";
    c->type = {ScalarType::kInt64};
    c->is_time = true;
  } else {
    return false;
  }
  return true;
}

struct Outgoing {
  TimestampMicros time;
  std::string key;
  std::string json;
};

// The batch source's rows (the latest `limit`, or all) in event-time order,
// as records. Rows without an event time are counted in *skipped.
Result<std::vector<Outgoing>> ReadRecords(const FeatureRepo& repo, const DataSource& source,
                                          const DataSource& batch, int64_t limit,
                                          int64_t* skipped) {
  // A file is read by a private database; a model or query needs the
  // offline store, opened read-only so that a running consumer keeps it.
  std::unique_ptr<duckdb::Connection> conn;
  if (batch.kind == DataSourceKind::kFile) {
    LARDER_ASSIGN_OR_RETURN(conn, duckdb::Connection::Open(":memory:"));
  } else {
    duckdb::OpenOptions read_only;
    read_only.read_only = true;
    LARDER_ASSIGN_OR_RETURN(
        conn, duckdb::Connection::Open(offline::OfflineDatabasePath(repo), read_only));
  }
  LARDER_ASSIGN_OR_RETURN(std::string relation,
                          offline::RawSourceSql(repo, batch, [](std::string_view) {
                            return false;
                          }));
  const std::string what = "source " + batch.name;
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult described,
                          conn->Query("DESCRIBE SELECT * FROM " + relation, what));
  std::vector<ColumnPlan> columns;
  std::vector<std::string> names;
  for (const auto& row : described.rows) {
    if (!row[0] || !row[1]) continue;
    ColumnPlan c;
    c.name = *row[0];
    c.field = RecordField(source, batch, c.name);
    if (!PlanColumn(*row[1], duckdb::QuoteIdentifier(c.name), &c)) {
      return Status::InvalidArgument(what + ": column `" + c.name + "` has type " + *row[1] +
                                     ", which demo-stream does not send as JSON");
    }
    names.push_back(c.name);
    columns.push_back(std::move(c));
  }
  auto time_it = std::find_if(columns.begin(), columns.end(),
                              [&](const ColumnPlan& c) { return c.name == batch.timestamp_field; });
  if (time_it == columns.end() || !time_it->is_time) {
    return Status::InvalidArgument(what + ": no timestamp column `" + batch.timestamp_field + "`");
  }
  const std::string time_sql = time_it->select;
  const std::string key_column = PartitionColumn(repo, source, names);

  std::string select, order_asc, order_desc, outer;
  std::vector<ValueType> types;
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string alias = duckdb::QuoteIdentifier("c" + std::to_string(i));
    select += (i ? ", " : "") + columns[i].select + " AS " + alias;
    outer += (i ? ", " : "") + alias;
    types.push_back(columns[i].type);
  }
  // Event time, then every column: a deterministic order of rows.
  const std::string time_alias =
      duckdb::QuoteIdentifier("c" + std::to_string(time_it - columns.begin()));
  order_asc = time_alias;
  order_desc = time_alias + " DESC";
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string alias = duckdb::QuoteIdentifier("c" + std::to_string(i));
    order_asc += ", " + alias + " NULLS FIRST";
    order_desc += ", " + alias + " DESC NULLS LAST";
  }
  const std::string rows = "(SELECT " + select + " FROM " + relation + " WHERE " + time_sql +
                           " IS NOT NULL)";
  std::string sql = "SELECT " + outer + " FROM " + rows + " ORDER BY " + order_asc;
  if (limit >= 0) {
    sql = "SELECT " + outer + " FROM (SELECT * FROM " + rows + " ORDER BY " + order_desc +
          " LIMIT " + std::to_string(limit) + ") ORDER BY " + order_asc;
  }
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> nulls,
                          conn->QueryScalar("SELECT count(*) FROM " + relation + " WHERE " +
                                                time_sql + " IS NULL",
                                            what));
  *skipped = nulls ? std::stoll(*nulls) : 0;
  LARDER_ASSIGN_OR_RETURN(auto values, conn->QueryValues(sql, what, types));

  std::vector<Outgoing> out;
  out.reserve(values.size());
  const size_t time_index = static_cast<size_t>(time_it - columns.begin());
  for (const auto& row : values) {
    nlohmann::json record = nlohmann::json::object();
    Outgoing rec;
    rec.time = row[time_index].int64_value();
    for (size_t i = 0; i < columns.size(); ++i) {
      const Value& v = row[i];
      nlohmann::json& cell = record[columns[i].field];
      if (v.is_null()) {
        cell = nullptr;
      } else if (columns[i].is_time) {
        cell = FormatIsoTimestamp(v.int64_value());
      } else if (v.type().scalar == ScalarType::kInt64) {
        cell = v.int64_value();
      } else if (v.type().scalar == ScalarType::kFloat64) {
        cell = v.float64_value();
      } else if (v.type().scalar == ScalarType::kBool) {
        cell = v.bool_value();
      } else {
        cell = v.string_value();
      }
      if (columns[i].name == key_column) {
        rec.key = v.is_null() ? "null"
                  : v.type().scalar == ScalarType::kString ? v.string_value()
                                                            : cell.dump();
      }
    }
    rec.json = record.dump();
    out.push_back(std::move(rec));
  }
  return out;
}

// Rewrites each record's time field after a shift of every event time.
void Restamp(const DataSource& source, const DataSource& batch, std::vector<Outgoing>& records,
             int64_t shift) {
  const std::string field = RecordField(source, batch, batch.timestamp_field);
  for (Outgoing& r : records) {
    r.time += shift;
    nlohmann::json j = nlohmann::json::parse(r.json);
    j[field] = FormatIsoTimestamp(r.time);
    r.json = j.dump();
  }
}

// The sending order: each record in event-time order, except that a
// `late` share is sent after up to kMaxDisplacement later records, and a
// `duplicate` share is sent a second time as far later. Counts both.
std::vector<const Outgoing*> SendOrder(const std::vector<Outgoing>& records, const ReplayFlags& f,
                                       int64_t* late, int64_t* duplicates) {
  std::mt19937_64 rng(f.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int64_t> later(1, kMaxDisplacement);
  std::vector<std::pair<double, const Outgoing*>> keyed;
  keyed.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    double position = static_cast<double>(i);
    if (f.late_fraction > 0 && unit(rng) < f.late_fraction) {
      position += static_cast<double>(later(rng)) + 0.5;
      ++*late;
    }
    keyed.emplace_back(position, &records[i]);
    if (f.duplicate_fraction > 0 && unit(rng) < f.duplicate_fraction) {
      keyed.emplace_back(position + static_cast<double>(later(rng)) + 0.25, &records[i]);
      ++*duplicates;
    }
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Outgoing*> order;
  order.reserve(keyed.size());
  for (const auto& k : keyed) order.push_back(k.second);
  return order;
}

// Where the records go: a Kinesis stream or a Kafka topic.
class ReplayTarget {
 public:
  virtual ~ReplayTarget() = default;
  // Makes sure the stream or topic exists, created with `shards` shards or
  // partitions when missing (saying so on `o.err`); when it exists and
  // `shards_given`, it must have that many.
  virtual Status Ensure(int shards, bool shards_given, Output& o) = 0;
  // Sends records, each to the shard or partition of its key.
  virtual Status Send(const std::vector<const Outgoing*>& records) = 0;
  // Waits until every record sent is stored.
  virtual Status Finish() { return Status::OK(); }
  // "stream 'book_ratings' at http://127.0.0.1:4567".
  virtual std::string Describe() const = 0;
  // The most records one Send takes.
  virtual size_t MaxBatch() const = 0;
};

class KinesisTarget final : public ReplayTarget {
 public:
  static Result<std::unique_ptr<ReplayTarget>> Open(const DataSource& source) {
    if (source.endpoint_url.empty()) {
      return Status::InvalidArgument(
          "it has no endpoint_url; demo-stream needs a local one such as kinesalite's "
          "http://127.0.0.1:4567");
    }
    stream::KinesisClientOptions options;
    options.endpoint_url = source.endpoint_url;
    options.region = source.region;
    // An endpoint that does not answer fails in seconds, not after the
    // default ten attempts.
    options.max_attempts = 4;
    LARDER_ASSIGN_OR_RETURN(auto client, stream::KinesisClient::Open(options));
    return std::unique_ptr<ReplayTarget>(new KinesisTarget(source, std::move(client)));
  }

  Status Ensure(int shards, bool shards_given, Output& o) override {
    const std::string& name = source_.stream_name;
    Status active = client_->WaitForActive(name, std::chrono::seconds(30));
    if (active.code() == StatusCode::kNotFound) {
      Status created = client_->CreateStream(name, shards);
      // Another process may have created it meanwhile.
      if (!created.ok() && created.code() != StatusCode::kFailedPrecondition) return created;
      LARDER_RETURN_IF_ERROR(client_->WaitForActive(name, std::chrono::seconds(30)));
      o.err << "larder demo-stream: created stream '" << name << "' with " << shards
            << (shards == 1 ? " shard" : " shards") << " at " << client_->endpoint_url() << "\n";
      return Status::OK();
    }
    LARDER_RETURN_IF_ERROR(active);
    if (shards_given) {
      LARDER_ASSIGN_OR_RETURN(std::vector<stream::KinesisShard> all, client_->ListShards(name));
      const auto open = std::count_if(all.begin(), all.end(), [](const stream::KinesisShard& s) {
        return s.ending_sequence_number.empty();
      });
      if (open != shards) {
        return Status::InvalidArgument("stream '" + name + "' exists with " +
                                       std::to_string(open) + " open shards; --shards " +
                                       std::to_string(shards) +
                                       " applies only when the stream is created");
      }
    }
    return Status::OK();
  }

  Status Send(const std::vector<const Outgoing*>& records) override {
    std::vector<stream::PutRecordsEntry> entries;
    entries.reserve(records.size());
    for (const Outgoing* r : records) {
      // Kinesis partition keys are 1 to 256 characters.
      std::string key = r->key.empty() ? "-" : r->key.substr(0, 256);
      entries.push_back({std::move(key), r->json});
    }
    LARDER_ASSIGN_OR_RETURN(auto put, client_->PutRecords(source_.stream_name, entries));
    if (put.failed == 0) return Status::OK();
    for (const stream::PutRecordResult& r : put.records) {
      if (r.error_code.empty()) continue;
      return Status::IOError(std::to_string(put.failed) + " of " +
                             std::to_string(entries.size()) +
                             " records were not put into stream '" + source_.stream_name +
                             "': " + r.error_code + ": " + r.error_message);
    }
    return Status::OK();
  }

  std::string Describe() const override {
    return "stream '" + source_.stream_name + "' at " + source_.endpoint_url;
  }
  size_t MaxBatch() const override { return stream::kMaxPutRecordsEntries; }

 private:
  KinesisTarget(const DataSource& source, std::unique_ptr<stream::KinesisClient> client)
      : source_(source), client_(std::move(client)) {}

  const DataSource& source_;
  std::unique_ptr<stream::KinesisClient> client_;
};

class KafkaTarget final : public ReplayTarget {
 public:
  static Result<std::unique_ptr<ReplayTarget>> Open(const DataSource& source) {
    LARDER_ASSIGN_OR_RETURN(auto producer,
                            stream::KafkaProducer::Open({.bootstrap_servers = source.bootstrap_servers,
                                                         .linger_ms = 5}));
    return std::unique_ptr<ReplayTarget>(new KafkaTarget(source, std::move(producer)));
  }

  Status Ensure(int shards, bool shards_given, Output& o) override {
    Result<int> partitions = producer_->PartitionCount(source_.topic, kTimeout);
    if (partitions.status().code() == StatusCode::kNotFound) {
      Status created = producer_->CreateTopic(source_.topic, shards, kTimeout);
      // Another process may have created it meanwhile.
      if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
      o.err << "larder demo-stream: created topic '" << source_.topic << "' with " << shards
            << (shards == 1 ? " partition" : " partitions") << " at "
            << source_.bootstrap_servers << "\n";
      return Status::OK();
    }
    LARDER_RETURN_IF_ERROR(partitions.status());
    if (shards_given && *partitions != shards) {
      return Status::InvalidArgument("topic '" + source_.topic + "' exists with " +
                                     std::to_string(*partitions) + " partitions; --shards " +
                                     std::to_string(shards) +
                                     " applies only when the topic is created");
    }
    return Status::OK();
  }

  Status Send(const std::vector<const Outgoing*>& records) override {
    for (const Outgoing* r : records) {
      LARDER_RETURN_IF_ERROR(producer_->Produce(source_.topic, -1, r->key, r->json));
    }
    return Status::OK();
  }

  Status Finish() override { return producer_->Flush(kTimeout); }

  std::string Describe() const override {
    return "topic '" + source_.topic + "' at " + source_.bootstrap_servers;
  }
  size_t MaxBatch() const override { return 10000; }

 private:
  static constexpr std::chrono::milliseconds kTimeout{30000};

  KafkaTarget(const DataSource& source, std::unique_ptr<stream::KafkaProducer> producer)
      : source_(source), producer_(std::move(producer)) {}

  const DataSource& source_;
  std::unique_ptr<stream::KafkaProducer> producer_;
};

std::string StatusLine(int64_t sent, size_t total, double seconds) {
  char line[160];
  std::snprintf(line, sizeof line, "%lld/%zu records put (%.0f/s)",
                static_cast<long long>(sent), total, seconds > 0 ? sent / seconds : 0.0);
  return line;
}

}  // namespace

int DemoStreamCommand(const Invocation& inv, Output& o) {
  ReplayFlags flags;
  if (!ParseFlags(inv, o, &flags)) return kExitUsage;
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<FeatureRepo> registered = store->Registered();
  if (!registered.ok()) {
    if (registered.status().code() == StatusCode::kNotFound) {
      o.err << "Error: the project is not registered: run `larder apply` first\n";
      return kExitError;
    }
    return ReportError(o, registered.status());
  }
  FeatureRepo repo = std::move(*registered);
  repo.root = store->repo_root();
  repo.config = store->config();
  Result<const DataSource*> found = FindStreamSource(repo, flags.source);
  if (!found.ok()) return ReportError(o, found.status());
  const DataSource& source = **found;
  const std::string context =
      std::string(DataSourceKindName(source.kind)) + " source '" + source.name + "'";
  const DataSource* batch = repo.FindDataSource(source.batch_source);
  if (batch == nullptr) {
    return ReportError(o, Status::NotFound(context + ": batch_source '" + source.batch_source +
                                           "' is not registered"));
  }

  int64_t skipped = 0;
  Result<std::vector<Outgoing>> read =
      ReadRecords(repo, source, *batch, flags.limit, &skipped);
  if (!read.ok()) return ReportError(o, read.status());
  std::vector<Outgoing>& records = *read;
  int64_t shift = 0;
  if (flags.restamp_to_now && !records.empty()) {
    // The last record lands one second before now, at whole seconds.
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() *
                        1'000'000;
    shift = now - 1'000'000 - records.back().time;
    shift -= shift % 1'000'000;
    Restamp(source, *batch, records, shift);
  }
  int64_t late = 0, duplicates = 0;
  const std::vector<const Outgoing*> order = SendOrder(records, flags, &late, &duplicates);

  auto target = source.kind == DataSourceKind::kKafka ? KafkaTarget::Open(source)
                                                      : KinesisTarget::Open(source);
  if (!target.ok()) return ReportError(o, target.status().WithContext(context));
  ReplayTarget& to = **target;
  Status ready = to.Ensure(flags.shards ? flags.shards : 2, flags.shards != 0, o);
  if (!ready.ok()) return ReportError(o, ready.WithContext(context + " (" + to.Describe() + ")"));

  // Batches of about a tenth of a second's records, each sent when the
  // rate allows.
  const size_t batch_size =
      std::clamp<size_t>(static_cast<size_t>(flags.rate / 10), 1, to.MaxBatch());
  const bool interactive = IsTerminal(STDERR_FILENO);
  const auto start = Clock::now();
  auto last_line = start;
  int64_t sent = 0;
  bool out_of_time = false;
  std::vector<const Outgoing*> entries;
  for (size_t i = 0; i < order.size();) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(sent) /
                                                               static_cast<double>(flags.rate)));
    if (flags.seconds > 0 && due - start >= std::chrono::duration<double>(flags.seconds)) {
      out_of_time = true;
      break;
    }
    std::this_thread::sleep_until(due);
    entries.clear();
    for (; i < order.size() && entries.size() < batch_size; ++i) {
      entries.push_back(order[i]);
    }
    if (Status put = to.Send(entries); !put.ok()) return ReportError(o, put.WithContext(context));
    sent += static_cast<int64_t>(entries.size());
    const auto now = Clock::now();
    if (now - last_line >= std::chrono::seconds(interactive ? 1 : 10)) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      o.err << (interactive ? "\r" : "") << "larder demo-stream: "
            << StatusLine(sent, order.size(), elapsed) << (interactive ? "" : "\n");
      o.err.flush();
      last_line = now;
    }
  }
  if (Status stored = to.Finish(); !stored.ok()) {
    return ReportError(o, stored.WithContext(context));
  }
  if (interactive && last_line != start) o.err << "\n";
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  char line[512];
  std::snprintf(line, sizeof line, "Put %lld records (%lld sent late, %lld duplicates) into "
                "%s in %.1f s (%.0f/s)%s.\n",
                static_cast<long long>(sent), static_cast<long long>(late),
                static_cast<long long>(duplicates), to.Describe().c_str(),
                elapsed, elapsed > 0 ? sent / elapsed : 0.0,
                out_of_time ? "; stopped by --seconds" : "");
  o.out << line;
  if (!records.empty()) {
    o.out << "Event times from " << FormatIsoTimestamp(records.front().time) << " to "
          << FormatIsoTimestamp(records.back().time);
    if (shift != 0) o.out << " (the rows' own times moved by " << shift / 1'000'000 << " s)";
    o.out << ", " << records.size() << " rows of source '" << batch->name << "'.\n";
  }
  if (skipped > 0) {
    o.out << "Skipped " << skipped << " rows of source '" << batch->name
          << "' without an event time.\n";
  }
  return kExitOk;
}

}  // namespace larder::cli
