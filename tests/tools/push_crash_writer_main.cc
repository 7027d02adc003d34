// larder_push_crash_writer REPO SOURCE FILE [--pause-after-offline]: the
// process that PushCli.KilledPushConvergesWhenRetried kills with SIGKILL.
// It pushes FILE to push source SOURCE online_and_offline, as `larder push`
// does, and creates REPO/offline_done once the offline append committed.
// With --pause-after-offline it then waits there to be killed, so that the
// kill lands between the offline append and the online writes.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>

#include "larder/feature_store.h"

int main(int argc, char** argv) {
  const bool pause_after_offline = argc == 5 && std::string(argv[4]) == "--pause-after-offline";
  if (argc != 4 && !pause_after_offline) {
    std::cerr << "usage: larder_push_crash_writer REPO SOURCE FILE [--pause-after-offline]\n";
    return 2;
  }
  const std::string repo = argv[1];
  larder::FeatureStoreOptions options;
  options.repo_dir = repo;
  options.after_offline_push = [&] {
    std::ofstream(repo + "/offline_done") << "1";
    while (pause_after_offline) ::pause();
  };
  auto store = larder::FeatureStore::Open(options);
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    return 1;
  }
  auto pushed = (*store)->PushFile(argv[2], argv[3], larder::PushTarget::kOnlineAndOffline);
  if (!pushed.ok()) {
    std::cerr << pushed.status().ToString() << "\n";
    return 1;
  }
  return 0;
}
