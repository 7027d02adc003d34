#include "repo/definition_keys.h"

#include <array>

namespace larder::repo {
namespace {

constexpr KeySpec kCommon[] = {
    {"description", false, "free text"},
    {"tags", false, "mapping of tag names to values"},
    {"owner", false, "owner, e.g. an email address"},
};

constexpr std::array<KeySpec, 6> kEntityKeys{{
    {"name", true, "entity name"},
    {"join_keys", false, "list of join key columns (default: [name])"},
    {"value_type", true, "dtype of the join keys, e.g. Int64 or String"},
    kCommon[0], kCommon[1], kCommon[2],
}};

constexpr std::array<KeySpec, 27> kDataSourceKeys{{
    {"name", true, "data source name"},
    {"type", true, "file, push, model, query, kinesis, kafka, dbt or spark"},
    {"path", false,
     "file: parquet or csv path or glob, relative to the repo; spark: a path Spark reads"},
    {"file_format", false,
     "file: parquet or csv (default: from the path's extension); spark: parquet, orc, json "
     "or delta"},
    {"table", false, "spark: a table of Spark's catalog, table or database.table"},
    {"batch_source", false, "push, kinesis, kafka: the source that keeps the rows' history"},
    {"stream_name", false, "kinesis: the stream"},
    {"region", false, "kinesis: the AWS region, e.g. us-east-1"},
    {"endpoint_url", false,
     "kinesis: http(s)://host[:port] (default https://kinesis.<region>.amazonaws.com)"},
    {"bootstrap_servers", false, "kafka: the brokers, host:port[,host:port...]"},
    {"topic", false, "kafka: the topic"},
    {"group_id", false, "kafka: the consumer group (default: larder.<project>.<source>)"},
    {"starting_position", false,
     "kinesis: trim_horizon (default) or latest; kafka: earliest (default) or latest"},
    {"record_format", false, "kinesis, kafka: json (the only format)"},
    {"to", false, "kinesis, kafka: online_and_offline (default), online or offline"},
    {"model", false, "model: name of the SQL model in models/; dbt: name of the dbt model"},
    {"query", false, "query: a SELECT over files and model tables; spark: a Spark SQL query"},
    {"project_dir", false, "dbt: the dbt project's folder, relative to the repo"},
    {"target_path", false, "dbt: the folder of manifest.json, relative to project_dir (default target)"},
    {"database_path", false,
     "dbt: the DuckDB file dbt-duckdb writes, relative to project_dir (default: the path of "
     "the dbt profile's target in profiles.yml)"},
    {"dbt_executable", false,
     "dbt: a scheduled view run first runs `DBT build --select MODEL+` with this dbt (a name "
     "on PATH or a path; default: none, dbt is not run)"},
    {"timestamp_field", false,
     "file, model, query, dbt, spark: event time column; kinesis, kafka: its record field"},
    {"created_timestamp_column", false,
     "file, model, query, dbt, spark: column breaking ties of equal event time"},
    {"field_mapping", false, "mapping of source column names to feature names"},
    kCommon[0], kCommon[1], kCommon[2],
}};

// The scheduling keys of models and feature views (BatchSchedule).
constexpr std::array<KeySpec, 5> kSchedule{{
    {"batch_schedule", false,
     "when the scheduler runs it: @hourly, @daily, @weekly, @monthly, @yearly, a duration such "
     "as 15m, or a 5-field cron expression"},
    {"schedule_timezone", false,
     "the IANA time zone whose wall time batch_schedule's cron or @alias follows (default UTC)"},
    {"catchup", false, "whether intervals missed while the scheduler was down all run (default true)"},
    {"retries", false, "attempts after a failed one (default 2)"},
    {"retry_delay", false, "wait before the first retry, doubling after each (default 1m)"},
}};

constexpr std::array<KeySpec, 17> kFeatureViewKeys{{
    {"name", true, "feature view name"},
    {"entities", false, "list of entity names (default: none)"},
    {"ttl", false, "how long a value stays valid, e.g. 365d; 0 means forever (default 0)"},
    {"schema", false, "list of fields: {name, dtype}; schema, aggregations or both"},
    {"aggregations", false,
     "list of window aggregations: {column, function, time_window}; schema, aggregations or "
     "both"},
    {"aggregation_interval", false,
     "tile size of the aggregations, e.g. 10m; windows end at its multiples (default: "
     "continuous)"},
    {"source", true, "data source name"},
    {"online", false, "whether to serve online (default true)"},
    kSchedule[0], kSchedule[1], kSchedule[2], kSchedule[3], kSchedule[4],
    {"materialization_lookback", false,
     "a scheduled run re-materializes this much before the watermark, for late rows (default "
     "0)"},
    kCommon[0], kCommon[1], kCommon[2],
}};

constexpr std::array<KeySpec, 5> kFeatureServiceKeys{{
    {"name", true, "feature service name"},
    {"features", true,
     "list of feature view names, or {feature_view, features: [names]} items"},
    kCommon[0], kCommon[1], kCommon[2],
}};

constexpr std::array<KeySpec, 4> kFieldKeys{{
    {"name", true, "column name"},
    {"dtype", true, "Int32, Int64, Float32, Float64, String, Bytes, Bool, UnixTimestamp, Array(T)"},
    {"description", false, "free text"},
    {"tags", false, "mapping of tag names to values"},
}};

constexpr std::array<KeySpec, 6> kAggregationKeys{{
    {"column", true, "the source column aggregated (after field_mapping)"},
    {"function", true,
     "count, sum, mean, min, max, stddev, variance, first, last, first_n(N), last_n(N), "
     "count_distinct or approx_count_distinct"},
    {"time_window", true, "a duration such as 1d, or lifetime"},
    {"name", false, "output feature name (default: COLUMN_FUNCTION_WINDOW, e.g. rating_mean_1d)"},
    {"dtype", false,
     "the column's dtype (default: read from the source's files; required for model and "
     "query sources)"},
    {"description", false, "free text"},
}};

constexpr std::array<KeySpec, 2> kServiceItemKeys{{
    {"feature_view", true, "feature view name"},
    {"features", false, "chosen feature names (default: all)"},
}};

constexpr std::array<KeySpec, 9> kModelKeys{{
    {"name", true, "the model's name: models/NAME.sql"},
    {"description", false, "free text"},
    {"columns", false, "list of {name, description, tests} for the model's columns"},
    {"tests", false, "model-level data tests, e.g. freshness"},
    kSchedule[0], kSchedule[1], kSchedule[2], kSchedule[3], kSchedule[4],
}};


constexpr std::array<KeySpec, 3> kModelColumnKeys{{
    {"name", true, "column name"},
    {"description", false, "free text"},
    {"tests", false,
     "data tests: not_null, unique, accepted_values: {values}, accepted_range: "
     "{min_value, max_value}, relationships: {to, field}, freshness: {max_age}"},
}};

constexpr std::array<DefinitionSection, 5> kSections{{
    {"entities", "entity", kEntityKeys},
    {"data_sources", "data source", kDataSourceKeys},
    {"feature_views", "feature view", kFeatureViewKeys},
    {"feature_services", "feature service", kFeatureServiceKeys},
    {"models", "model", kModelKeys},
}};

}  // namespace

std::span<const DefinitionSection> DefinitionSections() { return kSections; }
std::span<const KeySpec> FieldKeys() { return kFieldKeys; }
std::span<const KeySpec> AggregationKeys() { return kAggregationKeys; }
std::span<const KeySpec> ServiceItemKeys() { return kServiceItemKeys; }
std::span<const KeySpec> ModelColumnKeys() { return kModelColumnKeys; }

}  // namespace larder::repo
