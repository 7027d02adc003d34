#include "bench_support.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "book_recs/generator/book_recs_data.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "repo/templates.h"

namespace larder::bench {
namespace fs = std::filesystem;

namespace {

// The number of SQL models of the repo (models/*.sql).
int CountModels(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "models", ec)) {
    if (entry.path().extension() == ".sql") ++n;
  }
  return n;
}

// Whether the offline store already holds a table for each of the repo's
// SQL models.
bool HaveModels(const fs::path& dir) {
  const fs::path db = dir / "data/offline_store.duckdb";
  if (!fs::exists(db)) return false;
  auto conn = duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return false;
  auto n = (*conn)->QueryScalar("ATTACH " + duckdb::QuoteLiteral(db.string()) +
                                    " AS o (READ_ONLY); SELECT count(*) FROM "
                                    "information_schema.tables WHERE table_catalog = 'o' "
                                    "AND table_name NOT LIKE 'larder_%'",
                                "offline store");
  return n.ok() && n->value_or("0") == std::to_string(CountModels(dir));
}

}  // namespace

Status PrepareBookRecsRepo(double scale, const std::string& dir_text) {
  const fs::path dir = dir_text;
  if (!fs::exists(dir / "feature_store.yaml")) {
    LARDER_RETURN_IF_ERROR(repo::WriteTemplate("book_recs", dir.string()));
  }
  if (!fs::exists(dir / "data/raw/ratings.parquet")) {
    book_recs::GenerateOptions gen;
    gen.scale = scale;
    gen.out_dir = (dir / "data/raw").string();
    LARDER_ASSIGN_OR_RETURN(auto stats, book_recs::Generate(gen));
    std::printf("setup: generated %lld ratings in %.1fs\n",
                static_cast<long long>(stats.ratings), stats.seconds);
  }
  LARDER_ASSIGN_OR_RETURN(auto store, FeatureStore::Open({.repo_dir = dir.string()}));
  LARDER_RETURN_IF_ERROR(store->Apply().status());
  if (!HaveModels(dir)) {
    LARDER_ASSIGN_OR_RETURN(RunReport report, store->Run());
    std::printf("setup: larder run built %zu models in %.1fs\n", report.models.size(),
                report.seconds);
  }
  return Status::OK();
}

std::string DefaultBenchDir(double scale) {
  char name[64];
  std::snprintf(name, sizeof name, "/tmp/larder_bench_s%g", scale);
  return name;
}

double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024.0;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void ReportLatency(const char* what, std::vector<double> micros) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<size_t>(q * (micros.size() - 1))]; };
  std::printf("%-34s n=%-7zu p50=%8.2f  p99=%8.2f  p999=%8.2f  max=%9.2f us\n", what,
              micros.size(), at(0.5), at(0.99), at(0.999), micros.back());
}

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace larder::bench
