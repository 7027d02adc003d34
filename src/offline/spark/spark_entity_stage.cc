#include "offline/spark/spark_entity_stage.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/file_schema.h"

namespace larder::offline::spark {
namespace fs = std::filesystem;

StagedEntityFile::StagedEntityFile(std::string dir) : dir_(std::move(dir)) {}

StagedEntityFile::~StagedEntityFile() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string StagedEntityFile::path() const { return dir_ + "/entities.parquet"; }

bool IsLoopbackEndpoint(std::string_view endpoint) {
  std::string_view host;
  if (endpoint.starts_with('[')) {
    const size_t close = endpoint.find(']');
    if (close == std::string_view::npos) return false;
    host = endpoint.substr(1, close - 1);
  } else {
    host = endpoint.substr(0, endpoint.rfind(':'));
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad (not a name that starts so).
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

Result<std::shared_ptr<StagedEntityFile>> StageEntityRows(const HistoricalFeaturesRequest& request,
                                                          std::string_view endpoint,
                                                          const std::string& what) {
  if (!IsLoopbackEndpoint(endpoint)) {
    return Status::InvalidArgument(
        what + ": the Spark server at " + std::string(endpoint) +
        " cannot read rows held on this machine; write them to a parquet path the server "
        "reads (such as s3a://...) and pass that, or pass entity SQL");
  }
  std::error_code ec;
  std::string pattern = (fs::temp_directory_path(ec) / "larder-spark-entities-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError(what + ": cannot create a directory from " + pattern);
  }
  auto staged = std::make_shared<StagedEntityFile>(pattern);
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  std::string relation = "__larder_entities";
  if (request.entity_arrow_stream != nullptr) {
    LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(
        duckdb::ImportArrowStream(*conn, request.entity_arrow_stream, relation, what)));
  } else {
    const std::string abs = fs::absolute(request.entity_path, ec).lexically_normal().string();
    if (!fs::exists(abs, ec)) return Status::NotFound(what + ": no file matches " + abs);
    relation = duckdb::FileScanSql(FileFormat::kCsv, abs);
  }
  LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(conn->Execute(
      "COPY (SELECT * FROM " + relation + ") TO " + duckdb::QuoteLiteral(staged->path()) +
          " (FORMAT parquet)",
      what)));
  return staged;
}

}  // namespace larder::offline::spark
