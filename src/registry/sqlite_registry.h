// SqliteRegistry: the Registry kept in one SQLite file (the default store).
// Registry::Open returns one. The schema is documented at the top of
// sqlite_registry.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/registry.h"
#include "registry/plan.h"
#include "registry/sqlite_db.h"

namespace larder {

// One row of the applies log.
struct ApplyRecord {
  int64_t version = 0;
  TimestampMicros applied_at = 0;  // UTC microseconds, from the clock
  int64_t changes = 0;             // number of created/updated/deleted objects

  bool operator==(const ApplyRecord&) const = default;
};

class SqliteRegistry final : public Registry {
 public:
  // See Registry::Open. Errors name options.path. FailedPrecondition when
  // the file was written by a newer Larder (a higher schema version).
  static Result<std::unique_ptr<SqliteRegistry>> Open(
      const RegistryOptions& options);

  Result<RegistryPlan> Plan(const FeatureRepo& repo) override;
  Result<ApplyResult> Apply(const FeatureRepo& repo) override;
  Status Teardown(const std::string& project) override;
  Result<FeatureRepo> Load(const std::string& project) override;
  Result<int64_t> Version(const std::string& project) override;
  Result<std::string> DumpJson(const std::string& project) override;
  // Run history (registry/sqlite_runs.cc).
  Result<RunRecord> StartRun(const std::string& project, const RunRecord& run,
                             const std::function<bool(const std::string&)>& owner_gone) override;
  Status FinishRun(const std::string& project, int64_t id, RunStatus status, int64_t rows,
                   const std::string& error, TimestampMicros ended) override;
  Result<std::vector<RunRecord>> Runs(const std::string& project, const RunQuery& query) override;

  // The project as it was right after `version` was applied, rebuilt from
  // the history. NotFound when the project has no such version.
  Result<FeatureRepo> LoadVersion(const std::string& project, int64_t version);

  // Every apply that changed the project, oldest first. Empty when the
  // project was never applied.
  Result<std::vector<ApplyRecord>> Applies(const std::string& project);

 private:
  SqliteRegistry(RegistryOptions options, std::unique_ptr<SqliteDb> db)
      : options_(std::move(options)), db_(std::move(db)) {}

  Status InitSchema();
  Status TryInitSchema();
  Status CheckSchema();
  Status CreateSchema();
  // BEGIN IMMEDIATE, turning a lock timeout into the user-facing Busy.
  Status BeginWrite(std::string_view operation);
  Result<int64_t> ReadVersion(const std::string& project);
  Result<DefinitionMap> ReadObjects(const std::string& project);
  Result<FeatureRepo> BuildRepo(const std::string& project,
                                const DefinitionMap& objects) const;
  Status NeverApplied(const std::string& project) const;
  // Creates the runs table when the file predates it. Inside a write
  // transaction.
  Status EnsureRunsTable();
  // Whether the file has the table `name` (the runs table: not in files
  // that never held a run).
  Result<bool> HasTable(std::string_view name);

  RegistryOptions options_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace larder
