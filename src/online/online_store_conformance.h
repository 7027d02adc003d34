// The conformance suite every OnlineStore backend must pass, written once
// (online_store_conformance_test.cc) and instantiated per backend:
//
//   INSTANTIATE_TEST_SUITE_P(OnlineRedis, OnlineStoreConformance,
//       ::testing::Values(OnlineBackend{"redis", [](const std::string& dir) {
//         return StoreConfig{"redis", {{"host", "127.0.0.1"}, {"port", port}}};
//       }}),
//       [](const auto& info) { return info.param.name; });
//
// Each test gets a fresh temporary directory (the repo root) and a project
// name unique to the test, and deletes the project's data when it ends, so
// backends that share one server (Redis, DynamoDB) isolate tests by project.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "larder/online_store.h"
#include "support/test_util.h"

namespace larder::testing {

struct OnlineBackend {
  // Used as the test name suffix: letters, digits and underscores.
  std::string name;
  // The `online_store:` config for a store whose repo root is `repo_root`.
  std::function<StoreConfig(const std::string& repo_root)> config;
};

// gtest prints the parameter by its name, not its bytes.
inline void PrintTo(const OnlineBackend& backend, std::ostream* os) { *os << backend.name; }

class OnlineStoreConformance : public ::testing::TestWithParam<OnlineBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Opens (another) store on the same backend and repo root. Returns null and
  // records a failure when it cannot.
  std::unique_ptr<OnlineStore> OpenStore(const std::string& project);
  // Closes and reopens store_.
  void Reopen();

  TempDir dir_;
  std::string project_;
  std::unique_ptr<OnlineStore> store_;
};

}  // namespace larder::testing
