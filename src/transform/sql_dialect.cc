#include "transform/sql_dialect.h"

#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_sql.h"

namespace larder::transform {

std::string_view SqlEngineName(SqlEngine engine) {
  return engine == SqlEngine::kDuckDb ? "duckdb" : "spark";
}

std::optional<SqlEngine> SqlEngineNamed(std::string_view name) {
  if (name == "duckdb") return SqlEngine::kDuckDb;
  if (name == "spark") return SqlEngine::kSpark;
  return std::nullopt;
}

std::string QuoteName(SqlEngine engine, std::string_view name) {
  return engine == SqlEngine::kDuckDb ? duckdb::QuoteIdentifier(name)
                                      : offline::spark::QuoteIdentifier(name);
}

std::string QuoteText(SqlEngine engine, std::string_view text) {
  return engine == SqlEngine::kDuckDb ? duckdb::QuoteLiteral(text)
                                      : offline::spark::QuoteLiteral(text);
}

std::string_view TextType(SqlEngine engine) {
  return engine == SqlEngine::kDuckDb ? "VARCHAR" : "STRING";
}

std::string TimestampLiteral(SqlEngine engine, TimestampMicros micros) {
  return "TIMESTAMP " + QuoteText(engine, duckdb::FormatTimestampMicros(micros));
}

std::string MinusMicros(SqlEngine engine, const std::string& timestamp_sql, int64_t micros) {
  if (engine == SqlEngine::kDuckDb) {
    return timestamp_sql + " - to_microseconds(CAST(" + std::to_string(micros) + " AS BIGINT))";
  }
  // make_dt_interval(days, hours, mins, secs DECIMAL(18,6)): exact to the
  // microsecond, and a timestamp minus it keeps the timestamp's type.
  constexpr int64_t kDay = 86'400'000'000;
  const int64_t rest = micros % kDay;
  std::string fraction = std::to_string(1'000'000 + rest % 1'000'000).substr(1);
  return timestamp_sql + " - make_dt_interval(" + std::to_string(micros / kDay) + ", 0, 0, " +
         std::to_string(rest / 1'000'000) + "." + fraction + ")";
}

}  // namespace larder::transform
