#include "offline/duckdb/arrow_stream.h"

#include "offline/duckdb/duckdb_result.h"

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace larder::duckdb {
namespace {

// Everything one exported stream owns. Destroyed by the stream's release.
struct StreamState {
  std::shared_ptr<Connection> conn;
  std::unique_ptr<PreparedStatement> statement;  // or:
  std::string what;
  duckdb_prepared_statement prepared = nullptr;
  duckdb_result result;
  bool has_result = false;
  duckdb_arrow_options options = nullptr;
  std::string last_error;

  StreamState() { std::memset(&result, 0, sizeof(result)); }
  ~StreamState() {
    if (options != nullptr) duckdb_destroy_arrow_options(&options);
    if (has_result) duckdb_destroy_result(&result);
    if (prepared != nullptr && statement == nullptr) duckdb_destroy_prepare(&prepared);
  }
};

StreamState* State(ArrowArrayStream* stream) {
  return static_cast<StreamState*>(stream->private_data);
}

// Takes DuckDB's error data: returns its message ("" when none), destroys it.
std::string TakeError(duckdb_error_data error) {
  std::string msg;
  if (error != nullptr) {
    if (duckdb_error_data_has_error(error)) msg = duckdb_error_data_message(error);
    duckdb_destroy_error_data(&error);
  }
  return msg;
}

int GetSchema(ArrowArrayStream* stream, ArrowSchema* out) {
  StreamState* s = State(stream);
  idx_t n = duckdb_column_count(&s->result);
  std::vector<duckdb_logical_type> types(n);
  std::vector<const char*> names(n);
  for (idx_t i = 0; i < n; ++i) {
    types[i] = duckdb_column_logical_type(&s->result, i);
    names[i] = duckdb_column_name(&s->result, i);
  }
  std::string err = TakeError(duckdb_to_arrow_schema(s->options, types.data(), names.data(), n, out));
  for (auto& t : types) duckdb_destroy_logical_type(&t);
  if (!err.empty()) {
    s->last_error = s->what + ": " + err;
    return EIO;
  }
  return 0;
}

int GetNext(ArrowArrayStream* stream, ArrowArray* out) {
  StreamState* s = State(stream);
  duckdb_data_chunk chunk = duckdb_fetch_chunk(s->result);
  if (chunk == nullptr) {
    const char* err = duckdb_result_error(&s->result);
    if (err != nullptr && *err != '\0') {
      s->last_error = s->what + ": " + err;
      return EIO;
    }
    std::memset(out, 0, sizeof(*out));  // release == nullptr: end of stream
    return 0;
  }
  std::string err = TakeError(duckdb_data_chunk_to_arrow(s->options, chunk, out));
  duckdb_destroy_data_chunk(&chunk);
  if (!err.empty()) {
    s->last_error = s->what + ": " + err;
    return EIO;
  }
  return 0;
}

const char* GetLastError(ArrowArrayStream* stream) {
  StreamState* s = State(stream);
  return s->last_error.empty() ? nullptr : s->last_error.c_str();
}

void Release(ArrowArrayStream* stream) {
  delete State(stream);
  stream->release = nullptr;
  stream->private_data = nullptr;
}

// Starts state->prepared (a prepared statement on state->conn) streaming and
// hands the stream to `out`.
Status StartStream(std::unique_ptr<StreamState> state, ArrowArrayStream* out) {
  const std::string& what = state->what;
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared_streaming(state->prepared, &pending) == DuckDBError) {
    std::string err = pending != nullptr && duckdb_pending_error(pending) != nullptr
                          ? duckdb_pending_error(pending)
                          : "cannot start the query";
    duckdb_destroy_pending(&pending);
    return Status::InvalidArgument(what + ": " + err);
  }
  duckdb_state executed = duckdb_execute_pending(pending, &state->result);
  duckdb_destroy_pending(&pending);
  state->has_result = true;
  if (executed == DuckDBError) {
    return ErrorStatus(duckdb_result_error_type(&state->result), what,
                       duckdb_result_error(&state->result));
  }
  state->options = duckdb_result_get_arrow_options(&state->result);
  out->get_schema = GetSchema;
  out->get_next = GetNext;
  out->get_last_error = GetLastError;
  out->release = Release;
  out->private_data = state.release();
  return Status::OK();
}

}  // namespace

Status ExportArrowStream(std::shared_ptr<Connection> conn, const std::string& sql,
                         const std::string& what, ArrowArrayStream* out) {
  auto state = std::make_unique<StreamState>();
  state->conn = std::move(conn);
  state->what = what;
  if (duckdb_prepare(state->conn->raw(), sql.c_str(), &state->prepared) == DuckDBError) {
    const char* err = duckdb_prepare_error(state->prepared);
    return Status::InvalidArgument(what + ": " + (err != nullptr ? err : "cannot prepare"));
  }
  return StartStream(std::move(state), out);
}

Status ExportArrowStream(std::shared_ptr<Connection> conn,
                         std::unique_ptr<PreparedStatement> statement, ArrowArrayStream* out) {
  auto state = std::make_unique<StreamState>();
  state->conn = std::move(conn);
  state->what = statement->what();
  state->statement = std::move(statement);
  // Borrowed: StreamState destroys it only through `statement`.
  duckdb_prepared_statement prepared = state->statement->raw();
  state->prepared = prepared;
  return StartStream(std::move(state), out);
}

namespace {

// A stream that forwards to `inner`, whose schema it reads once, before
// DuckDB sees the stream, and owns. DuckDB's C API (duckdb_arrow_scan and
// its stream wrapper) calls get_schema several times, never checks whether
// it failed (it compares with DuckDBError, 1, not errno codes, or ignores
// the result) and clears the release callback of the schemas it takes
// instead of calling it. So the consumer gets shallow copies of the one
// schema, whose release does nothing, and the schema is released when the
// import is over.
class SchemaKeepingStream {
 public:
  explicit SchemaKeepingStream(ArrowArrayStream* inner) : inner_(inner) {
    std::memset(&schema_, 0, sizeof(schema_));
    stream_.get_schema = [](ArrowArrayStream* s, ArrowSchema* out) {
      *out = Self(s)->schema_;
      out->release = [](ArrowSchema* copy) { copy->release = nullptr; };
      return 0;
    };
    stream_.get_next = [](ArrowArrayStream* s, ArrowArray* out) {
      return Self(s)->inner_->get_next(Self(s)->inner_, out);
    };
    stream_.get_last_error = [](ArrowArrayStream* s) { return Self(s)->LastError(); };
    stream_.release = [](ArrowArrayStream* s) { s->release = nullptr; };  // inner_ is the caller's
    stream_.private_data = this;
  }
  ~SchemaKeepingStream() {
    if (schema_.release != nullptr) schema_.release(&schema_);
  }
  SchemaKeepingStream(const SchemaKeepingStream&) = delete;
  SchemaKeepingStream& operator=(const SchemaKeepingStream&) = delete;

  // Reads the inner stream's schema. REQUIRES: called once, before stream().
  Status ReadSchema(const std::string& what) {
    const int rc = inner_->get_schema(inner_, &schema_);
    if (rc == 0) return Status::OK();
    schema_.release = nullptr;  // not initialised on failure
    const char* err = LastError();
    return Status::InvalidArgument(what + ": cannot read the Arrow stream's schema" +
                                   (err != nullptr ? std::string(": ") + err : std::string()));
  }
  ArrowArrayStream* stream() { return &stream_; }

 private:
  static SchemaKeepingStream* Self(ArrowArrayStream* s) {
    return static_cast<SchemaKeepingStream*>(s->private_data);
  }
  const char* LastError() {
    return inner_->get_last_error != nullptr ? inner_->get_last_error(inner_) : nullptr;
  }

  ArrowArrayStream* inner_;
  ArrowSchema schema_;
  ArrowArrayStream stream_;
};

}  // namespace

Status ImportArrowStream(Connection& conn, ArrowArrayStream* caller_stream,
                         const std::string& table, const std::string& what) {
  if (caller_stream == nullptr || caller_stream->release == nullptr) {
    return Status::InvalidArgument(what + ": the Arrow stream is released or missing");
  }
  SchemaKeepingStream keeper(caller_stream);
  LARDER_RETURN_IF_ERROR(keeper.ReadSchema(what));
  ArrowArrayStream* stream = keeper.stream();
  // duckdb_arrow_scan registers a temporary view that pulls from the stream
  // (which it does not take ownership of); the table copies the rows out, so
  // the job can run its query any number of times.
  const std::string view = table + "_arrow_scan";
  if (duckdb_arrow_scan(conn.raw(), view.c_str(), reinterpret_cast<duckdb_arrow_stream>(stream)) ==
      DuckDBError) {
    const char* err = stream->get_last_error != nullptr ? stream->get_last_error(stream) : nullptr;
    return Status::InvalidArgument(what + ": DuckDB cannot scan the Arrow stream" +
                                   (err != nullptr ? std::string(": ") + err : std::string()));
  }
  Status copied = conn.Execute("CREATE TABLE " + QuoteIdentifier(table) + " AS SELECT * FROM " +
                                   QuoteIdentifier(view),
                               what);
  Status dropped = conn.Execute("DROP VIEW IF EXISTS " + QuoteIdentifier(view), what);
  if (!copied.ok()) return copied;
  return dropped;
}

}  // namespace larder::duckdb
