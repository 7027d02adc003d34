// The registry: the stored, versioned definitions of every project.
//
// The default store is one SQLite file (feature_store.yaml `registry:`).
// Every object's full definition is kept as canonical JSON. Each apply that
// changes anything gets a new version number per project, and the definition
// of every object at every version is kept, so history can be read back.
//
// Concurrency: any number of processes may read while one applies. Apply and
// Teardown take the file's write lock for their whole read-diff-write cycle,
// so two concurrent applies serialise; the second waits up to
// RegistryOptions::lock_timeout and then fails with Status::Busy naming the
// registry file. A Registry object is not thread-safe; use one per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/definitions.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "larder/types.h"

namespace larder {

enum class ChangeType { kCreate, kUpdate, kDelete };

struct ObjectChange {
  ChangeType type;
  ObjectKind kind;
  std::string name;
  // kUpdate: what differs, one item per changed key of the definition, in
  // key order: "ttl 1d -> 2d", "schema", "aggregations: added rating_mean_7d,
  // changed rating_count_1d (time_window 1d -> 2d)". Empty otherwise.
  std::vector<std::string> details;

  // Feast-style line: "Created feature view book_features", with an
  // update's details after a colon, separated by "; ".
  std::string Describe() const;
  bool operator==(const ObjectChange&) const = default;
};

// The changes an apply would make, ordered: creates and updates by kind
// (entities, sources, models, views, services) then deletes in reverse kind
// order, each group sorted by name.
struct RegistryPlan {
  std::vector<ObjectChange> changes;
  // The loader's warnings about the repo (FeatureRepo::warnings), for plan
  // and apply to show. Not part of empty().
  std::vector<std::string> warnings;
  bool empty() const { return changes.empty(); }
};

struct ApplyResult {
  RegistryPlan plan;
  // The project's version after the apply. Unchanged when plan is empty.
  int64_t version = 0;
};

struct RegistryOptions {
  // The SQLite file. Its parent directory is created when missing.
  // REQUIRES: non-empty.
  std::string path;
  // How long Apply and Teardown wait for another writer before Busy.
  // Default: 10 s.
  std::chrono::milliseconds lock_timeout{10'000};
  // The time recorded for each apply (UTC microseconds). Tests inject a
  // fake. Default: unset, meaning the system clock.
  std::function<TimestampMicros()> clock;
};

// The state of one run of a scheduled task over one interval
// (`larder runs`, docs/orchestration.md).
enum class RunStatus {
  kRunning,         // started; its owner is working on it (or died doing so)
  kSuccess,         // done; the interval never runs again
  kUpForRetry,      // failed; another attempt is due after a delay
  kFailed,          // failed, with no attempt left
  kUpstreamFailed,  // not run: a task it depends on failed for the interval
  kAbandoned,       // its owner stopped or died before it finished
};
// "running", "success", "up_for_retry", "failed", "upstream_failed",
// "abandoned".
std::string_view RunStatusName(RunStatus status);
// The status named `name`; nullopt when none is.
std::optional<RunStatus> ParseRunStatus(std::string_view name);
// Whether no further attempt follows: success, failed, upstream_failed.
bool IsSettled(RunStatus status);

// One attempt of a scheduled task over one interval.
struct RunRecord {
  int64_t id = 0;                   // assigned by StartRun
  std::string task;                 // "view:NAME" or "model:NAME"
  TimestampMicros interval_start = 0;
  TimestampMicros interval_end = 0;
  int attempt = 1;                  // assigned by StartRun: 1, 2, ...
  std::string trigger;              // "schedule" or "backfill"
  std::string owner;                // the process: "HOST:PID"
  TimestampMicros started = 0;
  TimestampMicros ended = 0;        // 0 while running
  RunStatus status = RunStatus::kRunning;
  int64_t rows = 0;                 // rows written online
  std::string error;
  bool operator==(const RunRecord&) const = default;
};

// Which runs `Runs` returns: all filters apply.
struct RunQuery {
  std::string task;                      // "" = every task
  std::optional<RunStatus> status;       // unset = any status
  TimestampMicros interval_end_from = 0; // interval_end >= this
  TimestampMicros interval_end_to = std::numeric_limits<TimestampMicros>::max();  // < this
  int64_t limit = 0;                     // the newest this many; 0 = no limit
};

class Registry {
 public:
  // Opens (creating when absent) the registry at options.path.
  // Errors: IOError when the file cannot be opened or created; Corruption
  // when it is not a Larder registry.
  static Result<std::unique_ptr<Registry>> Open(const RegistryOptions& options);

  virtual ~Registry() = default;

  // What Apply(repo) would change now. Changes nothing.
  virtual Result<RegistryPlan> Plan(const FeatureRepo& repo) = 0;

  // Makes the stored project equal to `repo`, atomically: either every
  // change lands under one new version or none does.
  virtual Result<ApplyResult> Apply(const FeatureRepo& repo) = 0;

  // Removes every object and the version history of `project`.
  // NotFound when the project has never been applied.
  virtual Status Teardown(const std::string& project) = 0;

  // The project's objects as last applied (root and config left default
  // except config.project). NotFound when the project was never applied.
  virtual Result<FeatureRepo> Load(const std::string& project) = 0;

  // The project's current version; 0 when never applied.
  virtual Result<int64_t> Version(const std::string& project) = 0;

  // The project as a JSON document: project, version, and one array per
  // object kind holding each object's definition. NotFound when the
  // project was never applied.
  virtual Result<std::string> DumpJson(const std::string& project) = 0;

  // --- Run history of the scheduler and backfills ---
  // Starts a run of run.task over its interval, atomically: a `running` row
  // is inserted, with the next attempt number, unless the interval already
  // succeeded (AlreadyExists) or a running row's owner is still at work
  // (Busy). Running rows whose owner `owner_gone` says has gone are marked
  // abandoned first. Returns the stored record.
  virtual Result<RunRecord> StartRun(const std::string& project, const RunRecord& run,
                                     const std::function<bool(const std::string&)>& owner_gone) = 0;
  // Records a run's end. REQUIRES: status is not kRunning.
  // NotFound for an unknown id. AlreadyExists, with the run recorded
  // abandoned, for a success when another run of the interval succeeded
  // first (a process that took over the interval from an owner wrongly
  // presumed gone).
  virtual Status FinishRun(const std::string& project, int64_t id, RunStatus status,
                           int64_t rows, const std::string& error, TimestampMicros ended) = 0;
  // Runs matching `query`, by interval end then task then attempt (oldest first).
  virtual Result<std::vector<RunRecord>> Runs(const std::string& project,
                                              const RunQuery& query) = 0;
};

}  // namespace larder
