// FeatureStore::Stream: the stream consumer (larder/stream.h).
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "larder/feature_store.h"
#include "larder/stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "store/kafka_reader.h"
#include "store/kinesis_reader.h"
#include "store/stream_reader.h"

namespace larder {
namespace {

using Clock = std::chrono::steady_clock;
using stream_consumer::StreamReader;

Result<std::unique_ptr<StreamReader>> OpenReader(const DataSource& source,
                                                 stream_consumer::CheckpointStore& checkpoints,
                                                 const StreamOptions& options) {
  switch (source.kind) {
    case DataSourceKind::kKinesis:
      return stream_consumer::OpenKinesisReader(source, checkpoints, options);
    case DataSourceKind::kKafka:
      return stream_consumer::OpenKafkaReader(source, checkpoints, options);
    default:
      return Status::InvalidArgument("'" + source.name + "' is not a stream source");
  }
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The sources to consume: those named; or those of the views named (which
// must name every online view of those sources, since a push writes them
// all); or every stream source that an online feature view reads (every
// stream source, when none does).
Result<std::vector<std::string>> SelectSources(const FeatureRepo& repo,
                                               const StreamOptions& options) {
  if (!options.sources.empty() && !options.views.empty()) {
    return Status::InvalidArgument("give stream sources or feature views, not both");
  }
  if (!options.sources.empty()) return options.sources;
  std::set<std::string> read;
  if (!options.views.empty()) {
    const std::set<std::string> named(options.views.begin(), options.views.end());
    for (const std::string& name : options.views) {
      const FeatureView* v = repo.FindFeatureView(name);
      if (v == nullptr) return Status::NotFound("views: no feature view '" + name + "'");
      const DataSource* s = repo.FindDataSource(v->source);
      if (s == nullptr || !IsStreamSource(s->kind)) {
        return Status::InvalidArgument("views: feature view '" + name +
                                       "' does not read a stream source (its source is '" +
                                       v->source + "')");
      }
      read.insert(s->name);
    }
    for (const FeatureView& v : repo.feature_views) {
      if (v.online && read.contains(v.source) && !named.contains(v.name)) {
        return Status::InvalidArgument("views: feature view '" + v.name +
                                       "' also reads stream source '" + v.source +
                                       "' and would get its rows too; name it as well");
      }
    }
    return std::vector<std::string>(read.begin(), read.end());
  }
  for (const FeatureView& v : repo.feature_views) {
    const DataSource* s = repo.FindDataSource(v.source);
    if (v.online && s != nullptr && IsStreamSource(s->kind)) read.insert(s->name);
  }
  if (read.empty()) {
    for (const DataSource& s : repo.data_sources) {
      if (IsStreamSource(s.kind)) read.insert(s.name);
    }
  }
  if (read.empty()) {
    return Status::NotFound("no stream source is registered; declare one (docs/stream.md)");
  }
  return std::vector<std::string>(read.begin(), read.end());
}

struct Source {
  const DataSource* source = nullptr;
  const DataSource* batch = nullptr;
  std::unique_ptr<StreamReader> reader;
};

}  // namespace

Result<StreamProgress> FeatureStore::Stream(const StreamOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return Status::InvalidArgument("shard index " + std::to_string(options.shard_index) +
                                   " is not in 0.." + std::to_string(options.shard_count - 1));
  }
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> names, SelectSources(repo, options));
  if (!options.consumer_id.empty() &&
      std::none_of(names.begin(), names.end(), [&](const std::string& name) {
        const DataSource* s = repo.FindDataSource(name);
        return s != nullptr && s->kind == DataSourceKind::kKafka;
      })) {
    return Status::InvalidArgument("a consumer id (group.instance.id) applies to Kafka sources, "
                                   "and none is consumed here");
  }
  stream_consumer::CheckpointStore checkpoints(offline::OfflineDatabasePath(repo), config_.project);
  std::vector<Source> sources;
  for (const std::string& name : names) {
    Source st;
    st.source = repo.FindDataSource(name);
    if (st.source == nullptr || !IsStreamSource(st.source->kind)) {
      return Status::NotFound("no stream source '" + name + "'");
    }
    const std::string context = std::string(DataSourceKindName(st.source->kind)) + " source '" +
                                name + "'";
    st.batch = repo.FindDataSource(st.source->batch_source);
    if (st.batch == nullptr) {
      return Status::NotFound(context + ": no batch_source '" + st.source->batch_source + "'");
    }
    Result<std::unique_ptr<StreamReader>> reader = OpenReader(*st.source, checkpoints, options);
    if (!reader.ok()) return reader.status().WithContext(context);
    st.reader = std::move(*reader);
    sources.push_back(std::move(st));
  }

  StreamProgress total;
  const auto started = Clock::now();
  std::map<std::pair<std::string, std::string>, StreamShardProgress> shard_totals;
  std::map<std::string, StreamViewProgress> view_totals;
  auto report = [&] {
    total.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    total.shards.clear();
    for (const auto& [key, p] : shard_totals) total.shards.push_back(p);
    total.views.clear();
    for (const auto& [name, p] : view_totals) total.views.push_back(p);
    if (options.progress) options.progress(total);
  };

  // The offline store stays open while records flow, so that each batch's
  // push and checkpoint share its database (duckdb::Connection::Open) rather
  // than open and checkpoint the file again; it is closed after a pass that
  // found nothing, which lets other processes in.
  const std::string offline_path = offline::OfflineDatabasePath(repo);
  std::unique_ptr<duckdb::Connection> offline_held;
  int idle_passes = 0;
  while (true) {
    if (options.stop && options.stop()) break;
    bool busy = false;
    for (Source& st : sources) {
      const DataSource& src = *st.source;
      const PushTarget to = *ParsePushTarget(src.stream_to);
      auto push = [&](const ColumnTable& rows) -> Result<PushReport> {
        LARDER_ASSIGN_OR_RETURN(PushReport pushed, Push(src.name, rows, to));
        for (const OnlineViewWrite& w : pushed.online) {
          StreamViewProgress& v = view_totals[w.view];
          v.view = w.view;
          v.written += w.written;
          v.skipped += w.skipped;
        }
        return pushed;
      };
      // Batches read and not yet applied: the shards of a pass are applied
      // together, in one push per field set and one checkpoint transaction,
      // since each push and each commit costs milliseconds whatever its size.
      std::deque<std::string> held_bytes;  // the records' bytes (a deque keeps them in place)
      std::vector<stream_consumer::StreamBatch> pending;
      size_t pending_records = 0;
      auto flush = [&]() -> Status {
        if (pending.empty()) return Status::OK();
        const auto apply_start = Clock::now();
        std::unique_lock<std::timed_mutex> lock;
        if (options.write_mutex != nullptr) lock = std::unique_lock(*options.write_mutex);
        if (offline_held == nullptr) {
          LARDER_ASSIGN_OR_RETURN(offline_held, duckdb::Connection::Open(offline_path));
        }
        std::vector<stream_consumer::StreamRecord> records;
        records.reserve(pending_records);
        for (const auto& batch : pending) {
          records.insert(records.end(), batch.records.begin(), batch.records.end());
        }
        LARDER_ASSIGN_OR_RETURN(stream_consumer::AppliedRecords applied,
                                stream_consumer::ApplyStreamRecords(
                                    src, *st.batch, records, options.max_record_bytes, push));
        // Each dead letter to its batch's shard, by its index in `records`.
        std::vector<stream_consumer::ShardCommit> commits(pending.size());
        std::vector<size_t> ends;
        size_t end = 0;
        for (size_t i = 0; i < pending.size(); ++i) {
          end += pending[i].records.size();
          ends.push_back(end);
          commits[i].shard = pending[i].shard;
          commits[i].checkpoint = pending[i].checkpoint;
        }
        for (stream_consumer::DeadLetter& d : applied.dead) {
          const size_t b = static_cast<size_t>(
              std::upper_bound(ends.begin(), ends.end(), d.index) - ends.begin());
          commits[b].dead.push_back(std::move(d));
        }
        LARDER_RETURN_IF_ERROR(checkpoints.Commit(src.name, commits));
        if (lock.owns_lock()) lock.unlock();
        const int64_t now_ms = UnixMillis();
        for (size_t i = 0; i < pending.size(); ++i) {
          const stream_consumer::StreamBatch& batch = pending[i];
          StreamShardProgress& sh = shard_totals[{src.name, batch.shard}];
          if (!batch.records.empty()) sh.last_arrival_ms = batch.records.back().arrival_ms;
          sh.checkpointed_at_ms = now_ms;
          sh.source = src.name;
          sh.shard = batch.shard;
          sh.records += static_cast<int64_t>(batch.records.size());
          sh.dead_letters += static_cast<int64_t>(commits[i].dead.size());
          sh.checkpoint = batch.checkpoint.position;
          sh.millis_behind_latest = batch.millis_behind_latest;
          sh.closed = batch.checkpoint.closed;
          total.records += static_cast<int64_t>(batch.records.size());
          total.dead_letters += static_cast<int64_t>(commits[i].dead.size());
        }
        total.rows_pushed += applied.rows_pushed;
        total.apply_seconds += std::chrono::duration<double>(Clock::now() - apply_start).count();
        pending.clear();
        held_bytes.clear();
        pending_records = 0;
        report();
        return Status::OK();
      };
      // Keeps a batch (its records' bytes copied, since the reader's buffer
      // goes) until the pass ends or enough records wait.
      auto sink = [&](stream_consumer::StreamBatch& batch) -> Status {
        for (stream_consumer::StreamRecord& r : batch.records) {
          r.data = held_bytes.emplace_back(r.data);
        }
        pending_records += batch.records.size();
        pending.push_back(std::move(batch));
        if (pending_records >= static_cast<size_t>(options.records_per_call)) return flush();
        return Status::OK();
      };
      Result<bool> pass = st.reader->Pass(sink, options.stop, &total.read_seconds);
      if (pass.ok()) {
        if (Status flushed = flush(); !flushed.ok()) pass = flushed;
      }
      if (!pass.ok()) {
        return pass.status().WithContext(std::string(DataSourceKindName(src.kind)) +
                                         " source '" + src.name + "'");
      }
      busy = busy || *pass;
    }
    if (busy) {
      idle_passes = 0;
      continue;
    }
    offline_held.reset();
    if (options.until_idle && ++idle_passes >= 2) break;
    const bool readers_wait = std::all_of(sources.begin(), sources.end(), [](const Source& s) {
      return s.reader->WaitsForRecords();
    });
    if (!readers_wait) std::this_thread::sleep_for(options.poll_interval);
  }
  report();
  return total;
}

}  // namespace larder
