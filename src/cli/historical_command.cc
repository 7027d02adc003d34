// `larder historical`: write point-in-time correct training data.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "larder/offline_store.h"

namespace larder::cli {

int HistoricalCommand(const Invocation& inv, Output& o) {
  HistoricalFeaturesRequest request;
  request.entity_path = inv.Flag("--entities");
  request.entity_sql = inv.Flag("--entity-sql");
  request.features = SplitCommaList(inv.Flag("--features"));
  request.feature_service = inv.Flag("--feature-service");
  request.full_feature_names = inv.Has("--full-feature-names");
  std::string output = inv.Flag("--output");
  if (request.entity_path.empty() == request.entity_sql.empty()) {
    o.err << "larder: historical takes one of --entities FILE or --entity-sql SQL\n";
    return kExitUsage;
  }
  if (request.features.empty() == request.feature_service.empty()) {
    o.err << "larder: historical takes one of --features VIEW:FEATURE,... or "
             "--feature-service NAME\n";
    return kExitUsage;
  }
  if (output.empty()) {
    o.err << "larder: historical needs --output FILE (.parquet or .csv)\n";
    return kExitUsage;
  }
  HistoricalRetrievalOptions options;
  if (inv.Has("--memory-limit")) options.memory_limit = inv.Flag("--memory-limit");

  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<HistoricalRetrievalJob>> job =
      store->GetHistoricalFeatures(request, options);
  if (!job.ok()) return ReportError(o, job.status());
  Result<int64_t> rows = (*job)->WriteToFile(output);
  if (!rows.ok()) return ReportError(o, rows.status());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[128];
  std::snprintf(line, sizeof line, " rows (%zu columns) to ", (*job)->column_names().size());
  o.out << "Wrote " << *rows << line << output;
  std::snprintf(line, sizeof line, " in %.2fs.\n", seconds);
  o.out << line;
  return kExitOk;
}

}  // namespace larder::cli
