#include "registry/sqlite_db.h"

#include <sqlite3.h>

#include <cstdint>
#include <utility>

namespace larder {
namespace {

// SQLITE_TRANSIENT without the macro's C-style cast.
sqlite3_destructor_type Transient() {
  return reinterpret_cast<sqlite3_destructor_type>(static_cast<intptr_t>(-1));
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(
    const std::string& path, std::string label,
    std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::IOError(label + ": cannot open: " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  auto count = busy_timeout.count();
  int ms = count > INT32_MAX ? INT32_MAX : static_cast<int>(count < 0 ? 0 : count);
  sqlite3_busy_timeout(db, ms);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, std::move(label)));
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Status SqliteDb::Error(int rc, std::string_view doing) const {
  std::string msg = label_;
  msg += ": ";
  msg += doing;
  msg += ": ";
  // The connection's message describes the last failure; fall back to the
  // generic text for the code when the two disagree.
  if (sqlite3_extended_errcode(db_) == rc) {
    msg += sqlite3_errmsg(db_);
  } else {
    msg += sqlite3_errstr(rc);
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(std::move(msg));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::Corruption(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_NOLFS:
      return Status::IOError(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

Status SqliteDb::Exec(std::string_view sql, std::string_view doing) {
  LARDER_ASSIGN_OR_RETURN(SqliteStatement stmt,
                          SqliteStatement::Prepare(*this, sql, doing));
  return stmt.Run();
}

Result<SqliteStatement> SqliteStatement::Prepare(SqliteDb& db,
                                                 std::string_view sql,
                                                 std::string_view doing) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(),
                              static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return db.Error(rc, doing);
  }
  if (stmt == nullptr) {
    return Status::Internal(db.label() + ": " + std::string(doing) +
                            ": empty SQL statement");
  }
  return SqliteStatement(&db, stmt, std::string(doing));
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      doing_(std::move(other.doing_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    doing_ = std::move(other.doing_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

Status SqliteStatement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? Status::OK() : db_->Error(rc, doing_);
}

Status SqliteStatement::Bind(int index, std::string_view text) {
  // A null pointer would bind NULL: empty text is bound as ''.
  int rc = sqlite3_bind_text64(stmt_, index, text.data() != nullptr ? text.data() : "",
                               text.size(), Transient(), SQLITE_UTF8);
  return rc == SQLITE_OK ? Status::OK() : db_->Error(rc, doing_);
}

Status SqliteStatement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  return rc == SQLITE_OK ? Status::OK() : db_->Error(rc, doing_);
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status error = db_->Error(rc, doing_);
  sqlite3_reset(stmt_);
  return error;
}

Status SqliteStatement::Run() {
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  Reset();
  return Status::OK();
}

void SqliteStatement::Reset() { sqlite3_reset(stmt_); }

int64_t SqliteStatement::ColumnInt64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string SqliteStatement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return std::string();
  int size = sqlite3_column_bytes(stmt_, index);
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(size));
}

bool SqliteStatement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

SqliteTransaction::~SqliteTransaction() {
  if (sqlite3_get_autocommit(db_.handle()) == 0) {
    (void)db_.Exec("ROLLBACK", "rolling back");
  }
}

}  // namespace larder
