// The child-process side of the test servers (RedisServer, DynaliteServer):
// finding the binary, starting it so that it dies with the test process,
// waiting until it answers, and stopping it.
//
//   LARDER_ASSIGN_OR_RETURN(pid_t pid, SpawnProcess({binary, "--port", "6399"}, log));
//   switch (WaitUntilAnswering(pid, [] { return Answers(6399); }, std::chrono::seconds(10))) {
//     case WaitOutcome::kAnswering: ...                  // later: StopProcess(pid)
//     case WaitOutcome::kExited: ...                     // already reaped
//     case WaitOutcome::kTimedOut: StopProcess(pid); ...
//   }
//
// Not thread-safe with respect to a single pid: one owner starts, waits for
// and stops each child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "larder/status.h"

namespace larder::testing {

// The path of the first executable `name` in the directories of $PATH, then
// in `extra_dirs` (for the sbin and local dirs a test environment's PATH may
// lack); empty when there is none.
std::string FindExecutable(const std::string& name, const std::vector<std::string>& extra_dirs);

// Starts `argv[0]` (a path; not looked up on PATH) with `argv` as a child
// process and returns its pid, which the caller owns: it must StopProcess it
// unless WaitUntilAnswering reported kExited. The child gets SIGKILL when the
// test process dies, even in a crash (PR_SET_PDEATHSIG: strictly, when the
// thread that called this exits). Its stdout and stderr go to `output_log`
// (created or truncated) or, when that is empty, stay the test's own. A
// binary that cannot be executed shows up as an exit (status 127), not as an
// error here; IOError when fork fails.
[[nodiscard]] Result<pid_t> SpawnProcess(std::vector<std::string> argv,
                                         const std::string& output_log);

enum class WaitOutcome {
  kAnswering,  // `answers` returned true; the child is running
  kExited,     // the child exited first and has been reaped: do not stop it
  kTimedOut,   // still running but not answering; the caller stops it
};

// Polls (every 20 ms) until `answers()` is true, the child `pid` exits, or
// `timeout` passes.
WaitOutcome WaitUntilAnswering(pid_t pid, const std::function<bool()>& answers,
                               std::chrono::seconds timeout);

// Stops and reaps the child `pid`: SIGTERM, then SIGKILL when it has not
// exited after 5 s. Does nothing when pid <= 0.
void StopProcess(pid_t pid);

// A TCP connection to 127.0.0.1:port whose reads time out after
// `receive_timeout_seconds`, as a file descriptor the caller closes; -1 when
// nothing accepts.
int ConnectLoopback(int port, int receive_timeout_seconds);

// True when something on 127.0.0.1:port answers a GET / with an HTTP
// status line (any status).
bool AnswersHttp(int port);

// The one `Server` (from `Server::Start()`) shared by every test of this
// process that asks for it: started on first use, stopped by static
// destruction at exit. Null, with `*error` set, when it cannot start; a
// failed start is not retried, so every later caller gets the same error
// fast. Thread-safe.
template <typename Server>
Server* SharedServer(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<Server> server;
  static std::string start_error;
  std::lock_guard lock(mu);
  if (server == nullptr && start_error.empty()) {
    auto started = Server::Start();
    if (started.ok()) {
      server = std::move(started).value();
    } else {
      start_error = started.status().ToString();
    }
  }
  if (server == nullptr) *error = start_error;
  return server.get();
}

}  // namespace larder::testing
