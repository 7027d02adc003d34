// FeatureStore::Stream: the Kinesis consumer (larder/stream.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <filesystem>
#include <optional>
#include <thread>

#include "larder/feature_store.h"
#include "larder/stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "stream/json_record.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder {
namespace {

using Clock = std::chrono::steady_clock;
using duckdb::QuoteLiteral;

uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Reasons and names go into VARCHAR columns: keep them printable ASCII.
std::string Printable(std::string_view text, size_t max = 2000) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

struct Checkpoint {
  std::string sequence_number;
  bool closed = false;
};

// The checkpoint and dead-letter tables of the offline store.
class CheckpointStore {
 public:
  CheckpointStore(std::string db_path, std::string project)
      : db_path_(std::move(db_path)), project_(std::move(project)) {}

  Result<std::map<std::string, Checkpoint>> Load(const std::string& source) {
    LARDER_ASSIGN_OR_RETURN(auto conn, Open());
    const ValueType types[] = {{ScalarType::kString}, {ScalarType::kString}, {ScalarType::kBool}};
    LARDER_ASSIGN_OR_RETURN(
        auto rows, conn->QueryValues(std::string("SELECT shard, sequence_number, closed FROM ") +
                                         kStreamCheckpointTable + " WHERE project = " +
                                         QuoteLiteral(project_) + " AND source = " +
                                         QuoteLiteral(source),
                                     "stream checkpoints", types));
    std::map<std::string, Checkpoint> out;
    for (const auto& row : rows) {
      out[row[0].string_value()] = {row[1].is_null() ? "" : row[1].string_value(),
                                    !row[2].is_null() && row[2].bool_value()};
    }
    return out;
  }

  struct DeadLetter {
    std::string sequence_number;
    int64_t arrival_ms = 0;
    std::string reason;
    std::string data;
  };

  // In one transaction: the dead letters (each once), then the checkpoint.
  Status Commit(const std::string& source, const std::string& shard, const Checkpoint& cp,
                const std::vector<DeadLetter>& dead) {
    LARDER_ASSIGN_OR_RETURN(auto conn, Open());
    std::string sql = "BEGIN TRANSACTION;\n";
    for (const DeadLetter& d : dead) {
      sql += std::string("INSERT INTO ") + kStreamDeadLetterTable + " VALUES (" +
             QuoteLiteral(project_) + ", " + QuoteLiteral(source) + ", " + QuoteLiteral(shard) +
             ", " + QuoteLiteral(d.sequence_number) + ", make_timestamp(" +
             std::to_string(d.arrival_ms * 1000) + "), " + QuoteLiteral(Printable(d.reason)) +
             ", from_hex(" + QuoteLiteral(Hex(d.data)) + ")) ON CONFLICT DO NOTHING;\n";
    }
    sql += std::string("INSERT OR REPLACE INTO ") + kStreamCheckpointTable + " VALUES (" +
           QuoteLiteral(project_) + ", " + QuoteLiteral(source) + ", " + QuoteLiteral(shard) +
           ", " + QuoteLiteral(cp.sequence_number) + ", " + (cp.closed ? "true" : "false") +
           ", now());\nCOMMIT;";
    return conn->Execute(sql, "stream checkpoint of " + source + "/" + shard);
  }

 private:
  Result<std::unique_ptr<duckdb::Connection>> Open() {
    LARDER_ASSIGN_OR_RETURN(auto conn, duckdb::Connection::Open(db_path_));
    LARDER_RETURN_IF_ERROR(conn->Execute(
        std::string("CREATE TABLE IF NOT EXISTS ") + kStreamCheckpointTable +
            " (project VARCHAR, source VARCHAR, shard VARCHAR, sequence_number VARCHAR, "
            "closed BOOLEAN, updated_at TIMESTAMP WITH TIME ZONE, "
            "PRIMARY KEY (project, source, shard));\n"
            "CREATE TABLE IF NOT EXISTS " +
            kStreamDeadLetterTable +
            " (project VARCHAR, source VARCHAR, shard VARCHAR, sequence_number VARCHAR, "
            "arrived_at TIMESTAMP, reason VARCHAR, record BLOB, "
            "PRIMARY KEY (project, source, shard, sequence_number));",
        "stream tables"));
    return conn;
  }

  std::string db_path_;
  std::string project_;
};

struct ShardState {
  stream::KinesisShard shard;
  std::string iterator;
  StreamShardProgress progress;
};

struct SourceState {
  const DataSource* source = nullptr;
  const DataSource* batch = nullptr;
  std::unique_ptr<stream::KinesisClient> client;
  std::map<std::string, Checkpoint> checkpoints;
  std::map<std::string, ShardState> active;  // by shard id
  bool refresh = true;
};

}  // namespace

Status ForgetStreamCheckpoints(const std::string& db_path, const std::string& project) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(auto conn, duckdb::Connection::Open(db_path));
  LARDER_ASSIGN_OR_RETURN(
      std::optional<std::string> exists,
      conn->QueryScalar(std::string("SELECT count(*) FROM duckdb_tables() WHERE table_name = ") +
                            QuoteLiteral(kStreamCheckpointTable),
                        "stream checkpoints"));
  if (!exists || *exists == "0") return Status::OK();
  return conn->Execute(std::string("DELETE FROM ") + kStreamCheckpointTable +
                           " WHERE project = " + QuoteLiteral(project),
                       "stream checkpoints of project '" + project + "'");
}

Result<StreamProgress> FeatureStore::Stream(const StreamOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return Status::InvalidArgument("shard index " + std::to_string(options.shard_index) +
                                   " is not in 0.." + std::to_string(options.shard_count - 1));
  }
  if (options.records_per_call < 1 || options.records_per_call > 10000) {
    return Status::InvalidArgument("records per call must be 1..10000");
  }
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  std::vector<std::string> names = options.sources;
  if (names.empty()) {
    std::set<std::string> read;
    for (const FeatureView& v : repo.feature_views) {
      const DataSource* s = repo.FindDataSource(v.source);
      if (v.online && s != nullptr && s->kind == DataSourceKind::kKinesis) read.insert(s->name);
    }
    if (read.empty()) {
      for (const DataSource& s : repo.data_sources) {
        if (s.kind == DataSourceKind::kKinesis) read.insert(s.name);
      }
    }
    names.assign(read.begin(), read.end());
  }
  if (names.empty()) {
    return Status::NotFound("no kinesis source is registered; declare one (docs/stream.md)");
  }
  CheckpointStore checkpoints(offline::OfflineDatabasePath(repo), config_.project);
  std::vector<SourceState> sources;
  for (const std::string& name : names) {
    SourceState st;
    st.source = repo.FindDataSource(name);
    if (st.source == nullptr || st.source->kind != DataSourceKind::kKinesis) {
      return Status::NotFound("no kinesis source '" + name + "'");
    }
    st.batch = repo.FindDataSource(st.source->batch_source);
    if (st.batch == nullptr) {
      return Status::NotFound("kinesis source '" + name + "': no batch_source '" +
                              st.source->batch_source + "'");
    }
    stream::KinesisClientOptions co;
    co.endpoint_url = st.source->endpoint_url;
    co.region = st.source->region;
    Result<std::unique_ptr<stream::KinesisClient>> client = stream::KinesisClient::Open(co);
    if (!client.ok()) return client.status().WithContext("kinesis source '" + name + "'");
    st.client = std::move(*client);
    LARDER_ASSIGN_OR_RETURN(st.checkpoints, checkpoints.Load(name));
    sources.push_back(std::move(st));
  }

  StreamProgress total;
  const auto started = Clock::now();
  std::map<std::pair<std::string, std::string>, StreamShardProgress> shard_totals;
  auto report = [&] {
    total.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    total.shards.clear();
    for (const auto& [key, p] : shard_totals) total.shards.push_back(p);
    if (options.progress) options.progress(total);
  };

  // Pushes one batch of a shard's records, then checkpoints it.
  auto apply = [&](SourceState& st, ShardState& sh, const stream::GetRecordsResult& got) -> Status {
    const DataSource& src = *st.source;
    const PushTarget to = *ParsePushTarget(src.stream_to);
    std::vector<CheckpointStore::DeadLetter> dead;
    // Records with the same fields go in one push; their indexes follow.
    std::map<std::vector<std::string>, std::pair<ColumnTable, std::vector<size_t>>> groups;
    for (size_t i = 0; i < got.records.size(); ++i) {
      const stream::KinesisRecord& rec = got.records[i];
      auto row = stream::DecodeJsonRecord(rec.data, src.field_mapping, options.max_record_bytes);
      std::string reason;
      if (!row.ok()) {
        reason = row.status().message();
      } else if (!row->contains(src.timestamp_field)) {
        reason = "missing field `" + src.timestamp_field + "` (the event time)";
      } else if (src.timestamp_field != st.batch->timestamp_field) {
        auto node = row->extract(src.timestamp_field);
        node.key() = st.batch->timestamp_field;
        row->insert(std::move(node));
      }
      if (!reason.empty()) {
        dead.push_back({rec.sequence_number, rec.approximate_arrival_timestamp_ms, reason, rec.data});
        continue;
      }
      std::vector<std::string> fields;
      for (const auto& [name, value] : *row) fields.push_back(name);
      auto& [table, indexes] = groups[fields];
      for (auto& [name, value] : *row) table[name].push_back(std::move(value));
      indexes.push_back(i);
    }
    for (auto& [fields, group] : groups) {
      auto& [table, indexes] = group;
      Result<PushReport> pushed = Push(src.name, table, to);
      if (pushed.ok()) {
        total.rows_pushed += static_cast<int64_t>(indexes.size());
        continue;
      }
      if (pushed.status().code() != StatusCode::kInvalidArgument) {
        return pushed.status().WithContext("kinesis source '" + src.name + "', shard " +
                                           sh.shard.shard_id);
      }
      // A row the push refuses: push one by one, and dead-letter each refused row.
      for (size_t r = 0; r < indexes.size(); ++r) {
        ColumnTable one;
        for (const auto& [name, values] : table) one[name] = {values[r]};
        Result<PushReport> single = Push(src.name, one, to);
        const stream::KinesisRecord& rec = got.records[indexes[r]];
        if (single.ok()) {
          ++total.rows_pushed;
        } else if (single.status().code() == StatusCode::kInvalidArgument) {
          dead.push_back({rec.sequence_number, rec.approximate_arrival_timestamp_ms,
                          single.status().message(), rec.data});
        } else {
          return single.status().WithContext("kinesis source '" + src.name + "', shard " +
                                             sh.shard.shard_id);
        }
      }
    }
    Checkpoint cp;
    cp.sequence_number =
        got.records.empty() ? sh.progress.checkpoint : got.records.back().sequence_number;
    cp.closed = got.next_shard_iterator.empty();
    LARDER_RETURN_IF_ERROR(checkpoints.Commit(src.name, sh.shard.shard_id, cp, dead));
    st.checkpoints[sh.shard.shard_id] = cp;
    sh.progress.records += static_cast<int64_t>(got.records.size());
    sh.progress.dead_letters += static_cast<int64_t>(dead.size());
    sh.progress.checkpoint = cp.sequence_number;
    sh.progress.millis_behind_latest = got.millis_behind_latest;
    sh.progress.closed = cp.closed;
    total.records += static_cast<int64_t>(got.records.size());
    total.dead_letters += static_cast<int64_t>(dead.size());
    shard_totals[{src.name, sh.shard.shard_id}] = sh.progress;
    return Status::OK();
  };

  // Starts the shards that are this consumer's, not drained, and whose
  // parents are drained (or gone from the stream).
  auto refresh = [&](SourceState& st) -> Status {
    LARDER_ASSIGN_OR_RETURN(std::vector<stream::KinesisShard> shards,
                            st.client->ListShards(st.source->stream_name));
    std::set<std::string> listed;
    for (const auto& s : shards) listed.insert(s.shard_id);
    auto drained = [&](const std::string& id) {
      if (id.empty() || !listed.contains(id)) return true;
      auto it = st.checkpoints.find(id);
      return it != st.checkpoints.end() && it->second.closed;
    };
    for (const stream::KinesisShard& s : shards) {
      if (static_cast<int>(Fnv(s.shard_id) % static_cast<uint64_t>(options.shard_count)) !=
          options.shard_index) {
        continue;
      }
      if (st.active.contains(s.shard_id) || drained(s.shard_id)) continue;
      if (!drained(s.parent_shard_id) || !drained(s.adjacent_parent_shard_id)) continue;
      ShardState sh;
      sh.shard = s;
      sh.progress.source = st.source->name;
      sh.progress.shard = s.shard_id;
      auto cp = st.checkpoints.find(s.shard_id);
      const bool child = !s.parent_shard_id.empty();
      const stream::ShardIteratorType fresh =
          child || st.source->starting_position == "trim_horizon"
              ? stream::ShardIteratorType::kTrimHorizon
              : stream::ShardIteratorType::kLatest;
      Result<std::string> it =
          cp != st.checkpoints.end() && !cp->second.sequence_number.empty()
              ? st.client->GetShardIterator(st.source->stream_name, s.shard_id,
                                            stream::ShardIteratorType::kAfterSequenceNumber,
                                            cp->second.sequence_number)
              : st.client->GetShardIterator(st.source->stream_name, s.shard_id, fresh);
      if (!it.ok() && it.status().code() == StatusCode::kInvalidArgument &&
          cp != st.checkpoints.end()) {
        // The checkpoint is of another stream of that name (deleted and
        // created again): this shard starts over, which pushes nothing twice.
        cp->second.sequence_number.clear();
        it = st.client->GetShardIterator(st.source->stream_name, s.shard_id,
                                         stream::ShardIteratorType::kTrimHorizon);
      }
      if (!it.ok()) return it.status().WithContext("kinesis source '" + st.source->name + "'");
      if (cp != st.checkpoints.end()) sh.progress.checkpoint = cp->second.sequence_number;
      sh.iterator = *it;
      st.active.emplace(s.shard_id, std::move(sh));
    }
    st.refresh = false;
    return Status::OK();
  };

  int idle_passes = 0;
  auto last_list = Clock::now();
  while (true) {
    if (options.stop && options.stop()) break;
    bool busy = false;
    const bool relist = Clock::now() - last_list > std::chrono::seconds(30);
    for (SourceState& st : sources) {
      if (st.refresh || relist) {
        const auto read_start = Clock::now();
        LARDER_RETURN_IF_ERROR(refresh(st));
        total.read_seconds += std::chrono::duration<double>(Clock::now() - read_start).count();
      }
      for (auto it = st.active.begin(); it != st.active.end();) {
        if (options.stop && options.stop()) break;
        ShardState& sh = it->second;
        const auto read_start = Clock::now();
        Result<stream::GetRecordsResult> got =
            st.client->GetRecords(sh.iterator, options.records_per_call);
        total.read_seconds += std::chrono::duration<double>(Clock::now() - read_start).count();
        if (!got.ok() && got.status().code() == StatusCode::kFailedPrecondition) {
          // An expired iterator: start again after the checkpoint.
          st.active.erase(it++);
          st.refresh = true;
          continue;
        }
        if (!got.ok()) {
          return got.status().WithContext("kinesis source '" + st.source->name + "', shard " +
                                          sh.shard.shard_id);
        }
        if (!got->records.empty() || got->next_shard_iterator.empty()) {
          const auto apply_start = Clock::now();
          LARDER_RETURN_IF_ERROR(apply(st, sh, *got));
          total.apply_seconds +=
              std::chrono::duration<double>(Clock::now() - apply_start).count();
          report();
        }
        busy = busy || !got->records.empty() || got->millis_behind_latest > 0;
        if (got->next_shard_iterator.empty()) {
          st.active.erase(it++);
          st.refresh = true;  // its children may start now
          busy = true;
          continue;
        }
        sh.iterator = got->next_shard_iterator;
        ++it;
      }
    }
    if (relist) last_list = Clock::now();
    if (busy) {
      idle_passes = 0;
      continue;
    }
    if (options.until_idle && ++idle_passes >= 2) break;
    std::this_thread::sleep_for(options.poll_interval);
  }
  report();
  return total;
}

}  // namespace larder
