#include "store/stream_checkpoints.h"

#include <filesystem>
#include <optional>

#include "larder/stream.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder {
namespace stream_consumer {
namespace {

using duckdb::QuoteLiteral;

// Reasons and names go into VARCHAR columns: keep them printable ASCII.
std::string Printable(std::string_view text, size_t max = 2000) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace

CheckpointStore::CheckpointStore(std::string db_path, std::string project)
    : db_path_(std::move(db_path)), project_(std::move(project)) {}

CheckpointStore::~CheckpointStore() = default;

Result<std::map<std::string, Checkpoint>> CheckpointStore::Load(const std::string& source) {
  LARDER_ASSIGN_OR_RETURN(auto conn, Open());
  const ValueType types[] = {{ScalarType::kString}, {ScalarType::kString}, {ScalarType::kBool}};
  LARDER_ASSIGN_OR_RETURN(
      auto rows, conn->QueryValues(std::string("SELECT shard, sequence_number, closed FROM ") +
                                       kStreamCheckpointTable + " WHERE project = " +
                                       QuoteLiteral(project_) + " AND source = " +
                                       QuoteLiteral(source),
                                   "stream checkpoints", types));
  std::map<std::string, Checkpoint> out;
  for (const auto& row : rows) {
    out[row[0].string_value()] = {row[1].is_null() ? "" : row[1].string_value(),
                                  !row[2].is_null() && row[2].bool_value()};
  }
  return out;
}

Status CheckpointStore::Commit(const std::string& source, const std::vector<ShardCommit>& commits) {
  if (commits.empty()) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(auto conn, Open());
  std::string sql = "BEGIN TRANSACTION;\n";
  for (const ShardCommit& c : commits) {
    const std::string shard = QuoteLiteral(c.shard);
    for (const DeadLetter& d : c.dead) {
      sql += std::string("INSERT INTO ") + kStreamDeadLetterTable + " VALUES (" +
             QuoteLiteral(project_) + ", " + QuoteLiteral(source) + ", " + shard + ", " +
             QuoteLiteral(d.position) + ", make_timestamp(" + std::to_string(d.arrival_ms * 1000) +
             "), " + QuoteLiteral(Printable(d.reason)) + ", from_hex(" + QuoteLiteral(Hex(d.data)) +
             ")) ON CONFLICT DO NOTHING;\n";
    }
    sql += std::string("INSERT OR REPLACE INTO ") + kStreamCheckpointTable + " VALUES (" +
           QuoteLiteral(project_) + ", " + QuoteLiteral(source) + ", " + shard + ", " +
           QuoteLiteral(c.checkpoint.position) + ", " + (c.checkpoint.closed ? "true" : "false") +
           ", now());\n";
  }
  sql += "COMMIT;";
  return conn->Execute(sql, "stream checkpoints of " + source);
}

Result<std::unique_ptr<duckdb::Connection>> CheckpointStore::Open() {
  LARDER_ASSIGN_OR_RETURN(auto conn, duckdb::Connection::Open(db_path_));
  LARDER_RETURN_IF_ERROR(conn->Execute(
      std::string("CREATE TABLE IF NOT EXISTS ") + kStreamCheckpointTable +
          " (project VARCHAR, source VARCHAR, shard VARCHAR, sequence_number VARCHAR, "
          "closed BOOLEAN, updated_at TIMESTAMP WITH TIME ZONE, "
          "PRIMARY KEY (project, source, shard));\n"
          "CREATE TABLE IF NOT EXISTS " +
          kStreamDeadLetterTable +
          " (project VARCHAR, source VARCHAR, shard VARCHAR, sequence_number VARCHAR, "
          "arrived_at TIMESTAMP, reason VARCHAR, record BLOB, "
          "PRIMARY KEY (project, source, shard, sequence_number));",
      "stream tables"));
  return conn;
}

}  // namespace stream_consumer

Status ForgetStreamCheckpoints(const std::string& db_path, const std::string& project) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(auto conn, duckdb::Connection::Open(db_path));
  LARDER_ASSIGN_OR_RETURN(
      std::optional<std::string> exists,
      conn->QueryScalar(std::string("SELECT count(*) FROM duckdb_tables() WHERE table_name = ") +
                            duckdb::QuoteLiteral(kStreamCheckpointTable),
                        "stream checkpoints"));
  if (!exists || *exists == "0") return Status::OK();
  return conn->Execute(std::string("DELETE FROM ") + kStreamCheckpointTable +
                           " WHERE project = " + duckdb::QuoteLiteral(project),
                       "stream checkpoints of project '" + project + "'");
}

}  // namespace larder
