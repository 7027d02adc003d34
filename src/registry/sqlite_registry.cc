// The registry in one SQLite file.
//
// Schema (version 1). Every table is keyed by project, so one file can hold
// several projects.
//
//   larder_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)
//       ('format', 'larder-registry') marks the file as a Larder registry;
//       ('schema_version', '1'). A file with tables but no such marker is
//       refused (Corruption); a higher schema_version is refused
//       (FailedPrecondition) rather than misread.
//   projects(project TEXT PRIMARY KEY, version INTEGER NOT NULL,
//            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)
//       The current version (>= 1) of every applied project; times are UTC
//       microseconds of its first and latest changing apply.
//   objects(project, kind, name, definition TEXT NOT NULL,
//           version_created INTEGER NOT NULL, version_updated INTEGER NOT NULL,
//           PRIMARY KEY (project, kind, name))
//       The current objects. kind is ObjectKindId ("entity", "data_source",
//       "sql_model", "feature_view", "feature_service"); definition is the
//       canonical JSON of registry/definition_json.h.
//   object_history(project, kind, name, version INTEGER NOT NULL,
//                  change TEXT NOT NULL, definition TEXT,
//                  PRIMARY KEY (project, kind, name, version))
//       One row per object changed by an apply: change is "create",
//       "update" or "delete"; definition is the new JSON, NULL for delete.
//       The project at version V is, per (kind, name), the row with the
//       greatest version <= V, when its definition is not NULL.
//   applies(project, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
//           changes INTEGER NOT NULL, PRIMARY KEY (project, version))
//       The log of applies that changed something: when (UTC microseconds,
//       from RegistryOptions::clock) and how many objects changed.
//   runs(id INTEGER PRIMARY KEY, project, task, interval_start,
//        interval_end, attempt, trigger_kind, owner, started, ended, status,
//        rows_written, error)
//       The scheduler's and backfills' run history (registry/sqlite_runs.cc),
//       created by the first run, so files written before it existed keep
//       schema version 1. A partial unique index allows one success per
//       (project, task, interval_end).
//
// Locking: the file is in WAL mode, so readers never wait for the writer.
// Apply and Teardown run their whole read-diff-write cycle inside
// BEGIN IMMEDIATE, which takes the single write lock up front (waiting up
// to lock_timeout through SQLite's busy handler), so two applies serialise
// and neither can write a plan computed from a stale read. An apply that
// changes nothing writes nothing. Plan, Load, Version and DumpJson read
// inside a deferred transaction, i.e. from one consistent snapshot.
#include "registry/sqlite_registry.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/definition_json.h"

namespace larder {
namespace {

using nlohmann::json;

constexpr int64_t kSchemaVersion = 1;
constexpr std::string_view kFormat = "larder-registry";

constexpr std::string_view kCreateSchema[] = {
    "CREATE TABLE larder_meta ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL)",
    "CREATE TABLE projects ("
    " project TEXT PRIMARY KEY,"
    " version INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL)",
    "CREATE TABLE objects ("
    " project TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " definition TEXT NOT NULL,"
    " version_created INTEGER NOT NULL,"
    " version_updated INTEGER NOT NULL,"
    " PRIMARY KEY (project, kind, name))",
    "CREATE TABLE object_history ("
    " project TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " change TEXT NOT NULL,"
    " definition TEXT,"
    " PRIMARY KEY (project, kind, name, version))",
    "CREATE TABLE applies ("
    " project TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " applied_at INTEGER NOT NULL,"
    " changes INTEGER NOT NULL,"
    " PRIMARY KEY (project, version))",
};

TimestampMicros SystemNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string FormatWait(std::chrono::milliseconds wait) {
  int64_t ms = wait.count();
  if (ms > 0 && ms % 1000 == 0) return FormatDuration(Duration{ms * 1000});
  return std::to_string(ms) + "ms";
}

std::string_view ChangeName(ChangeType type) {
  switch (type) {
    case ChangeType::kCreate: return "create";
    case ChangeType::kUpdate: return "update";
    case ChangeType::kDelete: return "delete";
  }
  return "update";
}

std::string What(const ObjectKey& key) {
  return std::string(ObjectKindName(key.kind)) + " " + key.name;
}

template <typename T>
Status Decode(const ObjectKey& key, const std::string& text,
              std::vector<T>* out) {
  const std::string what = What(key);
  LARDER_ASSIGN_OR_RETURN(json j, ParseJsonText(text, what));
  T object;
  LARDER_RETURN_IF_ERROR(FromJson(j, &object));
  if (object.name != key.name) {
    return Status::Corruption(what + ": stored definition is named '" +
                              object.name + "'");
  }
  out->push_back(std::move(object));
  return Status::OK();
}

// Reads (kind, name, definition) rows into `out`, skipping NULL
// definitions.
Status CollectDefinitions(SqliteStatement& stmt, const std::string& label,
                          DefinitionMap* out) {
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    std::string kind_id = stmt.ColumnText(0);
    std::string name = stmt.ColumnText(1);
    auto kind = ObjectKindFromId(kind_id);
    if (!kind) {
      return Status::Corruption(label + ": object '" + name +
                                "' has unknown kind '" + kind_id + "'");
    }
    if (stmt.ColumnIsNull(2)) continue;
    (*out)[ObjectKey{*kind, std::move(name)}] = stmt.ColumnText(2);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Registry>> Registry::Open(
    const RegistryOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<SqliteRegistry> registry,
                          SqliteRegistry::Open(options));
  return std::unique_ptr<Registry>(std::move(registry));
}

Result<std::unique_ptr<SqliteRegistry>> SqliteRegistry::Open(
    const RegistryOptions& options) {
  if (options.path.empty()) {
    return Status::InvalidArgument("registry path is empty");
  }
  const std::string label = "registry " + options.path;
  std::filesystem::path parent =
      std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::IOError(label + ": cannot create directory " +
                             parent.string() + ": " + ec.message());
    }
  }
  LARDER_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> db,
      SqliteDb::Open(options.path, label, options.lock_timeout));
  RegistryOptions opts = options;
  if (!opts.clock) opts.clock = SystemNow;
  std::unique_ptr<SqliteRegistry> registry(
      new SqliteRegistry(std::move(opts), std::move(db)));
  LARDER_RETURN_IF_ERROR(registry->InitSchema());
  return registry;
}

Status SqliteRegistry::InitSchema() {
  // While another connection switches a new file to WAL or creates the
  // schema, SQLite can report "locked" without calling the busy handler
  // (it would deadlock otherwise). Every step here is idempotent, so retry
  // with a growing pause until lock_timeout.
  const auto deadline =
      std::chrono::steady_clock::now() + options_.lock_timeout;
  std::chrono::milliseconds pause{1};
  while (true) {
    Status s = TryInitSchema();
    if (s.code() != StatusCode::kBusy) return s;
    if (std::chrono::steady_clock::now() + pause > deadline) {
      return Status::Busy(db_->label() +
                          " is locked by another process opening or changing "
                          "it; waited " +
                          FormatWait(options_.lock_timeout) +
                          ". Try again when it finishes.");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds{50});
  }
}

Status SqliteRegistry::TryInitSchema() {
  const std::string& label = db_->label();
  // The first read of the file: a file that is not SQLite fails here.
  Status wal = db_->Exec("PRAGMA journal_mode=WAL", "enabling WAL");
  if (!wal.ok()) {
    if (wal.code() == StatusCode::kCorruption) {
      return Status::Corruption(label +
                                " is not a Larder registry (not an SQLite "
                                "database, or a damaged one)");
    }
    return wal;
  }

  int64_t tables = 0;
  {
    SqliteTransaction txn(*db_);
    LARDER_RETURN_IF_ERROR(txn.BeginRead());
    LARDER_ASSIGN_OR_RETURN(
        SqliteStatement count,
        SqliteStatement::Prepare(*db_, "SELECT count(*) FROM sqlite_master",
                                 "reading the schema"));
    LARDER_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) tables = count.ColumnInt64(0);
    if (tables > 0) return CheckSchema();
  }

  // A new file. Create the schema under the write lock; another process
  // may have created it meanwhile, so look again once the lock is held.
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(BeginWrite("creating the registry"));
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement count,
      SqliteStatement::Prepare(*db_, "SELECT count(*) FROM sqlite_master",
                               "reading the schema"));
  LARDER_ASSIGN_OR_RETURN(bool row, count.Step());
  tables = row ? count.ColumnInt64(0) : 0;
  if (tables > 0) {
    LARDER_RETURN_IF_ERROR(CheckSchema());
  } else {
    LARDER_RETURN_IF_ERROR(CreateSchema());
  }
  return txn.Commit();
}

Status SqliteRegistry::CreateSchema() {
  for (std::string_view sql : kCreateSchema) {
    LARDER_RETURN_IF_ERROR(db_->Exec(sql, "creating the schema"));
  }
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement meta,
      SqliteStatement::Prepare(
          *db_, "INSERT INTO larder_meta(key, value) VALUES (?1, ?2)",
          "writing the schema version"));
  LARDER_RETURN_IF_ERROR(meta.Bind(1, std::string_view("format")));
  LARDER_RETURN_IF_ERROR(meta.Bind(2, kFormat));
  LARDER_RETURN_IF_ERROR(meta.Run());
  LARDER_RETURN_IF_ERROR(meta.Bind(1, std::string_view("schema_version")));
  LARDER_RETURN_IF_ERROR(meta.Bind(2, std::to_string(kSchemaVersion)));
  return meta.Run();
}

Result<bool> SqliteRegistry::HasTable(std::string_view name) {
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(*db_,
                               "SELECT count(*) FROM sqlite_master"
                               " WHERE type = 'table' AND name = ?1",
                               "reading the schema"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, name));
  LARDER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row && stmt.ColumnInt64(0) > 0;
}

Status SqliteRegistry::CheckSchema() {
  const std::string& label = db_->label();
  LARDER_ASSIGN_OR_RETURN(bool has_meta, HasTable("larder_meta"));
  if (!has_meta) {
    return Status::Corruption(
        label + " is not a Larder registry (an SQLite database without the "
                "larder_meta table)");
  }
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement meta,
      SqliteStatement::Prepare(*db_, "SELECT key, value FROM larder_meta",
                               "reading the schema version"));
  std::string format;
  std::string version_text;
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool more, meta.Step());
    if (!more) break;
    std::string key = meta.ColumnText(0);
    if (key == "format") format = meta.ColumnText(1);
    if (key == "schema_version") version_text = meta.ColumnText(1);
  }
  if (format != kFormat) {
    return Status::Corruption(label + " is not a Larder registry (format '" +
                              format + "')");
  }
  int64_t version = 0;
  try {
    size_t used = 0;
    version = std::stoll(version_text, &used);
    if (used != version_text.size()) version = 0;
  } catch (const std::exception&) {
    version = 0;
  }
  if (version <= 0) {
    return Status::Corruption(label + " has a bad schema version '" +
                              version_text + "'");
  }
  if (version > kSchemaVersion) {
    return Status::FailedPrecondition(
        label + " has schema version " + std::to_string(version) +
        ", newer than this Larder supports (" + std::to_string(kSchemaVersion) +
        "); upgrade Larder to use it");
  }
  return Status::OK();
}

Status SqliteRegistry::BeginWrite(std::string_view operation) {
  Status s = db_->Exec("BEGIN IMMEDIATE", operation);
  if (s.code() == StatusCode::kBusy) {
    return Status::Busy(db_->label() +
                        " is locked by another apply or teardown; waited " +
                        FormatWait(options_.lock_timeout) +
                        ". Try again when it finishes.");
  }
  return s;
}

Status SqliteRegistry::NeverApplied(const std::string& project) const {
  return Status::NotFound("project '" + project +
                          "' has never been applied to " + db_->label());
}

Result<int64_t> SqliteRegistry::ReadVersion(const std::string& project) {
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          *db_, "SELECT version FROM projects WHERE project = ?1",
          "reading the project version"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
  LARDER_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.ColumnInt64(0) : int64_t{0};
}

Result<DefinitionMap> SqliteRegistry::ReadObjects(const std::string& project) {
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          *db_,
          "SELECT kind, name, definition FROM objects WHERE project = ?1",
          "reading objects"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
  DefinitionMap out;
  LARDER_RETURN_IF_ERROR(CollectDefinitions(stmt, db_->label(), &out));
  return out;
}

Result<FeatureRepo> SqliteRegistry::BuildRepo(
    const std::string& project, const DefinitionMap& objects) const {
  FeatureRepo repo;
  repo.config.project = project;
  for (const auto& [key, text] : objects) {
    Status s;
    switch (key.kind) {
      case ObjectKind::kEntity: s = Decode(key, text, &repo.entities); break;
      case ObjectKind::kDataSource:
        s = Decode(key, text, &repo.data_sources);
        break;
      case ObjectKind::kSqlModel: s = Decode(key, text, &repo.models); break;
      case ObjectKind::kFeatureView:
        s = Decode(key, text, &repo.feature_views);
        break;
      case ObjectKind::kFeatureService:
        s = Decode(key, text, &repo.feature_services);
        break;
    }
    if (!s.ok()) return s.WithContext(db_->label());
  }
  return repo;
}

Result<RegistryPlan> SqliteRegistry::Plan(const FeatureRepo& repo) {
  LARDER_ASSIGN_OR_RETURN(DefinitionMap desired, RepoDefinitions(repo));
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(txn.BeginRead());
  LARDER_ASSIGN_OR_RETURN(DefinitionMap stored,
                          ReadObjects(repo.config.project));
  return DiffDefinitions(stored, desired);
}

Result<ApplyResult> SqliteRegistry::Apply(const FeatureRepo& repo) {
  const std::string& project = repo.config.project;
  if (project.empty()) {
    return Status::InvalidArgument("cannot apply to " + db_->label() +
                                   ": the repo's project name is empty");
  }
  LARDER_ASSIGN_OR_RETURN(DefinitionMap desired, RepoDefinitions(repo));

  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(BeginWrite("starting apply"));
  LARDER_ASSIGN_OR_RETURN(int64_t version, ReadVersion(project));
  LARDER_ASSIGN_OR_RETURN(DefinitionMap stored, ReadObjects(project));
  ApplyResult result;
  result.plan = DiffDefinitions(stored, desired);
  result.version = version;
  if (result.plan.empty()) return result;  // nothing written; rolled back

  const int64_t next = version + 1;
  const TimestampMicros now = options_.clock();

  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement upsert_project,
      SqliteStatement::Prepare(
          *db_,
          "INSERT INTO projects(project, version, created_at, updated_at)"
          " VALUES (?1, ?2, ?3, ?3)"
          " ON CONFLICT(project) DO UPDATE SET"
          " version = excluded.version, updated_at = excluded.updated_at",
          "writing the project version"));
  LARDER_RETURN_IF_ERROR(upsert_project.Bind(1, project));
  LARDER_RETURN_IF_ERROR(upsert_project.Bind(2, next));
  LARDER_RETURN_IF_ERROR(upsert_project.Bind(3, now));
  LARDER_RETURN_IF_ERROR(upsert_project.Run());

  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement insert_object,
      SqliteStatement::Prepare(
          *db_,
          "INSERT INTO objects(project, kind, name, definition,"
          " version_created, version_updated)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
          "writing an object"));
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement update_object,
      SqliteStatement::Prepare(
          *db_,
          "UPDATE objects SET definition = ?4, version_updated = ?5"
          " WHERE project = ?1 AND kind = ?2 AND name = ?3",
          "updating an object"));
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement delete_object,
      SqliteStatement::Prepare(
          *db_,
          "DELETE FROM objects WHERE project = ?1 AND kind = ?2 AND name = ?3",
          "deleting an object"));
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement insert_history,
      SqliteStatement::Prepare(
          *db_,
          "INSERT INTO object_history(project, kind, name, version, change,"
          " definition) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          "writing history"));

  for (const ObjectChange& change : result.plan.changes) {
    const ObjectKey key{change.kind, change.name};
    const std::string_view kind_id = ObjectKindId(change.kind);
    if (change.type == ChangeType::kDelete) {
      LARDER_RETURN_IF_ERROR(delete_object.Bind(1, project));
      LARDER_RETURN_IF_ERROR(delete_object.Bind(2, kind_id));
      LARDER_RETURN_IF_ERROR(delete_object.Bind(3, change.name));
      LARDER_RETURN_IF_ERROR(delete_object.Run());
      LARDER_RETURN_IF_ERROR(insert_history.BindNull(6));
    } else {
      const std::string& text = desired.at(key);
      SqliteStatement& write = change.type == ChangeType::kCreate
                                   ? insert_object
                                   : update_object;
      LARDER_RETURN_IF_ERROR(write.Bind(1, project));
      LARDER_RETURN_IF_ERROR(write.Bind(2, kind_id));
      LARDER_RETURN_IF_ERROR(write.Bind(3, change.name));
      LARDER_RETURN_IF_ERROR(write.Bind(4, text));
      LARDER_RETURN_IF_ERROR(write.Bind(5, next));
      LARDER_RETURN_IF_ERROR(write.Run());
      LARDER_RETURN_IF_ERROR(insert_history.Bind(6, text));
    }
    LARDER_RETURN_IF_ERROR(insert_history.Bind(1, project));
    LARDER_RETURN_IF_ERROR(insert_history.Bind(2, kind_id));
    LARDER_RETURN_IF_ERROR(insert_history.Bind(3, change.name));
    LARDER_RETURN_IF_ERROR(insert_history.Bind(4, next));
    LARDER_RETURN_IF_ERROR(insert_history.Bind(5, ChangeName(change.type)));
    LARDER_RETURN_IF_ERROR(insert_history.Run());
  }

  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement log,
      SqliteStatement::Prepare(
          *db_,
          "INSERT INTO applies(project, version, applied_at, changes)"
          " VALUES (?1, ?2, ?3, ?4)",
          "writing the applies log"));
  LARDER_RETURN_IF_ERROR(log.Bind(1, project));
  LARDER_RETURN_IF_ERROR(log.Bind(2, next));
  LARDER_RETURN_IF_ERROR(log.Bind(3, now));
  LARDER_RETURN_IF_ERROR(
      log.Bind(4, static_cast<int64_t>(result.plan.changes.size())));
  LARDER_RETURN_IF_ERROR(log.Run());

  LARDER_RETURN_IF_ERROR(txn.Commit());
  result.version = next;
  return result;
}

Status SqliteRegistry::Teardown(const std::string& project) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(BeginWrite("starting teardown"));
  LARDER_ASSIGN_OR_RETURN(int64_t version, ReadVersion(project));
  if (version == 0) return NeverApplied(project);
  LARDER_RETURN_IF_ERROR(EnsureRunsTable());
  for (std::string_view sql : {
           "DELETE FROM objects WHERE project = ?1",
           "DELETE FROM object_history WHERE project = ?1",
           "DELETE FROM applies WHERE project = ?1",
           "DELETE FROM projects WHERE project = ?1",
           "DELETE FROM runs WHERE project = ?1",
       }) {
    LARDER_ASSIGN_OR_RETURN(
        SqliteStatement stmt,
        SqliteStatement::Prepare(*db_, sql, "tearing down the project"));
    LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
    LARDER_RETURN_IF_ERROR(stmt.Run());
  }
  return txn.Commit();
}

Result<FeatureRepo> SqliteRegistry::Load(const std::string& project) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(txn.BeginRead());
  LARDER_ASSIGN_OR_RETURN(int64_t version, ReadVersion(project));
  if (version == 0) return NeverApplied(project);
  LARDER_ASSIGN_OR_RETURN(DefinitionMap objects, ReadObjects(project));
  return BuildRepo(project, objects);
}

Result<FeatureRepo> SqliteRegistry::LoadVersion(const std::string& project,
                                                int64_t version) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(txn.BeginRead());
  LARDER_ASSIGN_OR_RETURN(int64_t current, ReadVersion(project));
  if (current == 0) return NeverApplied(project);
  if (version < 1 || version > current) {
    return Status::NotFound("project '" + project + "' has no version " +
                            std::to_string(version) + " in " + db_->label() +
                            " (current version: " + std::to_string(current) +
                            ")");
  }
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          *db_,
          "SELECT h.kind, h.name, h.definition FROM object_history AS h"
          " WHERE h.project = ?1 AND h.version ="
          " (SELECT MAX(p.version) FROM object_history AS p"
          "  WHERE p.project = h.project AND p.kind = h.kind"
          "  AND p.name = h.name AND p.version <= ?2)",
          "reading history"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
  LARDER_RETURN_IF_ERROR(stmt.Bind(2, version));
  DefinitionMap objects;
  LARDER_RETURN_IF_ERROR(CollectDefinitions(stmt, db_->label(), &objects));
  return BuildRepo(project, objects);
}

Result<std::vector<ApplyRecord>> SqliteRegistry::Applies(
    const std::string& project) {
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          *db_,
          "SELECT version, applied_at, changes FROM applies"
          " WHERE project = ?1 ORDER BY version",
          "reading the applies log"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
  std::vector<ApplyRecord> out;
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(ApplyRecord{stmt.ColumnInt64(0), stmt.ColumnInt64(1),
                              stmt.ColumnInt64(2)});
  }
  return out;
}

Result<int64_t> SqliteRegistry::Version(const std::string& project) {
  return ReadVersion(project);
}

Result<std::string> SqliteRegistry::DumpJson(const std::string& project) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(txn.BeginRead());
  LARDER_ASSIGN_OR_RETURN(int64_t version, ReadVersion(project));
  if (version == 0) return NeverApplied(project);
  LARDER_ASSIGN_OR_RETURN(DefinitionMap objects, ReadObjects(project));
  try {
    json doc = json::object();
    doc["project"] = project;
    doc["version"] = version;
    for (ObjectKind kind : kAllObjectKinds) {
      doc[std::string(ObjectKindPluralId(kind))] = json::array();
    }
    for (const auto& [key, text] : objects) {
      auto parsed = ParseJsonText(text, What(key));
      if (!parsed.ok()) return parsed.status().WithContext(db_->label());
      doc[std::string(ObjectKindPluralId(key.kind))].push_back(
          std::move(parsed).value());
    }
    return doc.dump(2, ' ', /*ensure_ascii=*/false,
                    json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return Status::Internal(db_->label() + ": dumping project '" + project +
                            "': " + e.what());
  }
}

}  // namespace larder
