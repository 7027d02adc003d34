// FeatureStore::Stream: the stream consumer (larder/stream.h).
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "larder/feature_store.h"
#include "larder/stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "store/kinesis_reader.h"
#include "store/stream_reader.h"

namespace larder {
namespace {

using Clock = std::chrono::steady_clock;
using stream_consumer::StreamReader;

bool IsStreamKind(DataSourceKind kind) { return kind == DataSourceKind::kKinesis; }

Result<std::unique_ptr<StreamReader>> OpenReader(const DataSource& source,
                                                 stream_consumer::CheckpointStore& checkpoints,
                                                 const StreamOptions& options) {
  switch (source.kind) {
    case DataSourceKind::kKinesis:
      return stream_consumer::OpenKinesisReader(source, checkpoints, options);
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
      if (s == nullptr || !IsStreamKind(s->kind)) {
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
    if (v.online && s != nullptr && IsStreamKind(s->kind)) read.insert(s->name);
  }
  if (read.empty()) {
    for (const DataSource& s : repo.data_sources) {
      if (IsStreamKind(s.kind)) read.insert(s.name);
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
  stream_consumer::CheckpointStore checkpoints(offline::OfflineDatabasePath(repo), config_.project);
  std::vector<Source> sources;
  for (const std::string& name : names) {
    Source st;
    st.source = repo.FindDataSource(name);
    if (st.source == nullptr || !IsStreamKind(st.source->kind)) {
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
      // Pushes one batch of a shard's records, then checkpoints it.
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
      auto sink = [&](stream_consumer::StreamBatch& batch) -> Status {
        const auto apply_start = Clock::now();
        std::unique_lock<std::timed_mutex> lock;
        if (options.write_mutex != nullptr) lock = std::unique_lock(*options.write_mutex);
        if (offline_held == nullptr) {
          LARDER_ASSIGN_OR_RETURN(offline_held, duckdb::Connection::Open(offline_path));
        }
        LARDER_ASSIGN_OR_RETURN(stream_consumer::AppliedRecords applied,
                                stream_consumer::ApplyStreamRecords(
                                    src, *st.batch, batch.records, options.max_record_bytes, push));
        LARDER_RETURN_IF_ERROR(
            checkpoints.Commit(src.name, batch.shard, batch.checkpoint, applied.dead));
        if (lock.owns_lock()) lock.unlock();
        StreamShardProgress& sh = shard_totals[{src.name, batch.shard}];
        if (!batch.records.empty()) sh.last_arrival_ms = batch.records.back().arrival_ms;
        sh.checkpointed_at_ms = UnixMillis();
        sh.source = src.name;
        sh.shard = batch.shard;
        sh.records += static_cast<int64_t>(batch.records.size());
        sh.dead_letters += static_cast<int64_t>(applied.dead.size());
        sh.checkpoint = batch.checkpoint.position;
        sh.millis_behind_latest = batch.millis_behind_latest;
        sh.closed = batch.checkpoint.closed;
        total.records += static_cast<int64_t>(batch.records.size());
        total.rows_pushed += applied.rows_pushed;
        total.dead_letters += static_cast<int64_t>(applied.dead.size());
        total.apply_seconds += std::chrono::duration<double>(Clock::now() - apply_start).count();
        report();
        return Status::OK();
      };
      Result<bool> pass = st.reader->Pass(sink, options.stop, &total.read_seconds);
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
    std::this_thread::sleep_for(options.poll_interval);
  }
  report();
  return total;
}

}  // namespace larder
