// The materialization engine behind FeatureStore::Materialize and
// MaterializeIncremental (semantics: larder/materialize.h).
//
// Design. Per view, one SQL relation over the view's mapped source
// (offline::MappedSourceSql) keeps the rows with start <= ts < end and a
// non-null key, and reduces them to the latest row per entity key with
// QUALIFY row_number() (ts DESC, created DESC NULLS LAST). The key space is
// split by hash(join keys) into partitions x chunks slices: partition p
// reads the slices s with s % partitions == p, one slice per query, so a
// query holds about chunk_rows rows and no LIMIT/OFFSET is needed (the
// slices are disjoint and complete whatever the row order). The slice filter
// is on the keys, so it applies before the window function: each query
// ranks only its own slice's rows. Partitions run
// on their own threads, each with its own DuckDB connection to the offline
// store database, and write through OnlineStore::Write (thread-safe,
// conditional). The view's watermark is stored only after every partition
// succeeded.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "larder/materialize.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::materialize {

// The table holding the watermarks, in the offline store database.
inline constexpr const char* kWatermarkTable = "larder_materialization_watermarks";

// Materializes the selected online views of `repo` (root and config set)
// into `store`. With `start` set, every view uses [*start, end); without it
// (incremental), each view starts at its watermark, or end - ttl when it has
// none, or the beginning of time when its ttl is 0.
// Errors: InvalidArgument for start >= end or bad options; NotFound for an
// unknown view; FailedPrecondition when a view's model has no table ("run
// `larder run` first"); DuckDB and online store errors, naming the view.
// Views before the failing one stay materialized (and their watermarks
// moved).
//
// With `import` set, another engine reads the sources (the spark offline
// store): for each view, `import` fills table `table` (an unquoted name in
// `conn`'s database) with the view's mapped source rows under the source's
// column names (after field_mapping), as `rows` asks:
//   kLatest  the rows whose event time is in [start, end) (start is
//            INT64_MIN for the beginning of time): at least, per entity key,
//            the latest row and every row tied with it on event and created
//            time. The latest row per key is then chosen here, as from the
//            offline store's own sources.
//   kEvents  an aggregation view's distinct events with every join key set
//            and event time in [start, end) (start INT64_MIN: no lower
//            bound): the join keys, the aggregated columns and the timestamp
//            field, as a timestamp rounded up to the microsecond. The states
//            are then built here, as from the offline store's own sources
//            (tile_materializer.h).
enum class ImportedRows { kLatest, kEvents };
using ViewRowsImporter =
    std::function<Status(duckdb::Connection& conn, const FeatureView& view, ImportedRows rows,
                         TimestampMicros start, TimestampMicros end, const std::string& table)>;
Result<MaterializeReport> Materialize(const FeatureRepo& repo, OnlineStore& store,
                                      std::optional<TimestampMicros> start,
                                      TimestampMicros end, const MaterializeOptions& options,
                                      const ViewRowsImporter& import = {});

// Deletes the watermarks of `project` in the offline store database at
// `db_path`: of the views named in `views`, or of every view when `views` is
// null. Does nothing when the database file does not exist (it is not
// created). Teardown and a view new to the registry start over from here.
Status ForgetWatermarks(const std::string& db_path, const std::string& project,
                        const std::vector<std::string>* views);

// The stored watermark of `view`, or nullopt when it has none.
Result<std::optional<TimestampMicros>> ReadWatermark(const FeatureRepo& repo,
                                                     const std::string& view);

}  // namespace larder::materialize
