// A real redis-server for tests: started on a free loopback port, in its own
// temporary directory, without persistence, and stopped on destruction.
//
//   auto server = RedisServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status().ToString();
//   StoreConfig config{"redis", {{"port", std::to_string((*server)->port())}}};
//
// redis-server is looked up on PATH, then in /usr/bin and /usr/sbin. When it
// is missing, Start fails with a message saying how to install it: tests that
// need Redis fail, they never skip.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "larder/status.h"
#include "support/test_util.h"

namespace larder::testing {

struct RedisServerOptions {
  // Passed as --requirepass when non-empty.
  std::string password;
  // Cluster mode (--cluster-enabled yes) with the cluster bus on another free
  // port; the node serves no slots until told to (see RedisCluster).
  bool cluster = false;
};

class RedisServer {
 public:
  // Starts a server and waits (up to 10 s) until it answers. Retries on
  // another port when the chosen one was taken meanwhile.
  [[nodiscard]] static Result<std::unique_ptr<RedisServer>> Start(
      const RedisServerOptions& options = {});

  // Stops the server: SIGTERM, then SIGKILL after 5 s.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int bus_port() const { return bus_port_; }
  const std::string& host() const { return host_; }
  // Sends one inline command (e.g. "SCRIPT FLUSH") over a fresh connection,
  // with AUTH first when the server has a password, and returns the raw
  // reply of the command ("+OK\r\n", or a bulk reply's "$n\r\n" line and
  // body); empty on a connection failure.
  std::string Call(const std::string& inline_command) const;
  // The server's log file, for failure messages.
  std::string LogPath() const { return dir_.Join("redis.log"); }

  // One server shared by every test of this process that asks for it, started
  // on first use and stopped at exit. Null (with `*error` set) when it cannot
  // start.
  static RedisServer* Shared(std::string* error);

  // A free TCP port on 127.0.0.1 (bound and released; racy but retried).
  static int FreePort();

 private:
  RedisServer() = default;

  TempDir dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  int bus_port_ = 0;
  std::string password_;
  pid_t pid_ = -1;
};

// A Redis Cluster of `nodes` masters on loopback ports, each owning an equal
// range of slots, started and joined (CLUSTER ADDSLOTSRANGE, CLUSTER MEET)
// and waited for until every node reports cluster_state:ok.
class RedisCluster {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RedisCluster>> Start(int nodes = 3);
  // "127.0.0.1:p1,127.0.0.1:p2,..." for online_store.cluster_nodes.
  std::string Seeds() const;
  RedisServer& node(size_t i) { return *servers_[i]; }
  size_t size() const { return servers_.size(); }
  // The node id (CLUSTER MYID) of node i.
  std::string NodeId(size_t i) const;

 private:
  std::vector<std::unique_ptr<RedisServer>> servers_;
};

}  // namespace larder::testing
