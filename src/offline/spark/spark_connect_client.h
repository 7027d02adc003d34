// A client of a Spark Connect server (gRPC): Spark as Larder's scale-out
// offline engine, with no JVM in Larder's process.
//
//   SparkConnectOptions options;
//   options.remote = "sc://127.0.0.1:15002";
//   options.conf = {{"spark.sql.session.timeZone", "UTC"}};
//   LARDER_ASSIGN_OR_RETURN(auto client, SparkConnectClient::Connect(options));
//   LARDER_RETURN_IF_ERROR(client->ExecuteCommand("CREATE DATABASE IF NOT EXISTS larder"));
//   LARDER_RETURN_IF_ERROR(client->ExecuteSql("SELECT * FROM larder.t",
//       [&](std::string_view ipc, int64_t rows) { return decoder.Add(ipc, rows); }));
//
// Each client is one Spark Connect session (a session id of its own): its
// configuration (SetConf) and its temporary views belong to it alone; tables
// in the catalog are shared by every session of the server.
//
// Errors: every call returns a Status and never throws. Spark's own errors
// (gRPC status INTERNAL) carry Spark's message and, when the server sends
// it, its error class and SQLSTATE: NotFound for an error class ending in
// _NOT_FOUND (TABLE_OR_VIEW_NOT_FOUND, SCHEMA_NOT_FOUND, ...), AlreadyExists
// for one ending in _ALREADY_EXISTS, InvalidArgument for Spark's other
// errors (the SQL or its data); IOError for an unreachable server, a broken
// stream or a deadline that passed; FailedPrecondition for a refused token.
// Every message names the endpoint ("spark connect 127.0.0.1:15002: ...").
//
// Thread safety: a client may be used by several threads at once; each call
// is its own RPC in the client's one session, and Spark runs them
// concurrently. Callbacks run on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/status.h"

namespace larder::offline::spark {

struct SparkConnectOptions {
  // Where the server is, as Spark Connect's connection string:
  // "sc://host[:port][/;param=value;...]" with the port 15002 by default and
  // the parameters
  //   token=...       a bearer token sent with every call; without
  //                   use_ssl=true it needs host "localhost" (gRPC local
  //                   credentials), elsewhere it implies TLS
  //   user_id=...     the user the session belongs to (default: $USER)
  //   user_agent=...  the client type the server logs (default "larder")
  //   use_ssl=true|false  TLS with the system's root certificates
  //   session_id=...  a UUID to join an existing session (default: a new one)
  // Values are percent-decoded. Anything else is refused, naming the bad
  // part. REQUIRED.
  std::string remote;
  // Session configuration set (ConfigRequest Set) on Connect, e.g.
  // {"spark.sql.session.timeZone", "UTC"}. Default: none.
  std::map<std::string, std::string> conf;
  // How long Connect waits for the server to accept a connection. Default 10 s.
  std::chrono::milliseconds connect_timeout{10000};
  // The deadline of each call (the whole stream of a query, its batch
  // callbacks included); a query still running then is interrupted on the
  // server. Default 10 minutes.
  std::chrono::milliseconds query_timeout{600000};
};

// The parts of a connection string (SparkConnectOptions::remote).
struct SparkConnectString {
  std::string host;  // without brackets for IPv6
  int port = 15002;
  std::string token;
  std::string user_id;
  std::string user_agent;
  bool use_ssl = false;
  std::string session_id;

  // "host:port" ("[::1]:15002" for IPv6), for gRPC and messages.
  std::string Endpoint() const;
};

// Parses and validates `remote`. InvalidArgument naming the bad part (the
// scheme, the host, the port, the path, a parameter or its value).
[[nodiscard]] Result<SparkConnectString> ParseSparkConnectString(std::string_view remote);

// Spark's type of a column as a readable name: "long", "integer", "short",
// "byte", "float", "double", "decimal(p,s)", "string", "char(n)",
// "varchar(n)", "binary", "boolean", "date", "timestamp", "timestamp_ntz",
// "array<long>", "map<string,double>", "struct<a:long,b:string>",
// "interval day to second", "void", ...
using SparkColumns = std::vector<std::pair<std::string, std::string>>;

class SparkConnectClient {
 public:
  // Called with each Arrow batch of a result as it arrives: a complete
  // Arrow IPC stream (schema message, then record batches) as Spark sent
  // it, and its number of rows. The bytes are valid only during the call.
  // A non-OK return stops the query (it is cancelled on the server) and
  // becomes ExecuteSql's result.
  using BatchCallback = std::function<Status(std::string_view arrow_ipc_stream, int64_t row_count)>;

  // Parses options.remote, opens a channel and waits until the server
  // accepts a connection (up to options.connect_timeout: IOError naming the
  // endpoint and the timeout), starts a session (a new UUID v4 unless the
  // connection string names one) and sets options.conf in it.
  [[nodiscard]] static Result<std::unique_ptr<SparkConnectClient>> Connect(
      const SparkConnectOptions& options);

  ~SparkConnectClient();
  SparkConnectClient(const SparkConnectClient&) = delete;
  SparkConnectClient& operator=(const SparkConnectClient&) = delete;

  // Runs the query `sql` (a SQL relation) and streams its result to
  // `on_batch`, batch by batch as the server sends them; nothing is
  // buffered beyond the batch at hand. A result with no rows may call
  // `on_batch` once with an empty batch, or not at all.
  [[nodiscard]] Status ExecuteSql(std::string_view sql, const BatchCallback& on_batch);

  // Runs the statement `sql` (a SQL command) eagerly and discards what it
  // returns: DDL and DML such as CREATE DATABASE, CREATE TABLE ... AS,
  // INSERT INTO, DROP TABLE.
  [[nodiscard]] Status ExecuteCommand(std::string_view sql);

  // The column names and types of the query `sql`, from Spark's analysis,
  // without running it.
  [[nodiscard]] Result<SparkColumns> Schema(std::string_view sql);

  // Sets the session's configuration (ConfigRequest Set).
  [[nodiscard]] Status SetConf(const std::map<std::string, std::string>& conf);
  // A configuration value of the session; NotFound when it has none (not
  // set, and no default).
  [[nodiscard]] Result<std::string> GetConf(const std::string& key);

  // The server's Spark version, as read when connecting ("4.3.0").
  const std::string& spark_version() const;
  // This client's session id (a UUID).
  const std::string& session_id() const;
  // "host:port".
  const std::string& endpoint() const;

 private:
  struct Impl;
  explicit SparkConnectClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder::offline::spark
