#include "orchestrate/dbt_build.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace larder::orchestrate {
namespace {

// dbt's output kept for an error: its last lines.
constexpr size_t kOutputTail = 4096;

std::string Tail(const std::string& text) {
  std::string tail = text.size() > kOutputTail ? text.substr(text.size() - kOutputTail) : text;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  return tail;
}

}  // namespace

Status RunDbtBuild(const DbtBuild& build) {
  const std::string select = build.model + "+";
  const std::string what = "dbt build --select " + select + " in " + build.project_dir;
  std::vector<std::string> args = {build.executable, "build", "--select", select,
                                   "--project-dir", build.project_dir};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::IOError(what + ": cannot create a pipe: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, build.project_dir.c_str());
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int spawned =
      posix_spawnp(&pid, build.executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return Status::NotFound(what + ": cannot run `" + build.executable +
                            "`: " + std::strerror(spawned));
  }
  std::string output;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      output.append(buffer, static_cast<size_t>(n));
      if (output.size() > 4 * kOutputTail) output.erase(0, output.size() - kOutputTail);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::OK();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return Status::NotFound(what + ": cannot run `" + build.executable + "`: " + Tail(output));
  }
  const std::string how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WTERMSIG(status));
  return Status::FailedPrecondition(what + " failed (" + how + "): " + Tail(output));
}

}  // namespace larder::orchestrate
