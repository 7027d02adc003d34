#include "offline/spark/spark_rows.h"

#include <charconv>
#include <memory>
#include <optional>
#include <vector>

#include "offline/arrow_ipc/ipc_arrow_stream.h"
#include "offline/duckdb/arrow_stream.h"

namespace larder::offline::spark {

Result<duckdb::QueryResult> SparkRows(SparkConnectClient& client, const std::string& sql,
                                      const std::string& what) {
  std::vector<std::string> chunks;
  Status ran = client.ExecuteSql(sql, [&](std::string_view ipc, int64_t) {
    chunks.emplace_back(ipc);
    return Status::OK();
  });
  if (!ran.ok()) return ran.WithContext(what);
  if (chunks.empty()) return duckdb::QueryResult{};
  auto next = std::make_shared<size_t>(0);
  ArrowArrayStream stream =
      arrow_ipc::MakeArrowStream([&chunks, next]() -> Result<std::optional<std::string>> {
        if (*next == chunks.size()) return std::optional<std::string>();
        return std::optional<std::string>(std::move(chunks[(*next)++]));
      });
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  Status imported = duckdb::ImportArrowStream(*conn, &stream, "spark_rows", what);
  stream.release(&stream);
  LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(imported));
  return conn->Query("SELECT * FROM spark_rows", what);
}

Result<int64_t> SparkCount(SparkConnectClient& client, const std::string& sql,
                           const std::string& what) {
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult r, SparkRows(client, sql, what));
  if (r.rows.size() != 1 || r.rows[0].size() != 1) {
    return Status::Internal(what + ": expected one count from Spark, got " +
                            std::to_string(r.rows.size()) + " rows");
  }
  if (!r.rows[0][0]) return int64_t{0};
  const std::string& v = *r.rows[0][0];
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    return Status::Internal(what + ": expected a count, got '" + v + "'");
  }
  return n;
}

}  // namespace larder::offline::spark
