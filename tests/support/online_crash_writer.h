// The writer that the online store's crash test kills: it replays a fixed
// history into a RocksDB store in shuffled batches until it is killed.
#pragma once

#include <string>
#include <vector>

#include "larder/online_store.h"

namespace larder::testing {

// The view the crash writer writes.
OnlineView CrashView();
// 200 entities x 20 event times; each payload is a function of (id, ev), so
// a reader can tell a whole record from a torn one.
std::vector<OnlineRecord> CrashHistory();
// Replays CrashHistory() into the rocksdb store at `repo_root`/db forever,
// creating `repo_root`/started after the first batch. Returns 1 on an error.
int RunCrashWriter(const std::string& repo_root);

}  // namespace larder::testing
