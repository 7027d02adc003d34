// The objects a feature repo declares: entities, data sources, feature views,
// feature services and SQL models.
//
// Field names follow Feast's Python arguments so that Feast users recognise
// them. These are plain values; they are validated by the repo loader
// (larder/repo.h) and stored by the registry (larder/registry.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"

namespace larder {

// Where a definition was written, for error messages. Not part of an
// object's identity: moving a definition to another file is not a change.
struct SourceLocation {
  std::string file;  // relative to the repo root
  int line = 0;      // 1-based; 0 when unknown
};

using Tags = std::map<std::string, std::string>;

struct Entity {
  std::string name;
  std::vector<std::string> join_keys;  // Default: {name}
  ValueType value_type;                // type of every join key
  std::string description;
  Tags tags;
  std::string owner;
  SourceLocation location;
};

enum class DataSourceKind {
  kFile,   // parquet or csv files: a path or a glob
  kPush,     // rows pushed through the API; history lands in batch_source
  kModel,    // the output table of a SQL model in models/
  kQuery,    // a SQL query over the offline store and files
  kKinesis,  // JSON records of a Kinesis stream (`larder stream`), pushed as
             // rows of batch_source's columns; history lands in batch_source
  kKafka,    // the same, from a Kafka topic read in a consumer group
  kDbt,      // a table or view that dbt-duckdb built, found through dbt's
             // manifest (docs/repo-format.md, "dbt sources")
  kSpark,    // a table, a query or files that Spark reads; only the spark
             // offline store reads it (docs/spark.md, "Spark sources")
};

// Whether rows reach a source of `kind` from outside (a push, a stream),
// with their columns and history in its batch_source.
bool ReceivesRows(DataSourceKind kind);

// Whether a source of `kind` is a stream that `larder stream` consumes
// (kinesis, kafka).
bool IsStreamSource(DataSourceKind kind);

// kFile sources read parquet and csv; kSpark sources read parquet, orc,
// json and delta (whichever the Spark server has).
enum class FileFormat { kParquet, kCsv, kOrc, kJson, kDelta };

struct DataSource {
  std::string name;
  DataSourceKind kind = DataSourceKind::kFile;

  // kFile: the path or glob, relative to the repo root unless absolute.
  // kSpark: a path Spark reads (relative to the repo root unless absolute
  // or a URI such as s3a://), with file_format.
  std::string path;
  FileFormat file_format = FileFormat::kParquet;  // Default: from extension
  // kPush, kKinesis, kKafka: the name of the source that holds the rows'
  // history and declares their columns.
  std::string batch_source;
  // kKinesis (docs/stream.md): the stream, its region and, for a local or
  // private endpoint, its URL ("" = https://kinesis.<region>.amazonaws.com,
  // which is refused until TLS is supported); where a new consumer starts
  // ("trim_horizon" or "latest"); the record format ("json"); and where the
  // rows go ("online_and_offline", "online" or "offline").
  std::string stream_name;
  std::string region;
  std::string endpoint_url;
  std::string starting_position;
  std::string record_format;
  std::string stream_to;
  // kKafka (docs/stream.md): the brokers ("host:port,host:port"), the topic
  // and the consumer group; starting_position is "earliest" or "latest", and
  // record_format and stream_to are as for kKinesis.
  std::string bootstrap_servers;
  std::string topic;
  std::string group_id;
  // kModel: the model's name (models/<model>.sql). kDbt: the dbt model's
  // name (the node model.<dbt project>.<model> of dbt's manifest).
  std::string model;
  // kDbt: the dbt project's folder, relative to the repo root unless
  // absolute; its target folder (dbt's target-path, where manifest.json is),
  // relative to project_dir; and the DuckDB file that dbt-duckdb writes,
  // relative to project_dir unless absolute ("" = the `path` of the dbt
  // profile's target, read from profiles.yml).
  std::string project_dir;
  std::string target_path;  // Default: "target"
  std::string database_path;
  // kDbt: when set, a scheduled run of a view reading this source first runs
  // `<dbt_executable> build --select <model>+` in project_dir (no shell; a
  // bare name is looked up on PATH, a relative path is relative to the repo
  // root). Default: "" (Larder does not run dbt).
  std::string dbt_executable;
  // kQuery: a DuckDB SELECT; it may read files and model tables.
  // kSpark: a Spark SQL query.
  std::string query;
  // kSpark: a table of Spark's catalog, `table` or `database.table`
  // (book_recsys_apply.users). Exactly one of table, query and path is set.
  std::string table;

  // kFile, kModel, kQuery, kDbt and kSpark: the event-time column, and the optional column that
  // breaks ties between rows of the same event time. kKinesis, kKafka: the record's
  // field holding the event time, which becomes batch_source's.
  std::string timestamp_field;
  std::string created_timestamp_column;
  // Source column name -> feature or join-key name.
  std::map<std::string, std::string> field_mapping;

  std::string description;
  Tags tags;
  std::string owner;
  SourceLocation location;
};

struct Field {
  std::string name;
  ValueType dtype;
  std::string description;
  Tags tags;
  SourceLocation location;
};

// The functions of window aggregations (docs/aggregations.md). The value at
// instant t covers the events with event time in [t - window, t), t first
// rounded down to a multiple of the view's aggregation_interval when it has
// one. Null values of the column are skipped; a window with no value gives 0
// for the counts and null for every other function.
enum class AggregationFunction {
  kCount,                // non-null values; Int64
  kSum,                  // Int64 over integers, Float64 over floats
  kMean,                 // Float64
  kMin,                  // the column's dtype
  kMax,                  // the column's dtype
  kStddev,               // sample standard deviation, Float64; null below 2 values
  kVariance,             // sample variance, Float64; null below 2 values
  kFirst,                // the earliest value, the column's dtype
  kLast,                 // the latest value, the column's dtype
  kFirstN,               // the n earliest values, oldest first; Array(dtype)
  kLastN,                // the n latest values, oldest first; Array(dtype)
  kCountDistinct,        // exact; Int64
  kApproxCountDistinct,  // HyperLogLog with 2^12 registers; Int64
};

// One aggregation of a feature view:
//   aggregations:
//     - {column: rating, function: mean, time_window: 1d}
//     - {column: rating, function: last_n(5), time_window: lifetime, name: last_ratings}
struct Aggregation {
  std::string column;  // a source column (after field_mapping)
  AggregationFunction function = AggregationFunction::kCount;
  int64_t n = 0;       // kFirstN and kLastN: how many values, >= 1
  bool lifetime = false;
  Duration window;     // > 0 unless lifetime
  // The output feature's name. Default: AggregationDefaultName().
  std::string name;
  // The column's dtype in the source: written as `dtype`, or read from the
  // source's files when the repo is validated. A scalar dtype.
  ValueType column_dtype;
  SourceLocation location;
  std::string description;
  // True when the repo wrote `dtype`; the validator then checks it against
  // the source's files instead of reading it from them. Not stored in the
  // registry.
  bool dtype_given = false;
};

// "count", "sum", ..., "first_n", "last_n", "count_distinct",
// "approx_count_distinct".
std::string_view AggregationFunctionName(AggregationFunction function);
// Parses "mean", "last_n(5)", ... into *function and *n (0 unless _n).
// InvalidArgument naming the text and the accepted functions otherwise.
Status ParseAggregationFunction(std::string_view text, AggregationFunction* function,
                                int64_t* n);
// How the function is written: "mean", "last_n(5)".
std::string AggregationFunctionText(const Aggregation& aggregation);
// Tecton's default output name <column>_<function>_<window>: "rating_mean_1d",
// "rating_last_n5_7d", "rating_count_lifetime".
std::string AggregationDefaultName(const Aggregation& aggregation);
// The output feature's dtype (see AggregationFunction).
ValueType AggregationOutputType(const Aggregation& aggregation);
// OK when `function` applies to a column of `dtype`; otherwise
// InvalidArgument saying why ("sum needs a numeric column; 'title' is String").
// Arrays are refused for every function; sum, mean, stddev and variance need
// Int32, Int64, Float32 or Float64; min and max also take String and
// UnixTimestamp.
Status CheckAggregationFits(AggregationFunction function, ValueType dtype);

// When and how the scheduler (`larder schedule`, `larder backfill`) runs a
// SQL model or a feature view (docs/orchestration.md):
//   batch_schedule: "@hourly"          # or "@daily", "1h", "0 2 * * MON-FRI"
//   schedule_timezone: Europe/Berlin   # cron and @aliases in its wall time
//   materialization_lookback: 1h       # views: re-materialize before the watermark
//   catchup: false                     # run only the latest missed interval
//   retries: 3                         # after the first attempt
//   retry_delay: 30s                   # doubles with each retry
// A view reading a model's output inherits the model's schedule unless it
// sets its own.
struct BatchSchedule {
  // Empty: not scheduled (then the other fields keep their defaults).
  std::string batch_schedule;
  // The IANA time zone whose wall time a cron expression or @alias follows
  // ("Europe/Berlin"); durations ignore it. Default: "UTC".
  std::string timezone = "UTC";
  // Views: a scheduled run materializes from this much before the view's
  // watermark, for rows that arrived late. Default: 0.
  Duration materialization_lookback;
  // Whether intervals missed while the scheduler was down all run, in
  // order (true), or only the latest (false). Default: true.
  bool catchup = true;
  // Attempts after a failed one, each after retry_delay * 2^(n-1).
  // Default: 2, after 1 minute.
  int retries = 2;
  Duration retry_delay{60 * Duration::kSecond};

  bool scheduled() const { return !batch_schedule.empty(); }
  bool operator==(const BatchSchedule&) const = default;
};

struct FeatureView {
  std::string name;
  std::vector<std::string> entities;  // entity names
  Duration ttl;                       // 0 means no limit
  // Feature columns. Columns named like a join key of `entities` are entity
  // columns and are kept in `entity_columns` instead.
  std::vector<Field> schema;
  std::vector<Field> entity_columns;
  std::string source;  // data source name
  // Window aggregations over the source's events, served beside `schema`'s
  // features (docs/aggregations.md). Their outputs are features of the view.
  std::vector<Aggregation> aggregations;
  // The tile size of the aggregations: windows end at multiples of it. Zero
  // means continuous: a window ends at the instant asked for.
  Duration aggregation_interval;
  bool online = true;
  // When the scheduler materializes the view; unset when not scheduled.
  BatchSchedule schedule;
  std::string description;
  Tags tags;
  std::string owner;
  SourceLocation location;
};

// Every feature of a view, as served: `schema`'s fields, then one per
// aggregation (its name and AggregationOutputType), in declaration order.
std::vector<Field> ViewFeatures(const FeatureView& view);

// One element of a feature service: a whole view, or chosen features of it.
struct FeatureServiceItem {
  std::string feature_view;
  std::vector<std::string> features;  // empty means every feature
};

struct FeatureService {
  std::string name;
  std::vector<FeatureServiceItem> features;
  std::string description;
  Tags tags;
  std::string owner;
  SourceLocation location;
};

enum class DataTestKind {
  kNotNull,         // `column` has no NULL
  kUnique,          // `column` has no repeated non-NULL value
  kAcceptedValues,  // `column` is NULL or one of `values`
  kAcceptedRange,   // `column` is NULL or within [min_value, max_value]
  kRelationships,   // every non-NULL `column` value is in `to`.`field`
  kFreshness,       // max(`column`) is no older than `max_age` before now
};

// A data test on a SQL model's output, declared in YAML beside the models:
//   models:
//     - name: agg_book_features
//       columns:
//         - name: isbn
//           tests: [not_null, {relationships: {to: books_source, field: isbn}}]
//       tests:
//         - freshness: {column: rating_timestamp, max_age: 30d}
struct DataTest {
  DataTestKind kind = DataTestKind::kNotNull;
  std::string column;
  std::vector<std::string> values;       // kAcceptedValues, as written
  std::optional<double> min_value;       // kAcceptedRange; unset: no bound
  std::optional<double> max_value;       // kAcceptedRange; unset: no bound
  std::string to;                        // kRelationships: a model or data source
  std::string field;                     // kRelationships: a column of `to`
  Duration max_age;                      // kFreshness
  SourceLocation location;
};

// A SQL transformation at models/<name>.sql, with the description and data
// tests that a `models:` list in a definition file gives it.
struct SqlModel {
  std::string name;
  std::string sql;  // the file's full text
  std::string description;
  std::vector<DataTest> tests;
  // When the scheduler builds and tests the model on its own (its views
  // wait for it); unset: it is built as part of each scheduled view that
  // reads it.
  BatchSchedule schedule;
  SourceLocation location;
};

// "not_null", "unique", "accepted_values", "accepted_range",
// "relationships", "freshness".
std::string_view DataTestKindName(DataTestKind kind);

std::string_view DataSourceKindName(DataSourceKind kind);  // "file", ...
std::string_view FileFormatName(FileFormat format);        // "parquet", ...

// The kinds of registry object, in the order plan and apply report them.
enum class ObjectKind {
  kEntity,
  kDataSource,
  kSqlModel,
  kFeatureView,
  kFeatureService,
};
// "entity", "data source", "sql model", "feature view", "feature service".
std::string_view ObjectKindName(ObjectKind kind);

}  // namespace larder
