// ctest's `spark_server` fixture: one Spark Connect server for every Spark
// test of a ctest run, instead of a JVM per test process.
//
//   larder_test_spark_fixture start STATE_FILE   start a server that outlives
//                                                this process; record it
//   larder_test_spark_fixture stop STATE_FILE    stop it, remove its files
//
// The tests find it through $LARDER_TEST_SPARK_STATE (cmake/test_labels.cmake
// sets it on the tests of label `spark`, with the fixture).
#include <cstdio>
#include <cstring>
#include <string>

#include "support/spark_server.h"

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::fprintf(stderr, "usage: %s start|stop STATE_FILE\n", argv[0]);
    return 2;
  }
  const std::string state_file = argv[2];
  if (std::strcmp(argv[1], "stop") == 0) {
    const larder::Status stopped = larder::testing::SparkServer::StopDetached(state_file);
    if (!stopped.ok()) std::fprintf(stderr, "%s\n", stopped.ToString().c_str());
    return stopped.ok() ? 0 : 1;
  }
  // A server left by an interrupted run goes first.
  (void)larder::testing::SparkServer::StopDetached(state_file);
  auto server = larder::testing::SparkServer::Start(/*outlive_parent=*/true);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  const larder::Status detached = (*server)->Detach(state_file);
  if (!detached.ok()) {
    std::fprintf(stderr, "%s\n", detached.ToString().c_str());
    return 1;
  }
  std::printf("Spark Connect server on %s\n", (*server)->remote().c_str());
  return 0;
}
