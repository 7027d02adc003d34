// Training data: point-in-time correct historical feature retrieval.
//
//   HistoricalFeaturesRequest req;
//   req.entity_path = "ratings.parquet";          // or req.entity_sql
//   req.feature_service = "model_v4";             // or req.features
//   auto job = store->GetHistoricalFeatures(req);
//   if (!job.ok()) ...;
//   Result<int64_t> rows = (*job)->WriteToFile("training.parquet");
//
// Semantics (the same as Feast's get_historical_features): for every entity
// row and every requested feature view, the feature values come from the
// view's source row that has
//   - the same join keys,
//   - feature timestamp <= the row's event timestamp, and
//   - when the view's ttl is not 0, feature timestamp >= event timestamp - ttl
//     (both bounds inclusive);
// among those, the greatest in the order of rows: the latest feature
// timestamp, then the greatest created_timestamp_column when the source has
// one (a row without one is oldest), then the greatest tie key, a hash of the
// row's feature values (docs/online-store.md, "The order of rows"), so the
// row is the one materialization writes online. Source times with
// nanoseconds are rounded up to the microsecond first. No such row gives
// NULL for each of the view's features.
//
// Output: every entity row exactly once, in input order, duplicates
// included, with all of its own columns, followed by the requested features
// in request order. The event timestamp column is returned as TIMESTAMP WITH
// TIME ZONE in UTC: a naive timestamp is taken as UTC, one with an offset is
// converted. Feature columns are named `feature`, or `view__feature` when
// full_feature_names is set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "larder/config.h"
#include "larder/materialize.h"
#include "larder/online_store.h"
#include "larder/push.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "larder/transform.h"

// The Arrow C data interface, as the Arrow specification defines it
// (https://arrow.apache.org/docs/format/CDataInterface.html). The guard lets
// Arrow's own headers or another library's copy of these ABI-stable structs
// coexist with this one.
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

#endif  // ARROW_C_DATA_INTERFACE

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};

#endif  // ARROW_C_STREAM_INTERFACE

namespace larder {

// What training data to build. Exactly one entity source and exactly one
// feature selection must be given.
struct HistoricalFeaturesRequest {
  // The entity rows, from a Parquet or CSV file (chosen by the extension
  // .parquet / .csv; a glob is allowed). Relative paths are taken relative to
  // the process's working directory. Default: empty.
  std::string entity_path;
  // Or: a SELECT whose rows are the entity rows. It runs in the offline store
  // database, so it may read model tables and files (read_parquet(...)).
  // It must be exactly one statement, and a SELECT (FROM, VALUES and WITH
  // forms included); anything else is an InvalidArgument. It runs on its own
  // and never changes a store: on the offline store file opened read-only,
  // with DuckDB's configuration locked, and its rows are copied into the
  // job's own database. Default: empty.
  std::string entity_sql;
  // Or: the rows of an Arrow C stream (a pandas DataFrame or pyarrow Table
  // from the Python SDK). GetHistoricalFeatures reads the whole stream into
  // the job's own DuckDB database before it returns (so the job may run any
  // number of times); the stream stays owned by the caller, who releases it
  // afterwards, and must not be read by anyone else meanwhile. Arrow types
  // map to DuckDB's (a timestamp with a zone to TIMESTAMP WITH TIME ZONE).
  // Default: nullptr.
  ArrowArrayStream* entity_arrow_stream = nullptr;
  // The entity table must hold each join key of the requested views' entities
  // (of a type matching the entity's value_type) and a column
  // `event_timestamp`, or else exactly one timestamp column, which is used.

  // Feature references "view:feature", in output order. Default: empty.
  std::vector<std::string> features;
  // Or: the name of a feature service; its features in its order.
  // Default: empty.
  std::string feature_service;

  // Name feature columns `view__feature` instead of `feature`. Without it,
  // two requested features of the same name are an InvalidArgument naming
  // both views. Default: false.
  bool full_feature_names = false;
};

// Resources for running a retrieval. Per call; defaults suit a 2-core
// machine with a few GB of memory.
struct HistoricalRetrievalOptions {
  // DuckDB's buffer memory limit; beyond it, joins and sorts spill to
  // temp_directory. Process peak memory stays somewhat above it.
  // Default: "1GB".
  std::string memory_limit = "1GB";
  // Where DuckDB spills. Empty: a fresh directory under the system temporary
  // directory, removed when the job is destroyed. Default: empty.
  std::string temp_directory;
  // DuckDB worker threads; 0 means DuckDB's default (the number of cores).
  // Default: 0.
  int threads = 0;
};

// A prepared point-in-time join. Nothing is computed until WriteToFile or
// ExportArrowStream is called; each call runs the query anew.
//
// Thread safety: not thread-safe; use from one thread at a time.
class HistoricalRetrievalJob {
 public:
  class Impl;  // internal
  explicit HistoricalRetrievalJob(std::unique_ptr<Impl> impl);
  ~HistoricalRetrievalJob();
  HistoricalRetrievalJob(const HistoricalRetrievalJob&) = delete;
  HistoricalRetrievalJob& operator=(const HistoricalRetrievalJob&) = delete;

  // The output's column names, in order.
  const std::vector<std::string>& column_names() const;
  // The one DuckDB query that computes the result (for explaining and
  // debugging).
  const std::string& sql() const;

  // Writes the result to `path`: Parquet when it ends in ".parquet", CSV
  // (with a header) when it ends in ".csv"; any other extension is
  // InvalidArgument. The result streams from DuckDB to the file, spilling
  // to disk rather than holding it in memory. An existing file is replaced.
  // Returns the number of rows written.
  Result<int64_t> WriteToFile(const std::string& path);

  // Hands the result out through the Arrow C stream interface. On success
  // `*out` is initialised and owned by the caller, who must call
  // out->release(out); the stream stays valid after this job is destroyed.
  // Batches are produced as the caller pulls them (DuckDB's chunk size,
  // 2048 rows). Errors while pulling are reported by get_next's return value
  // and get_last_error.
  Status ExportArrowStream(ArrowArrayStream* out);

 private:
  std::unique_ptr<Impl> impl_;
};

// What an offline push did.
struct OfflineAppend {
  int64_t rows = 0;      // rows given
  int64_t appended = 0;  // rows not already stored, appended
};

// Where an offline store lives: feature_store.yaml's `offline_store:`
// section, and the repo it serves.
struct OfflineStoreOptions {
  // type and options; the type picks the backend ("duckdb"). Default:
  // RepoConfig's default, the embedded DuckDB file.
  StoreConfig config = RepoConfig{}.offline_store;
  // The repo directory, absolute: relative paths of the config and of file
  // sources are taken relative to it.
  std::string repo_root;
  // The project, whose materialization watermarks the store keeps.
  std::string project;
};

// The offline store: the engine that reads data sources, builds SQL models
// and runs their data tests, computes point-in-time joins for training data
// and the latest row per entity for materialization, and keeps pushed rows.
// FeatureStore speaks to the engine only through this interface; backends are
// chosen by `offline_store.type`, as online stores are
// (docs/offline-store.md). Every method takes the repo whose definitions it
// serves, with root and config set.
//
// Type compatibility: backends report a column's type in the spelling of
// ColumnInfo (repo.h), one vocabulary whatever the engine, which one table
// (repo/column_types.h) matches against dtypes.
//
// Thread safety: not thread-safe; use one per thread.
class OfflineStore {
 public:
  virtual ~OfflineStore() = default;

  // The backend's `offline_store.type` name.
  virtual const std::string& type() const = 0;

  // The columns of a file or dbt source (LoadOptions::schema_resolver);
  // NotFound when its path matches nothing.
  virtual Result<std::vector<ColumnInfo>> SourceSchema(const DataSource& source,
                                                       const std::string& abs_path) = 0;

  // Builds the selected SQL models, in dependency order (larder/transform.h).
  virtual Result<RunReport> RunModels(const FeatureRepo& repo, const RunOptions& options) = 0;
  // Runs the data tests of the selected models.
  virtual Result<TestReport> TestModels(const FeatureRepo& repo, const TestOptions& options) = 0;

  // Training data: a point-in-time join, prepared (semantics above).
  virtual Result<std::unique_ptr<HistoricalRetrievalJob>> GetHistoricalFeatures(
      const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
      const HistoricalRetrievalOptions& options) = 0;

  // Writes the latest row per entity of each selected online view, with
  // start <= event time < end, into `online` (larder/materialize.h); without
  // `start`, each view from its watermark. Moves the views' watermarks.
  virtual Result<MaterializeReport> Materialize(const FeatureRepo& repo, OnlineStore& online,
                                                std::optional<TimestampMicros> start,
                                                TimestampMicros end,
                                                const MaterializeOptions& options) = 0;
  // Deletes the project's watermarks: of `views`, or of every view when it
  // is null. Creates nothing when the store holds none.
  virtual Status ForgetWatermarks(const std::vector<std::string>* views) = 0;

  // Appends rows to a push source's offline history: from a Parquet or CSV
  // file, or given column-wise. Rows already stored are not appended again;
  // an event time later than `latest_event_time` is refused.
  virtual Result<OfflineAppend> PushFile(const FeatureRepo& repo, const std::string& push_source,
                                         const std::string& file,
                                         TimestampMicros latest_event_time) = 0;
  virtual Result<OfflineAppend> PushRows(const FeatureRepo& repo, const std::string& push_source,
                                         const ColumnTable& rows,
                                         TimestampMicros latest_event_time) = 0;
};

// Reads every row of an Arrow C stream (a pandas DataFrame or pyarrow Table
// from the Python SDK) into a ColumnTable for FeatureStore::Push and
// WriteToOnlineStore, through a private in-memory DuckDB database. Columns
// become Values by their Arrow type: booleans Bool; integers Int64; floats
// and decimals Float64; strings String; binary Bytes; timestamps and dates
// UnixTimestamp (a timestamp without a zone is taken as UTC); lists of these
// the array Value of their element (a NULL element is an error). Nulls are
// null Values. Push then converts them to the declared dtypes
// (larder/push.h). The stream is consumed but stays owned by the caller.
// Errors: InvalidArgument naming the column (`df.<column>`) of any other
// type, or DuckDB's error reading the stream.
Result<ColumnTable> ReadArrowColumnTable(ArrowArrayStream* stream);
// The same for a Parquet or CSV file (by extension, as entity_path). NotFound
// for a missing file; errors name the file.
Result<ColumnTable> ReadFileColumnTable(const std::string& path);

}  // namespace larder
