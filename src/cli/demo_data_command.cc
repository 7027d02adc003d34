// `larder demo-data`: the book-recommendation example's data.
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "book_recs/generator/book_recs_data.h"
#include "cli/handlers.h"
#include "cli/store_access.h"
#include "common/progress.h"

namespace larder::cli {
namespace {

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
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
  char line[256];
  std::snprintf(line, sizeof line,
                "Wrote %lld users, %lld books and %lld ratings to %s in %.1fs.\n",
                static_cast<long long>(stats->users), static_cast<long long>(stats->books),
                static_cast<long long>(stats->ratings), options.out_dir.c_str(), stats->seconds);
  o.out << line;
  return kExitOk;
}

}  // namespace larder::cli
