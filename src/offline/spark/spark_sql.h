// Spark SQL text: quoting, and the relations of data sources as Spark reads
// them. Every name and path that reaches Spark's SQL goes through here.
#pragma once

#include <string>
#include <string_view>

#include "larder/repo.h"
#include "larder/status.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

// `name` as one Spark identifier: in backticks, a backtick doubled.
std::string QuoteIdentifier(std::string_view name);

// `text` as a Spark string literal: in single quotes, with a backslash
// before each quote and backslash (Spark joins adjacent literals, so a
// doubled quote would not stand for itself). NUL bytes are dropped.
std::string QuoteLiteral(std::string_view text);

// The Spark database (schema) that model tables are built in:
// offline_store.options["database"], else "larder_<project>". Unquoted.
std::string ModelDatabase(const FeatureRepo& repo);

// Model `model`'s table, quoted: `<database>`.`<model>`.
std::string ModelTable(const FeatureRepo& repo, std::string_view model);

// A path as Spark's file relation `<format>.`path``, the path quoted as an
// identifier (so no character of it can end the SQL text). `format` is
// Spark's data source name (parquet, orc, json, delta).
std::string FileRelation(std::string_view format, std::string_view path);

// Microseconds since the epoch of time column `column` (quoted) whose type,
// in the one vocabulary (spark_types.h), is `type`. A naive timestamp, a
// date and text are read as UTC: Larder's sessions run with
// spark.sql.session.timeZone UTC.
std::string MicrosSql(const std::string& column, const std::string& type);

// The relation (a parenthesized query or a file relation) of the raw rows
// of `source`:
//   file   a parquet path or glob, relative to the repo root unless absolute;
//          it must be readable by Spark's executors (for a local Spark, the
//          same machine; for a cluster, a path such as s3a:// or hdfs://)
//   query  the query, as Spark SQL
//   model  the model's table in ModelDatabase(repo) (ModelTable)
// Other kinds, and csv files, are InvalidArgument naming the source: the
// spark offline store does not read them yet.
Result<std::string> RawSourceRelation(const FeatureRepo& repo, const DataSource& source);

// The relation of `source`'s rows after its field_mapping, whose columns
// are read from Spark's analysis of the raw relation (so the mapping can
// rename a column without listing the others).
Result<std::string> MappedSourceRelation(const FeatureRepo& repo, const DataSource& source,
                                         SparkConnectClient& client);

}  // namespace larder::offline::spark
