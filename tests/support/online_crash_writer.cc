#include "support/online_crash_writer.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>

namespace larder::testing {

OnlineView CrashView() {
  return OnlineView("crash_view", {{"payload", {ScalarType::kString, false}},
                                   {"ev", {ScalarType::kInt64, false}}});
}

std::vector<OnlineRecord> CrashHistory() {
  std::vector<OnlineRecord> h;
  for (int64_t id = 0; id < 200; ++id) {
    for (int64_t ev = 0; ev < 20; ++ev) {
      h.push_back({{{"id"}, {Value::Int64(id)}},
                   ev,
                   0,
                   {Value::String("p" + std::to_string(id * 100 + ev) + std::string(100, 'x')),
                    Value::Int64(ev)}});
    }
  }
  return h;
}

int RunCrashWriter(const std::string& repo_root) {
  OnlineStoreOptions o;
  o.config = {"rocksdb", {{"path", "db"}, {"block_cache_mb", "8"}}};
  o.project = "p";
  o.repo_root = repo_root;
  auto store = OnlineStore::Open(o);
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    return 1;
  }
  OnlineView view = CrashView();
  std::vector<OnlineRecord> history = CrashHistory();
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  for (int round = 0;; ++round) {
    std::shuffle(history.begin(), history.end(), rng);
    for (size_t start = 0; start < history.size(); start += 50) {
      std::vector<OnlineRecord> batch(history.begin() + start,
                                      history.begin() + std::min(start + 50, history.size()));
      auto written = (*store)->Write(view, batch);
      if (!written.ok()) {
        std::cerr << written.status().ToString() << "\n";
        return 1;
      }
      if (round == 0 && start == 0) std::ofstream(repo_root + "/started") << "1";
    }
  }
}

}  // namespace larder::testing
