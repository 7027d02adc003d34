// The run history of the scheduler and backfills in the SQLite registry
// (the runs table; its layout is described in sqlite_registry.cc).
//
// StartRun is the claim that keeps two processes (a scheduler and a
// backfill, or a restarted scheduler and its dead predecessor's rows) from
// running one interval twice: under the file's write lock it checks that
// the interval has no success and no running row of a live owner, then
// inserts its own running row. The partial unique index on successes backs
// this up in the file itself.
#include <sqlite3.h>

#include <algorithm>
#include <array>

#include "registry/sqlite_registry.h"

namespace larder {
namespace {

constexpr std::string_view kCreateRuns[] = {
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY,"
    " project TEXT NOT NULL,"
    " task TEXT NOT NULL,"
    " interval_start INTEGER NOT NULL,"
    " interval_end INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " trigger_kind TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " started INTEGER NOT NULL,"
    " ended INTEGER NOT NULL,"
    " status TEXT NOT NULL,"
    " rows_written INTEGER NOT NULL,"
    " error TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS runs_by_interval ON runs(project, task, interval_end)",
    "CREATE UNIQUE INDEX IF NOT EXISTS runs_one_success ON runs(project, task, interval_end)"
    " WHERE status = 'success'",
};

constexpr std::array<std::pair<RunStatus, std::string_view>, 6> kStatusNames{{
    {RunStatus::kRunning, "running"},
    {RunStatus::kSuccess, "success"},
    {RunStatus::kUpForRetry, "up_for_retry"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kUpstreamFailed, "upstream_failed"},
    {RunStatus::kAbandoned, "abandoned"},
}};

constexpr std::string_view kColumns =
    "id, task, interval_start, interval_end, attempt, trigger_kind, owner, started, ended,"
    " status, rows_written, error";

Result<RunRecord> ReadRun(const SqliteStatement& stmt, const std::string& label) {
  RunRecord r;
  r.id = stmt.ColumnInt64(0);
  r.task = stmt.ColumnText(1);
  r.interval_start = stmt.ColumnInt64(2);
  r.interval_end = stmt.ColumnInt64(3);
  r.attempt = static_cast<int>(stmt.ColumnInt64(4));
  r.trigger = stmt.ColumnText(5);
  r.owner = stmt.ColumnText(6);
  r.started = stmt.ColumnInt64(7);
  r.ended = stmt.ColumnInt64(8);
  const std::string status = stmt.ColumnText(9);
  std::optional<RunStatus> parsed = ParseRunStatus(status);
  if (!parsed) {
    return Status::Corruption(label + ": run " + std::to_string(r.id) + " has unknown status '" +
                              status + "'");
  }
  r.status = *parsed;
  r.rows = stmt.ColumnInt64(10);
  r.error = stmt.ColumnText(11);
  return r;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "running";
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsSettled(RunStatus status) {
  return status == RunStatus::kSuccess || status == RunStatus::kFailed ||
         status == RunStatus::kUpstreamFailed;
}

Status SqliteRegistry::EnsureRunsTable() {
  for (std::string_view sql : kCreateRuns) {
    LARDER_RETURN_IF_ERROR(db_->Exec(sql, "creating the runs table"));
  }
  return Status::OK();
}

Result<RunRecord> SqliteRegistry::StartRun(
    const std::string& project, const RunRecord& run,
    const std::function<bool(const std::string&)>& owner_gone) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(BeginWrite("starting a run"));
  LARDER_RETURN_IF_ERROR(EnsureRunsTable());
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement rows,
      SqliteStatement::Prepare(*db_,
                               "SELECT id, status, owner, attempt FROM runs"
                               " WHERE project = ?1 AND task = ?2 AND interval_end = ?3",
                               "reading the runs"));
  LARDER_RETURN_IF_ERROR(rows.Bind(1, project));
  LARDER_RETURN_IF_ERROR(rows.Bind(2, run.task));
  LARDER_RETURN_IF_ERROR(rows.Bind(3, run.interval_end));
  int attempts = 0;
  std::vector<int64_t> gone;
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    const std::string status = rows.ColumnText(1);
    const std::string owner = rows.ColumnText(2);
    if (status == "success") {
      return Status::AlreadyExists(run.task + " already succeeded for the interval ending " +
                                   FormatIsoTimestamp(run.interval_end));
    }
    if (status == "running") {
      if (!owner_gone(owner)) {
        return Status::Busy(run.task + " is running for the interval ending " +
                            FormatIsoTimestamp(run.interval_end) + " in " + owner);
      }
      gone.push_back(rows.ColumnInt64(0));
      continue;
    }
    if (status == "up_for_retry" || status == "failed" || status == "upstream_failed") {
      attempts = std::max(attempts, static_cast<int>(rows.ColumnInt64(3)));
    }
  }
  for (int64_t id : gone) {
    LARDER_ASSIGN_OR_RETURN(
        SqliteStatement abandon,
        SqliteStatement::Prepare(*db_,
                                 "UPDATE runs SET status = 'abandoned', ended = ?2,"
                                 " error = 'its process stopped before it finished'"
                                 " WHERE id = ?1",
                                 "abandoning a run"));
    LARDER_RETURN_IF_ERROR(abandon.Bind(1, id));
    LARDER_RETURN_IF_ERROR(abandon.Bind(2, run.started));
    LARDER_RETURN_IF_ERROR(abandon.Run());
  }
  RunRecord out = run;
  out.attempt = attempts + 1;
  out.status = RunStatus::kRunning;
  out.ended = 0;
  out.rows = 0;
  out.error.clear();
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      SqliteStatement::Prepare(
          *db_,
          "INSERT INTO runs(project, task, interval_start, interval_end, attempt, trigger_kind,"
          " owner, started, ended, status, rows_written, error)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 'running', 0, '')",
          "recording a run"));
  LARDER_RETURN_IF_ERROR(insert.Bind(1, project));
  LARDER_RETURN_IF_ERROR(insert.Bind(2, out.task));
  LARDER_RETURN_IF_ERROR(insert.Bind(3, out.interval_start));
  LARDER_RETURN_IF_ERROR(insert.Bind(4, out.interval_end));
  LARDER_RETURN_IF_ERROR(insert.Bind(5, int64_t{out.attempt}));
  LARDER_RETURN_IF_ERROR(insert.Bind(6, out.trigger));
  LARDER_RETURN_IF_ERROR(insert.Bind(7, out.owner));
  LARDER_RETURN_IF_ERROR(insert.Bind(8, out.started));
  LARDER_RETURN_IF_ERROR(insert.Run());
  out.id = sqlite3_last_insert_rowid(db_->handle());
  LARDER_RETURN_IF_ERROR(txn.Commit());
  return out;
}

Status SqliteRegistry::FinishRun(const std::string& project, int64_t id, RunStatus status,
                                 int64_t rows, const std::string& error, TimestampMicros ended) {
  if (status == RunStatus::kRunning) {
    return Status::InvalidArgument("FinishRun: a finished run cannot be running");
  }
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(BeginWrite("finishing a run"));
  LARDER_RETURN_IF_ERROR(EnsureRunsTable());
  if (status == RunStatus::kSuccess) {
    // Another process that took this run's interval for abandoned (its owner
    // wrongly presumed gone) may have succeeded first: one success stays.
    LARDER_ASSIGN_OR_RETURN(
        SqliteStatement other,
        SqliteStatement::Prepare(*db_,
                                 "SELECT o.owner FROM runs AS r JOIN runs AS o"
                                 " ON o.project = r.project AND o.task = r.task"
                                 " AND o.interval_end = r.interval_end AND o.status = 'success'"
                                 " WHERE r.project = ?1 AND r.id = ?2 AND o.id <> r.id",
                                 "finishing a run"));
    LARDER_RETURN_IF_ERROR(other.Bind(1, project));
    LARDER_RETURN_IF_ERROR(other.Bind(2, id));
    LARDER_ASSIGN_OR_RETURN(bool found, other.Step());
    if (found) {
      const std::string winner = other.ColumnText(0);
      LARDER_ASSIGN_OR_RETURN(
          SqliteStatement lose,
          SqliteStatement::Prepare(*db_,
                                   "UPDATE runs SET status = 'abandoned', ended = ?3, error = ?4"
                                   " WHERE project = ?1 AND id = ?2",
                                   "finishing a run"));
      LARDER_RETURN_IF_ERROR(lose.Bind(1, project));
      LARDER_RETURN_IF_ERROR(lose.Bind(2, id));
      LARDER_RETURN_IF_ERROR(lose.Bind(3, ended));
      LARDER_RETURN_IF_ERROR(lose.Bind(4, "a run of the interval in " + winner + " succeeded first"));
      LARDER_RETURN_IF_ERROR(lose.Run());
      LARDER_RETURN_IF_ERROR(txn.Commit());
      return Status::AlreadyExists("run " + std::to_string(id) +
                                   ": its interval already succeeded in " + winner);
    }
  }
  LARDER_ASSIGN_OR_RETURN(
      SqliteStatement update,
      SqliteStatement::Prepare(*db_,
                               "UPDATE runs SET status = ?3, rows_written = ?4, error = ?5,"
                               " ended = ?6 WHERE project = ?1 AND id = ?2",
                               "finishing a run"));
  LARDER_RETURN_IF_ERROR(update.Bind(1, project));
  LARDER_RETURN_IF_ERROR(update.Bind(2, id));
  LARDER_RETURN_IF_ERROR(update.Bind(3, RunStatusName(status)));
  LARDER_RETURN_IF_ERROR(update.Bind(4, rows));
  LARDER_RETURN_IF_ERROR(update.Bind(5, error));
  LARDER_RETURN_IF_ERROR(update.Bind(6, ended));
  LARDER_RETURN_IF_ERROR(update.Run());
  if (sqlite3_changes(db_->handle()) == 0) {
    return Status::NotFound("project '" + project + "' has no run " + std::to_string(id) +
                            " in " + db_->label());
  }
  return txn.Commit();
}

Result<std::vector<RunRecord>> SqliteRegistry::Runs(const std::string& project,
                                                    const RunQuery& query) {
  SqliteTransaction txn(*db_);
  LARDER_RETURN_IF_ERROR(txn.BeginRead());
  LARDER_ASSIGN_OR_RETURN(bool has_runs, HasTable("runs"));
  if (!has_runs) return std::vector<RunRecord>{};
  // The newest `limit` rows, returned oldest first.
  std::string sql = "SELECT " + std::string(kColumns) +
                    " FROM runs WHERE project = ?1 AND (?2 = '' OR task = ?2)"
                    " AND (?3 = '' OR status = ?3) AND interval_end >= ?4 AND interval_end < ?5"
                    " ORDER BY interval_end DESC, task DESC, attempt DESC, id DESC";
  if (query.limit > 0) sql += " LIMIT " + std::to_string(query.limit);
  LARDER_ASSIGN_OR_RETURN(SqliteStatement stmt,
                          SqliteStatement::Prepare(*db_, sql, "reading the runs"));
  LARDER_RETURN_IF_ERROR(stmt.Bind(1, project));
  LARDER_RETURN_IF_ERROR(stmt.Bind(2, query.task));
  LARDER_RETURN_IF_ERROR(
      stmt.Bind(3, query.status ? RunStatusName(*query.status) : std::string_view()));
  LARDER_RETURN_IF_ERROR(stmt.Bind(4, query.interval_end_from));
  LARDER_RETURN_IF_ERROR(stmt.Bind(5, query.interval_end_to));
  std::vector<RunRecord> out;
  while (true) {
    LARDER_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    LARDER_ASSIGN_OR_RETURN(RunRecord r, ReadRun(stmt, db_->label()));
    out.push_back(std::move(r));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace larder
