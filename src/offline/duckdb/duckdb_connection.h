// The one adapter between Larder and DuckDB's C API.
//
// Every other part of Larder that talks to DuckDB goes through this file:
// it turns DuckDB's error values into larder::Status, owns the C handles, and
// sets the session up the same way everywhere (TimeZone UTC).
//
// Error mapping (CodeFor in the .cc file): parser, binder, catalog,
// conversion, constraint and invalid-input errors (the SQL or the data it
// reads is wrong, e.g. a corrupt Parquet file) are InvalidArgument; file
// system, network and permission errors (e.g. a missing file) are IOError;
// transaction conflicts are Busy; serialization errors are Corruption;
// interrupts, out-of-memory and missing extensions are FailedPrecondition;
// DuckDB internal and fatal errors are Internal. Every
// message reads "<what>: <DuckDB's error text>", where `what` is the name the
// caller gave to the SQL object ("model agg_book_features",
// "file data/users.parquet").
//
// Thread safety: a Connection and its Appenders must be used by one thread at
// a time, except Interrupt(), which any thread may call. Separate Connections
// (NewConnection) to the same database may run queries concurrently.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"
#include "larder/value.h"

namespace larder::duckdb {

// A fully materialised query result, every value rendered as text.
//
// Meant for small results: schemas, counts, checks in tests. Values are
// rendered close to DuckDB's own CAST(x AS VARCHAR): integers in decimal,
// doubles in their shortest round-trip form ("1.0", "0.1", "1e+20"),
// DATE "2020-01-31", TIMESTAMP "2020-01-31 12:00:00.5", TIMESTAMP WITH TIME
// ZONE always in UTC as "2020-01-31 12:00:00+00", lists "[1, 2]", structs
// "{'a': 1}", maps "{k=v}". SQL NULL is std::nullopt.
struct QueryResult {
  std::vector<std::string> column_names;
  // DuckDB's type names: "BIGINT", "VARCHAR", "TIMESTAMP WITH TIME ZONE",
  // "DECIMAL(18,3)", "BIGINT[]", "STRUCT(a INTEGER)", ...
  std::vector<std::string> column_types;
  // rows[r][c] is the value of column c in row r.
  std::vector<std::vector<std::optional<std::string>>> rows;

  // The index of the column called `name` (exact match), or -1.
  int ColumnIndex(std::string_view name) const;
};

class Appender;
class PreparedStatement;

// How Connection::Open opens a database.
struct OpenOptions {
  // Open an existing database file read-only: no statement run through any
  // connection to it can change it (DuckDB refuses writes to it, also
  // nextval(), and refuses ATTACH of a file that does not exist). Other
  // processes may read it at the same time. Temporary tables and COPY ... TO
  // a file are still possible; callers that run untrusted SQL also use
  // PrepareOne. REQUIRES: a file path, not in-memory. Default: false.
  bool read_only = false;
};

// The kinds of statement PrepareOne accepts.
enum class StatementKind {
  kSelect,  // SELECT, also FROM t, VALUES, WITH ... SELECT
  kCreate,  // CREATE (TABLE/VIEW ... AS ...)
};

// An open DuckDB database and one connection to it.
class Connection {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" or ""
  // opens a private in-memory database. The parent directory of `path` is
  // created if missing. The session's TimeZone is set to UTC when the library
  // has ICU (this build does); if that fails the connection still opens, and
  // time_zone_is_utc() says so.
  // Errors: IOError when the directory or file cannot be created or opened
  // (with options.read_only: also when it does not exist), Busy when another
  // process holds the database's lock, InvalidArgument for read_only on an
  // in-memory database.
  // A file already open for writing in this process (by a Connection still
  // alive) is not opened again: the new Connection shares its database, as
  // NewConnection does. Two DuckDB instances of one file in one process
  // would both write it; DuckDB's lock only keeps other processes out.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const OpenOptions& options = {});

  // Opens another connection to the same database. The database stays open
  // until every Connection to it is destroyed.
  Result<std::unique_ptr<Connection>> NewConnection() const;

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql`, which may hold several statements separated by ';', and
  // discards any result. On error nothing after the failing statement runs;
  // statements before it are not rolled back unless they were in an explicit
  // transaction.
  [[nodiscard]] Status Execute(std::string_view sql, std::string_view what);

  // Runs `sql` and returns the result of its last statement, materialised in
  // memory as text (see QueryResult). For small results only.
  // A column of a type that cannot be rendered (BIGNUM) is InvalidArgument;
  // CAST it to VARCHAR in the SQL instead.
  Result<QueryResult> Query(std::string_view sql, std::string_view what);

  // Runs `sql` and returns its rows as Values of `types` (one per column, in
  // order), read from DuckDB's vectors without a detour through text. Each
  // column must have the DuckDB type of its dtype: Int32 INTEGER, Int64 and
  // UnixTimestamp BIGINT (epoch microseconds), Float32 FLOAT or DOUBLE,
  // Float64 DOUBLE, String VARCHAR, Bytes BLOB, Bool BOOLEAN; an array dtype
  // a LIST of its element's type, without NULL elements. Otherwise
  // InvalidArgument naming the column (or the row, for a NULL element).
  // The whole result is held in memory: for bounded results.
  Result<std::vector<std::vector<Value>>> QueryValues(std::string_view sql,
                                                      std::string_view what,
                                                      std::span<const ValueType> types);

  // Runs `sql` and returns the first column of its single row.
  // InvalidArgument unless the result has exactly one row.
  Result<std::optional<std::string>> QueryScalar(std::string_view sql,
                                                 std::string_view what);

  // Parses `sql`, which must hold exactly one statement, of kind `kind`, and
  // prepares it on this connection without running it. Comments and a
  // trailing ';' are allowed. This is how Larder runs SQL written by users
  // (entity queries, models): the statement that runs is the one that was
  // checked, so text after it (a second statement, a comment that would
  // swallow what follows) cannot change what runs.
  // Errors (InvalidArgument, message "<what>: ..."): no statement; several
  // statements ("holds 3 statements"); a statement of another kind ("is a
  // DROP statement"); DuckDB's parser and binder errors. `wrong_shape`, when
  // given, is set to whether the error is one of the first three.
  Result<std::unique_ptr<PreparedStatement>> PrepareOne(std::string_view sql,
                                                        std::string_view what,
                                                        StatementKind kind,
                                                        bool* wrong_shape = nullptr);

  // Creates an appender that bulk-inserts into `table` of `schema` (""
  // means the default schema). A missing table is InvalidArgument (DuckDB
  // reports it as a catalog error); messages start "table <name>: ".
  // REQUIRES: the returned Appender is destroyed before this Connection.
  Result<std::unique_ptr<Appender>> CreateAppender(std::string_view table,
                                                   std::string_view schema = "");

  // Asks the query running on this connection to stop; it then fails with
  // an "Interrupted" error. Safe to call from any thread, also when idle.
  void Interrupt();

  // True when the session's TimeZone is UTC.
  bool time_zone_is_utc() const { return time_zone_is_utc_; }
  // The path given to Open ("" for in-memory).
  const std::string& path() const { return path_; }
  // Identifies the database instance this connection uses: equal for
  // connections that share it (NewConnection, a file opened twice for
  // writing), and for nothing else while any of them is alive.
  const void* database_id() const { return db_.get(); }

  // The raw handle, for APIs this adapter does not wrap yet (Arrow export).
  // Owned by this Connection; do not disconnect it.
  duckdb_connection raw() const { return conn_; }

 private:
  struct Database;  // shared duckdb_database handle

  Connection(std::shared_ptr<Database> db, duckdb_connection conn,
             std::string path);
  static Result<std::unique_ptr<Connection>> Connect(
      std::shared_ptr<Database> db, std::string path);

  std::shared_ptr<Database> db_;
  duckdb_connection conn_ = nullptr;
  std::string path_;
  bool time_zone_is_utc_ = false;
};

// One prepared statement (Connection::PrepareOne). Owns the DuckDB handle.
// REQUIRES: destroyed before the Connection that prepared it; used by one
// thread at a time.
class PreparedStatement {
 public:
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  // Runs the statement and discards its result. Errors as Connection::Execute.
  [[nodiscard]] Status Execute();

  // The name given to PrepareOne, for messages.
  const std::string& what() const { return what_; }
  // The raw handle (for the Arrow export). Owned by this object.
  duckdb_prepared_statement raw() const { return prepared_; }

 private:
  friend class Connection;
  PreparedStatement(duckdb_prepared_statement prepared, std::string what);

  duckdb_prepared_statement prepared_ = nullptr;
  std::string what_;
};

// Appends rows to one table through DuckDB's appender: far faster than
// INSERT for bulk data. Values go into the table's columns left to right;
// each row ends with EndRow().
//
// The Append* calls do not return a Status: the first error is remembered,
// later appends are ignored, and the error is returned by the next EndRow(),
// Flush() or Close(). Rows are visible to queries after Flush() or Close().
// Not thread-safe.
class Appender {
 public:
  // Flushes and closes; an error there is lost, so call Close() first when
  // the rows matter.
  ~Appender();
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  void AppendBool(bool v);
  void AppendInt32(int32_t v);
  void AppendInt64(int64_t v);
  void AppendDouble(double v);
  void AppendVarchar(std::string_view v);
  // For a TIMESTAMP column: microseconds since the epoch.
  void AppendTimestamp(TimestampMicros v);
  // For a TIMESTAMP WITH TIME ZONE column: microseconds since the epoch, UTC.
  // (DuckDB silently stores NULL when a plain timestamp is appended to such a
  // column; this call avoids that.)
  void AppendTimestampTz(TimestampMicros v);
  void AppendNull();
  // Any Value, into a column of DuckDbTypeName(value's dtype); null appends
  // NULL (appender_values.cc).
  void AppendValue(const Value& value);

  // Ends the current row. Errors: any error remembered from the row's
  // appends, or a wrong number of values (InvalidArgument).
  [[nodiscard]] Status EndRow();
  // Writes buffered rows into the table.
  [[nodiscard]] Status Flush();
  // Flushes and closes; later calls fail. Idempotent.
  [[nodiscard]] Status Close();

 private:
  friend class Connection;
  Appender(duckdb_appender appender, std::string what);
  void Check(duckdb_state state);
  Status AppenderError(std::string_view action);

  duckdb_appender appender_ = nullptr;
  std::string what_;  // "table x", for messages
  Status error_;
  bool closed_ = false;
};

// `message` without the "LINE n: <SQL>" context DuckDB adds to some errors.
// For errors of SQL that Larder generated: the user did not write that SQL,
// so quoting it says nothing to them.
std::string WithoutSqlContext(std::string_view message);
// `status` with WithoutSqlContext applied to its message, code unchanged.
Status WithoutSqlContext(const Status& status);

// Returns `value` as a SQL string literal: quoted with ', inner quotes
// doubled. Safe for any text except NUL bytes, which are dropped.
std::string QuoteLiteral(std::string_view value);
// Returns `name` as a quoted SQL identifier: quoted with ", inner quotes
// doubled.
std::string QuoteIdentifier(std::string_view name);

// The DuckDB column type holding dtype `type`: Int32 INTEGER, Int64 BIGINT,
// Float32 FLOAT, Float64 DOUBLE, String VARCHAR, Bytes BLOB, Bool BOOLEAN,
// UnixTimestamp TIMESTAMPTZ, Array(T) T[].
std::string DuckDbTypeName(ValueType type);

// Formats a UTC timestamp in microseconds as "YYYY-MM-DD HH:MM:SS[.ffffff]",
// fraction trimmed of trailing zeros: the text DuckDB reads back as a
// TIMESTAMP literal (wrap it in QuoteLiteral).
std::string FormatTimestampMicros(TimestampMicros micros);

}  // namespace larder::duckdb
