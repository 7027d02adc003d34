// larder_test_spark_materializer REPO REMOTE ONLINE_DIR END: the process that
// SparkStore.KilledMaterializationConvergesWhenRerun kills with SIGKILL. It
// materializes REPO's views incrementally up to END (microseconds) through
// the spark offline store at REMOTE into a RocksDB store at ONLINE_DIR, ten
// records per write, and once some records of a view have landed (and its
// watermark has not moved yet) it creates REPO/partial_done and waits there
// to be killed.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "offline_stores/spark_offline_store.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: larder_test_spark_materializer REPO REMOTE ONLINE_DIR END\n";
    return 2;
  }
  const std::string repo_dir = argv[1];
  auto repo = larder::LoadFeatureRepo(repo_dir);
  if (!repo.ok()) {
    std::cerr << repo.status().ToString() << "\n";
    return 1;
  }
  repo->root = repo_dir;
  larder::OnlineStoreOptions online_options;
  online_options.config = {"rocksdb", {{"path", argv[3]}}};
  online_options.project = repo->config.project;
  online_options.repo_root = repo_dir;
  auto online = larder::OnlineStore::Open(online_options);
  if (!online.ok()) {
    std::cerr << online.status().ToString() << "\n";
    return 1;
  }
  larder::OfflineStoreOptions options;
  options.config = {"spark", {{"remote", argv[2]}}};
  options.repo_root = repo_dir;
  options.project = repo->config.project;
  larder::offline_stores::SparkOfflineStore store(options);
  larder::MaterializeOptions materialize;
  materialize.chunk_rows = 10;
  materialize.partitions = 1;
  materialize.progress = [&](const larder::MaterializeProgress& p) {
    if (p.finished || p.rows_done == 0) return;
    std::ofstream(repo_dir + "/partial_done") << p.view << " " << p.rows_done;
    while (true) ::pause();
  };
  auto report = store.Materialize(*repo, **online, std::nullopt, std::stoll(argv[4]), materialize);
  if (!report.ok()) {
    std::cerr << report.status().ToString() << "\n";
    return 1;
  }
  return 0;
}
