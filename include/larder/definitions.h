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
  kPush,   // rows pushed through the API; history lands in batch_source
  kModel,  // the output table of a SQL model in models/
  kQuery,  // a SQL query over the offline store and files
};

enum class FileFormat { kParquet, kCsv };

struct DataSource {
  std::string name;
  DataSourceKind kind = DataSourceKind::kFile;

  // kFile: the path or glob, relative to the repo root unless absolute.
  std::string path;
  FileFormat file_format = FileFormat::kParquet;  // Default: from extension
  // kPush: the name of the source that holds the pushed rows' history.
  std::string batch_source;
  // kModel: the model's name (models/<model>.sql).
  std::string model;
  // kQuery: a DuckDB SELECT; it may read files and model tables.
  std::string query;

  // kFile, kModel and kQuery: the event-time column, and the optional column that
  // breaks ties between rows of the same event time.
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

struct FeatureView {
  std::string name;
  std::vector<std::string> entities;  // entity names
  Duration ttl;                       // 0 means no limit
  // Feature columns. Columns named like a join key of `entities` are entity
  // columns and are kept in `entity_columns` instead.
  std::vector<Field> schema;
  std::vector<Field> entity_columns;
  std::string source;  // data source name
  bool online = true;
  std::string description;
  Tags tags;
  std::string owner;
  SourceLocation location;
};

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
