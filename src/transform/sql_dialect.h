// The SQL engines that models and data tests run on, and how each spells
// the SQL that Larder writes around a model: quoting, casts, timestamps.
// Larder's generated SQL is written once against these functions, so that
// the DuckDB and Spark offline stores run the same logic.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "larder/definitions.h"
#include "larder/status.h"
#include "larder/types.h"

namespace larder::transform {

enum class SqlEngine { kDuckDb, kSpark };

// "duckdb", "spark": the names of the offline store types, and of the
// values of a model's config(engine=...).
std::string_view SqlEngineName(SqlEngine engine);
// The engine named `name`; nullopt for any other text.
std::optional<SqlEngine> SqlEngineNamed(std::string_view name);

// `name` as one identifier of `engine`: DuckDB "a""b", Spark `a``b`.
std::string QuoteName(SqlEngine engine, std::string_view name);
// `text` as a string literal of `engine`: DuckDB doubles quotes; Spark
// escapes quotes and backslashes with a backslash (Spark joins adjacent
// literals, so a doubled quote would not stand for itself). NUL bytes are
// dropped.
std::string QuoteText(SqlEngine engine, std::string_view text);
// The type that CAST(x AS <type>) turns a value into text with: VARCHAR,
// STRING.
std::string_view TextType(SqlEngine engine);
// A timestamp literal of the UTC time `micros`, without a zone (Larder's
// Spark sessions run in UTC).
std::string TimestampLiteral(SqlEngine engine, TimestampMicros micros);
// `timestamp_sql` (an expression of a timestamp type) minus `micros`
// microseconds, in that type. `micros` >= 0.
std::string MinusMicros(SqlEngine engine, const std::string& timestamp_sql, int64_t micros);

// Where a store keeps model tables and how it reads data sources: what
// {{ ref() }}, {{ source() }} and {{ this }} render to, and what data tests
// read.
struct SqlRelations {
  SqlEngine engine = SqlEngine::kDuckDb;
  // The quoted name of model `model`'s table. REQUIRED.
  std::function<std::string(std::string_view model)> model_table;
  // A relation (a table name or a parenthesised query) of `source`'s raw
  // rows; a Status names what is missing. REQUIRED.
  std::function<Result<std::string>(const DataSource& source)> raw_source;
};

}  // namespace larder::transform
