// `larder materialize` and `larder materialize-incremental`: offline -> online.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "common/progress.h"
#include "larder/materialize.h"

namespace larder::cli {
namespace {

int RunMaterialize(const Invocation& inv, Output& o, bool incremental) {
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  const std::string& end_text = inv.args[incremental ? 0 : 1];
  if (!incremental && !ParseIsoTimestamp(inv.args[0], &start)) {
    o.err << "larder: bad START `" << inv.args[0] << "`: use ISO 8601 UTC, e.g. 2023-01-01T00:00:00Z\n";
    return kExitUsage;
  }
  if (!ParseIsoTimestamp(end_text, &end)) {
    o.err << "larder: bad END `" << end_text << "`: use ISO 8601 UTC, e.g. 2023-01-01T00:00:00Z\n";
    return kExitUsage;
  }
  MaterializeOptions options;
  options.views = SplitCommaList(inv.Flag("--views"));
  if (inv.Has("--partitions")) {
    const std::string p = inv.Flag("--partitions");
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), options.partitions);
    if (ec != std::errc() || ptr != p.data() + p.size() || options.partitions < 1) {
      o.err << "larder: --partitions takes a positive integer\n";
      return kExitUsage;
    }
  }
  bool interactive = IsTerminal(STDERR_FILENO);
  ProgressReporter progress(o.err, interactive);
  if (interactive) {
    options.progress = [&progress](const MaterializeProgress& p) {
      // "[2/7] book_features  41%  56012/136681": views and rows done.
      progress.Update("[" + std::to_string(p.view_number) + "/" + std::to_string(p.views_total) +
                          "] " + p.view,
                      p.rows_done, p.rows_total);
    };
  }
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  if (options.views.empty()) {
    // Nothing to do is a mistake worth an error: a scheduled materialize
    // that moves no data should not look like one that worked.
    Result<FeatureRepo> registered = store->Registered();
    if (!registered.ok()) return ReportError(o, registered.status());
    const auto& views = registered->feature_views;
    if (std::none_of(views.begin(), views.end(), [](const FeatureView& v) { return v.online; })) {
      o.err << "Error: project " << store->config().project
            << " has no online feature views to materialize ("
            << (views.empty() ? "it has no feature views"
                              : std::to_string(views.size()) +
                                    " feature view(s), all with `online: false`")
            << "); set `online: true` on a view and run `larder apply`\n";
      return kExitError;
    }
  }
  Result<MaterializeReport> report = incremental ? store->MaterializeIncremental(end, options)
                                                 : store->Materialize(start, end, options);
  if (!report.ok()) return ReportError(o, report.status());
  for (const auto& v : report->views) {
    char line[256];
    std::snprintf(line, sizeof line, "%s: %lld rows, %lld written, %lld skipped in %.2fs\n",
                  v.view.c_str(), static_cast<long long>(v.rows),
                  static_cast<long long>(v.written), static_cast<long long>(v.skipped), v.seconds);
    o.out << line;
  }
  if (report->optimize_seconds >= 0.1) {  // only when it did real work
    char line[96];
    std::snprintf(line, sizeof line, "online store compacted for reads in %.2fs\n",
                  report->optimize_seconds);
    o.out << line;
  }
  return kExitOk;
}

}  // namespace

int MaterializeCommand(const Invocation& inv, Output& o) { return RunMaterialize(inv, o, false); }

int MaterializeIncrementalCommand(const Invocation& inv, Output& o) {
  return RunMaterialize(inv, o, true);
}

}  // namespace larder::cli
