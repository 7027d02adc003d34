// Progress of long work, shown on a terminal as one line rewritten in place
// and elsewhere (logs, CI) as one line per finished stage.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace larder {

class ProgressReporter {
 public:
  // `interactive`: rewrite the line in place (a terminal); otherwise print
  // a line only when a stage finishes.
  ProgressReporter(std::ostream& os, bool interactive) : os_(os), interactive_(interactive) {}

  // Reports `done` of `total` units of `stage`. Cheap when called often:
  // a terminal line is redrawn at most ten times a second. Once a stage is
  // done (done >= total > 0), further updates of it are ignored.
  void Update(std::string_view stage, int64_t done, int64_t total);

 private:
  std::ostream& os_;
  bool interactive_;
  std::string stage_;
  bool stage_finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point stage_start_{};
};

// True when file descriptor `fd` is a terminal.
bool IsTerminal(int fd);

}  // namespace larder
