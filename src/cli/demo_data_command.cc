// `larder demo-data`: the book-recommendation example's data.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "book_recs/generator/book_recs_data.h"
#include "cli/handlers.h"
#include "cli/store_access.h"
#include "common/progress.h"
#include "larder/types.h"

namespace larder::cli {
namespace {

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// "YYYY-MM-DDTHH:MM:SSZ", as --end takes it.
std::string IsoUtc(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char text[32] = "?";
  if (gmtime_r(&t, &tm) != nullptr) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

int DemoDataCommand(const Invocation& inv, Output& o) {
  book_recs::GenerateOptions options;
  if (inv.Has("--scale") && !ParseNumber(inv.Flag("--scale"), &options.scale)) {
    o.err << "larder: --scale must be a number, got `" << inv.Flag("--scale") << "`\n";
    return kExitUsage;
  }
  if (inv.Has("--seed") && !ParseNumber(inv.Flag("--seed"), &options.seed)) {
    o.err << "larder: --seed must be a non-negative integer, got `" << inv.Flag("--seed")
          << "`\n";
    return kExitUsage;
  }
  if (inv.Has("--end")) {
    TimestampMicros end = 0;
    if (!ParseIsoTimestamp(inv.Flag("--end"), &end) || end % Duration::kSecond != 0) {
      o.err << "larder: bad --end `" << inv.Flag("--end")
            << "`: use ISO 8601 UTC at whole seconds, e.g. 2023-01-01T00:00:00Z\n";
      return kExitUsage;
    }
    options.end = end / Duration::kSecond;
  } else {
    // The present, at day granularity: today's runs give the same data.
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    options.end = now - now % (Duration::kDay / Duration::kSecond);
  }
  options.out_dir = inv.Flag("--out");
  if (options.out_dir.empty()) {
    options.out_dir = (std::filesystem::path(inv.repo_dir) / "data" / "raw").string();
  }
  ProgressReporter progress(o.err, IsTerminal(STDERR_FILENO));
  options.progress = [&](std::string_view stage, int64_t done, int64_t total) {
    progress.Update(stage, done, total);
  };
  Result<book_recs::GenerateStats> stats = book_recs::Generate(options);
  if (!stats.ok()) return ReportError(o, stats.status());
  char line[512];
  std::snprintf(line, sizeof line,
                "Wrote %lld users, %lld books and %lld ratings (before %s) to %s in "
                "%.1fs.\n",
                static_cast<long long>(stats->users), static_cast<long long>(stats->books),
                static_cast<long long>(stats->ratings),
                IsoUtc(options.end).c_str(),
                options.out_dir.c_str(), stats->seconds);
  o.out << line;
  return kExitOk;
}

}  // namespace larder::cli
