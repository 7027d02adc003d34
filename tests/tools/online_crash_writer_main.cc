// larder_online_crash_writer DIR: the process that
// OnlineRocksDb.KilledWriterLeavesAConsistentStore kills with SIGKILL.
#include <iostream>

#include "support/online_crash_writer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: larder_online_crash_writer REPO_DIR\n";
    return 2;
  }
  return larder::testing::RunCrashWriter(argv[1]);
}
