// Thin RAII wrappers over SQLite's C API that turn result codes into
// Status values naming the database (e.g. "registry data/registry.db").
// Only prepared statements with bound parameters are offered for SQL that
// carries values.
//
// Thread safety: none; a SqliteDb and its statements belong to one thread
// at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "larder/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace larder {

class SqliteDb {
 public:
  // Opens `path`, creating the file when absent. `label` names the database
  // in every error message. Writers wait up to `busy_timeout` for a lock.
  // IOError when the file cannot be opened or created.
  static Result<std::unique_ptr<SqliteDb>> Open(
      const std::string& path, std::string label,
      std::chrono::milliseconds busy_timeout);

  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& label() const { return label_; }

  // A Status for SQLite result code `rc`:
  // "<label>: <doing>: <sqlite message>". Busy/locked -> Busy, not a
  // database/corrupt -> Corruption, I/O, permission, full, read-only,
  // cannot open -> IOError, anything else -> Internal.
  Status Error(int rc, std::string_view doing) const;

  // Runs one statement that takes no parameters, discarding any rows.
  Status Exec(std::string_view sql, std::string_view doing);

 private:
  SqliteDb(sqlite3* db, std::string label) : db_(db), label_(std::move(label)) {}

  sqlite3* db_;
  std::string label_;
};

// One prepared statement. Move-only; finalized on destruction.
class SqliteStatement {
 public:
  static Result<SqliteStatement> Prepare(SqliteDb& db, std::string_view sql,
                                         std::string_view doing);

  SqliteStatement(SqliteStatement&&) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) noexcept;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite. Text is copied.
  Status Bind(int index, int64_t value);
  Status Bind(int index, std::string_view text);
  Status BindNull(int index);

  // Runs to the next row: true when a row is ready, false when done.
  Result<bool> Step();
  // Runs to completion, ignoring rows, then resets for reuse (bindings kept
  // until the next Bind).
  Status Run();
  // Makes the statement ready to run again.
  void Reset();

  // REQUIRES: the last Step() returned true.
  int64_t ColumnInt64(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt, std::string doing)
      : db_(db), stmt_(stmt), doing_(std::move(doing)) {}

  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  std::string doing_;
};

// Rolls back on destruction whatever transaction is still open, so every
// early return leaves the connection clean and the file unchanged.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db) : db_(db) {}
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  Status BeginRead() { return db_.Exec("BEGIN", "starting a read"); }
  // BEGIN IMMEDIATE: takes the write lock up front (waiting through the
  // busy handler).
  Status BeginWrite(std::string_view doing) { return db_.Exec("BEGIN IMMEDIATE", doing); }
  Status Commit() { return db_.Exec("COMMIT", "committing"); }

 private:
  SqliteDb& db_;
};

}  // namespace larder
