// Helpers shared by tests: temporary directories and files, and running the
// larder binary.
#pragma once

#include <string>

namespace larder::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `path()/relative`, creating directories.
  void Write(const std::string& relative, const std::string& content) const;
  std::string Join(const std::string& relative) const { return path_ + "/" + relative; }
  // Leaves the directory in place at destruction (its new owner removes it).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// The result of running a command.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

// Runs `command` with /bin/sh, capturing its output.
CommandResult RunCommand(const std::string& command);

// Runs the larder binary with `args` (a shell-quoted string).
CommandResult RunLarder(const std::string& args);

// The whole content of the file at `path`; empty when it cannot be read.
std::string ReadFileText(const std::string& path);

// The repo root of the source tree (for examples/).
std::string SourceDir();

}  // namespace larder::testing
