#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace larder {

bool IsTerminal(int fd) { return isatty(fd) == 1; }

void ProgressReporter::Update(std::string_view stage, int64_t done, int64_t total) {
  auto now = std::chrono::steady_clock::now();
  if (stage != stage_) {
    stage_ = std::string(stage);
    stage_start_ = now;
    last_draw_ = {};
    stage_finished_ = false;
  }
  if (stage_finished_) return;  // already reported as done
  bool finished = total > 0 && done >= total;
  stage_finished_ = finished;
  if (interactive_) {
    if (!finished && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    int pct = total > 0 ? static_cast<int>(100 * done / total) : 0;
    char line[160];
    std::snprintf(line, sizeof line, "\r  %-42.42s %3d%%  %lld/%lld", stage_.c_str(), pct,
                  static_cast<long long>(done), static_cast<long long>(total));
    os_ << line << (finished ? "\n" : "") << std::flush;
  } else if (finished) {
    double secs = std::chrono::duration<double>(now - stage_start_).count();
    char line[160];
    std::snprintf(line, sizeof line, "  %s: %lld done in %.1fs\n", stage_.c_str(),
                  static_cast<long long>(total), secs);
    os_ << line << std::flush;
  }
}

}  // namespace larder
