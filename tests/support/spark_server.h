// A real Spark Connect server for tests: Spark in local mode (local[2]) on a
// free loopback port, with a Hive catalog whose warehouse and Derby
// metastore live in its own temporary directory, stopped on destruction
// (its whole process group: no JVM outlives the test).
//
//   std::string error;
//   SparkServer* server = SparkServer::Shared(&error);
//   ASSERT_NE(server, nullptr) << error;
//   options.remote = server->remote();   // "sc://127.0.0.1:<port>"
//
// The server is pyspark's, installed by scripts/spark.sh install into
// third_party/spark_venv, and runs with Java 17 or newer. When either is
// missing, Start fails with a message saying how to install it: tests that
// need Spark fail, they never skip. Each server is a JVM of about 1 GB that
// starts in about 10 s: share one per test process (Shared()).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "larder/status.h"
#include "support/test_util.h"

namespace larder::testing {

class SparkServer {
 public:
  // Starts a server and waits (up to 120 s) until its gRPC port accepts
  // connections. Retries on another port when the server exits at once (a
  // port taken meanwhile).
  // With `outlive_parent`, the server does not die with this process (for
  // ctest's fixture, which starts it in one process, lets the tests use it
  // and stops it from another: tests/tools/spark_fixture_main.cc).
  [[nodiscard]] static Result<std::unique_ptr<SparkServer>> Start(bool outlive_parent = false);

  // Writes "<port> <pid> <directory>" to `state_file` and gives the server
  // up: this object no longer stops it or removes its directory.
  [[nodiscard]] Status Detach(const std::string& state_file);
  // Stops the server a Detach wrote to `state_file` and removes its
  // directory and the file. OK when the file does not exist.
  [[nodiscard]] static Status StopDetached(const std::string& state_file);

  // Stops the server (SIGTERM to its process group, then SIGKILL after 20 s)
  // and deletes its warehouse and metastore.
  ~SparkServer();
  SparkServer(const SparkServer&) = delete;
  SparkServer& operator=(const SparkServer&) = delete;

  int port() const { return port_; }
  // "sc://127.0.0.1:<port>", a Spark Connect connection string.
  std::string remote() const { return "sc://127.0.0.1:" + std::to_string(port_); }
  // The server's output (warnings and errors), for failure messages.
  std::string LogPath() const { return Dir() + "/spark.log"; }
  // The Hive warehouse directory.
  std::string WarehouseDir() const { return Dir() + "/warehouse"; }

  // One server shared by every test of this process that asks for it. Under
  // ctest it is the `spark_server` fixture's (its state file is
  // $LARDER_TEST_SPARK_STATE), shared by every Spark test of the run;
  // otherwise it is started on first use and stopped at exit. Null (with
  // `*error` set) when it cannot start.
  static SparkServer* Shared(std::string* error);

 private:
  SparkServer() = default;
  // A server another process started and stops (the fixture's).
  static Result<std::unique_ptr<SparkServer>> Attach(const std::string& state_file);
  const std::string& Dir() const { return attached_dir_.empty() ? dir_.path() : attached_dir_; }

  TempDir dir_;
  std::string attached_dir_;
  int port_ = 0;
  pid_t pid_ = -1;  // also the process group's id
};

}  // namespace larder::testing
