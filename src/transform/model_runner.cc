#include "transform/model_runner.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <set>

namespace larder::transform {
namespace {

using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;

enum class RelationKind { kNone, kTable, kView };

// The tables and views of the offline store's main schema.
class Catalog {
 public:
  static Result<Catalog> Read(duckdb::Connection& conn) {
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult r,
        conn.Query("SELECT table_name, table_type FROM information_schema.tables "
                   "WHERE table_schema = 'main' AND table_catalog = current_database()",
                   "offline store catalog"));
    Catalog c;
    for (const auto& row : r.rows) {
      if (!row[0] || !row[1]) continue;
      c.kinds_[*row[0]] = *row[1] == "VIEW" ? RelationKind::kView : RelationKind::kTable;
    }
    return c;
  }
  RelationKind Kind(std::string_view name) const {
    auto it = kinds_.find(std::string(name));
    return it == kinds_.end() ? RelationKind::kNone : it->second;
  }
  offline::TableExists Exists() const {
    return [this](std::string_view name) { return Kind(name) != RelationKind::kNone; };
  }

 private:
  std::map<std::string, RelationKind> kinds_;
};

std::string DropSql(RelationKind kind, const std::string& quoted) {
  switch (kind) {
    case RelationKind::kTable:
      return "DROP TABLE " + quoted + "; ";
    case RelationKind::kView:
      return "DROP VIEW " + quoted + "; ";
    case RelationKind::kNone:
      break;
  }
  return "";
}

Result<int64_t> QueryCount(duckdb::Connection& conn, const std::string& sql,
                           const std::string& what) {
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string> v, conn.QueryScalar(sql, what));
  if (!v) return int64_t{0};
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    return Status::Internal(what + ": expected a count, got '" + *v + "'");
  }
  return n;
}

// Runs `body` inside a transaction, rolling back on error.
Status InTransaction(duckdb::Connection& conn, const std::string& what,
                     const std::function<Status()>& body) {
  Status st = conn.Execute("BEGIN TRANSACTION", what);
  if (!st.ok()) return st;
  st = body();
  if (st.ok()) st = conn.Execute("COMMIT", what);
  if (!st.ok()) (void)conn.Execute("ROLLBACK", what);
  return st;
}

// Runs `sql`, statements Larder wrote, inside a transaction.
Status InTransaction(duckdb::Connection& conn, const std::string& sql, const std::string& what) {
  return InTransaction(conn, what, [&] { return conn.Execute(sql, what); });
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

// Offsets in `sql` where statements begin: its first token, and the first
// token after each ';', skipping quoted text, comments and dollar quotes as
// DuckDB's lexer does. Only to name a line in messages: DuckDB decides what
// a statement is.
std::vector<size_t> StatementStarts(std::string_view sql) {
  std::vector<size_t> starts;
  bool at_start = true;
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) i = n;
    } else if (sql.substr(i, 2) == "/*") {  // block comments nest
      int depth = 0;
      do {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (i < n && depth > 0);
    } else if (c == ';') {
      at_start = true;
      ++i;
    } else {
      if (at_start) starts.push_back(i);
      at_start = false;
      if (c == '\'' || c == '"') {  // a doubled quote stands for itself
        const bool escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                             (i < 2 || !IsIdentifierChar(sql[i - 2]));
        for (++i; i < n; ++i) {
          if (escapes && sql[i] == '\\') {
            ++i;
          } else if (sql[i] == c) {
            if (i + 1 < n && sql[i + 1] == c) {
              ++i;
            } else {
              break;
            }
          }
        }
        ++i;
      } else if (c == '$' && (i == 0 || !IsIdentifierChar(sql[i - 1]))) {  // $tag$...$tag$
        size_t end = i + 1;
        while (end < n && IsIdentifierChar(sql[end]) && sql[end] != '$') ++end;
        if (end < n && sql[end] == '$' &&
            (end == i + 1 || !std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
          std::string_view tag = sql.substr(i, end + 1 - i);
          size_t close = sql.find(tag, end + 1);
          i = close == std::string_view::npos ? n : close + tag.size();
        } else {
          i = end;
        }
      } else {
        ++i;
      }
    }
  }
  return starts;
}

class ModelBuilder {
 public:
  ModelBuilder(const FeatureRepo& repo, duckdb::Connection& conn, const ParsedModel& model,
               const Catalog& catalog, bool full_refresh)
      : repo_(repo),
        conn_(conn),
        model_(model),
        catalog_(catalog),
        full_refresh_(full_refresh),
        what_("model " + model.name + " (" + model.file + ")"),
        table_(offline::ModelTableName(model.name)) {}

  Result<ModelRunResult> Build() {
    ModelRunResult result;
    result.model = model_.name;
    result.materialization = std::string(MaterializationName(model_.config.materialized));
    result.action = "created";
    RelationKind existing = catalog_.Kind(model_.name);
    switch (model_.config.materialized) {
      case Materialization::kView: {
        LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(false));
        if (existing == RelationKind::kView) {
          LARDER_RETURN_IF_ERROR(RunCreate("CREATE OR REPLACE VIEW " + table_ + " AS ", sql));
        } else {
          Status replaced = InTransaction(conn_, what_, [&]() -> Status {
            std::string drop = DropSql(existing, table_);
            Status dropped = drop.empty() ? Status::OK() : conn_.Execute(drop, what_);
            return dropped.ok() ? RunCreate("CREATE VIEW " + table_ + " AS ", sql) : dropped;
          });
          LARDER_RETURN_IF_ERROR(replaced);
        }
        return result;
      }
      case Materialization::kTable:
        LARDER_RETURN_IF_ERROR(BuildTable(existing));
        break;
      case Materialization::kIncremental:
        if (existing != RelationKind::kTable || full_refresh_) {
          LARDER_RETURN_IF_ERROR(BuildTable(existing));
        } else {
          LARDER_RETURN_IF_ERROR(Increment(&result));
        }
        break;
    }
    LARDER_ASSIGN_OR_RETURN(result.rows,
                            QueryCount(conn_, "SELECT count(*) FROM " + table_, what_));
    return result;
  }

 private:
  // The model's SQL, rendered and checked to be one SELECT statement: a
  // model file holding anything else is refused naming the file and the
  // line of the statement at fault.
  Result<std::string> RenderSql(bool is_incremental) {
    std::vector<int> lines;
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderUnchecked(is_incremental, &lines));
    bool wrong_shape = false;
    Result<std::unique_ptr<duckdb::PreparedStatement>> checked =
        conn_.PrepareOne(sql, what_, duckdb::StatementKind::kSelect, &wrong_shape);
    if (checked.ok()) return sql;
    if (!wrong_shape) return checked.status();
    std::string why = checked.status().message().substr(what_.size() + 2);  // "<what_>: "
    // A second statement is at fault where it starts; a statement of another
    // kind, where it starts.
    std::vector<size_t> starts = StatementStarts(sql);
    size_t at = starts.size() >= 2 ? starts[1] : starts.empty() ? 0 : starts[0];
    int line = at < lines.size() ? lines[at] : 1;
    return Status::InvalidArgument(model_.file + ":" + std::to_string(line) + ": model '" +
                                   model_.name + "' " + why +
                                   " (a model is one SELECT; Larder builds its table from it)");
  }

  // Runs `prefix` followed by the model's checked SQL as one statement, which
  // must be a CREATE: the SQL is never spliced into a string of several.
  Status RunCreate(const std::string& prefix, const std::string& sql) {
    LARDER_ASSIGN_OR_RETURN(
        std::unique_ptr<duckdb::PreparedStatement> create,
        conn_.PrepareOne(prefix + sql + "\n", what_, duckdb::StatementKind::kCreate));
    return create->Execute();
  }

  Result<std::string> RenderUnchecked(bool is_incremental, std::vector<int>* lines) {
    RenderContext ctx;
    ctx.this_sql = table_;
    ctx.is_incremental = is_incremental;
    ctx.ref = [](const std::string& name) -> Result<std::string> {
      return offline::ModelTableName(name);
    };
    ctx.source = [this](const std::string& name) -> Result<std::string> {
      const DataSource* ds = repo_.FindDataSource(name);
      if (ds == nullptr) return Status::NotFound("no data source '" + name + "'");
      return offline::RawSourceSql(repo_, *ds, catalog_.Exists());
    };
    return Render(model_, ctx, lines);
  }

  Status BuildTable(RelationKind existing) {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(false));
    std::string build_name = model_.name + "__larder_build";
    std::string build = QuoteIdentifier(build_name);
    Status st = RunCreate("CREATE OR REPLACE TABLE " + build + " AS ", sql);
    if (st.ok()) {
      st = InTransaction(conn_,
                         DropSql(existing, table_) + "ALTER TABLE " + build + " RENAME TO " +
                             QuoteIdentifier(model_.name) + ";",
                         what_);
    }
    if (!st.ok()) (void)conn_.Execute("DROP TABLE IF EXISTS " + build, what_);
    return st;
  }

  Status Increment(ModelRunResult* result) {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(true));
    const bool merge = model_.config.strategy == IncrementalStrategy::kMerge;
    result->action = merge ? "merged" : "appended";
    std::string incoming = QuoteIdentifier(model_.name + "__larder_incoming");
    Status st = RunCreate("CREATE OR REPLACE TEMP TABLE " + incoming + " AS ", sql);
    if (st.ok()) {
      Result<int64_t> n = QueryCount(conn_, "SELECT count(*) FROM " + incoming, what_);
      if (n.ok()) {
        result->rows_inserted = *n;
      } else {
        st = n.status();
      }
    }
    if (st.ok() && merge) {
      std::string match;
      for (const auto& key : model_.config.unique_key) {
        match += std::string(match.empty() ? "" : " AND ") + "t." + QuoteIdentifier(key) +
                 " IS NOT DISTINCT FROM i." + QuoteIdentifier(key);
      }
      Result<int64_t> n = QueryCount(
          conn_, "SELECT count(*) FROM " + table_ + " AS t WHERE EXISTS (SELECT 1 FROM " +
                     incoming + " AS i WHERE " + match + ")",
          what_);
      if (n.ok()) {
        result->rows_deleted = *n;
        st = InTransaction(conn_,
                           "DELETE FROM " + table_ + " AS t USING " + incoming + " AS i WHERE " +
                               match + "; INSERT INTO " + table_ + " BY NAME SELECT * FROM " +
                               incoming + ";",
                           what_);
      } else {
        st = n.status();
      }
    } else if (st.ok()) {
      st = InTransaction(conn_,
                         "INSERT INTO " + table_ + " BY NAME SELECT * FROM " + incoming + ";",
                         what_);
    }
    (void)conn_.Execute("DROP TABLE IF EXISTS " + incoming, what_);
    if (st.code() == StatusCode::kInvalidArgument) {
      return Status::InvalidArgument(st.message() +
                                     " (if the model's columns changed, rebuild it with "
                                     "--full-refresh)");
    }
    return st;
  }

  const FeatureRepo& repo_;
  duckdb::Connection& conn_;
  const ParsedModel& model_;
  const Catalog& catalog_;
  bool full_refresh_;
  std::string what_;
  std::string table_;
};

// Checks that the output of `model` has the columns that the data sources
// reading it (type: model) and their feature views expect: the timestamp
// columns, and after field_mapping the views' join keys and features.
Status CheckModelSources(const FeatureRepo& repo, duckdb::Connection& conn,
                         const std::string& model) {
  LARDER_ASSIGN_OR_RETURN(
      duckdb::QueryResult r,
      conn.Query("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                 "'main' AND table_catalog = current_database() AND table_name = " +
                     QuoteLiteral(model) + " ORDER BY ordinal_position",
                 "columns of model " + model));
  std::set<std::string> raw;
  std::string listed;
  for (const auto& row : r.rows) {
    if (!row[0]) continue;
    raw.insert(*row[0]);
    listed += (listed.empty() ? "" : ", ") + *row[0];
  }
  std::vector<std::string> errors;
  for (const DataSource& ds : repo.data_sources) {
    if (ds.kind != DataSourceKind::kModel || ds.model != model) continue;
    std::string where = "data source '" + ds.name + "'" +
                        (ds.location.file.empty()
                             ? ""
                             : " (" + ds.location.file + ":" + std::to_string(ds.location.line) +
                                   ")");
    auto need = [&](const std::string& column, const std::string& why) {
      errors.push_back(where + " needs column `" + column + "` (" + why + ")");
    };
    for (const std::string* col : {&ds.timestamp_field, &ds.created_timestamp_column}) {
      if (!col->empty() && !raw.contains(*col)) need(*col, "its timestamp");
    }
    std::set<std::string> mapped;
    for (const auto& c : raw) {
      auto it = ds.field_mapping.find(c);
      mapped.insert(it == ds.field_mapping.end() ? c : it->second);
    }
    for (const FeatureView& v : repo.feature_views) {
      const DataSource* vs = repo.FindDataSource(v.source);
      if (vs == nullptr) continue;
      if (ReceivesRows(vs->kind)) vs = repo.FindDataSource(vs->batch_source);
      if (vs == nullptr || vs->name != ds.name) continue;
      for (const auto& entity : v.entities) {
        const Entity* e = repo.FindEntity(entity);
        if (e == nullptr) continue;
        for (const auto& key : e->join_keys) {
          if (!mapped.contains(key)) need(key, "join key of feature view '" + v.name + "'");
        }
      }
      for (const Field& f : v.schema) {
        if (!mapped.contains(f.name)) need(f.name, "feature of feature view '" + v.name + "'");
      }
    }
  }
  if (errors.empty()) return Status::OK();
  std::string msg = "model " + model + " was built, but its output (columns: " + listed +
                    ") lacks what its readers need:";
  for (const auto& e : errors) msg += "\n  " + e;
  return Status::InvalidArgument(msg);
}

constexpr std::string_view kHistoryTable = "larder_run_history";

// Appends one row to the run history. A failure here does not fail the run.
void RecordHistory(duckdb::Connection& conn, TimestampMicros started_at, const std::string& model,
                   const ModelRunResult* result, const Status& error) {
  const std::string table = QuoteIdentifier(kHistoryTable);
  auto number = [](int64_t n) { return n < 0 ? std::string("NULL") : std::to_string(n); };
  std::string values =
      QuoteLiteral(model) + ", " + (result ? QuoteLiteral(result->materialization) : "NULL") +
      ", " + (result ? QuoteLiteral(result->action) : "NULL") + ", " +
      QuoteLiteral(error.ok() ? "ok" : "error") + ", " + number(result ? result->rows : -1) +
      ", " + number(result ? result->rows_inserted : -1) + ", " +
      number(result ? result->rows_deleted : -1) + ", TIMESTAMP " +
      QuoteLiteral(duckdb::FormatTimestampMicros(started_at)) + ", " +
      (result ? std::to_string(result->seconds) : "NULL") + ", " +
      (error.ok() ? "NULL" : QuoteLiteral(error.message()));
  (void)conn.Execute("CREATE TABLE IF NOT EXISTS " + table +
                         " (model VARCHAR, materialization VARCHAR, action VARCHAR, "
                         "status VARCHAR, rows BIGINT, rows_inserted BIGINT, rows_deleted BIGINT, "
                         "started_at TIMESTAMP, seconds DOUBLE, error VARCHAR); "
                         "INSERT INTO " + table + " VALUES (" + values + ")",
                     "run history");
}

TimestampMicros SystemNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : "0";
}

}  // namespace

Result<RunReport> RunModels(const FeatureRepo& repo, duckdb::Connection& conn,
                            const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  LARDER_ASSIGN_OR_RETURN(ModelGraph graph, BuildModelGraph(repo));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> chosen, SelectModels(graph, options.select));
  RunReport report;
  for (const auto& name : chosen) {
    if (options.on_model_start) options.on_model_start(name);
    auto model_start = std::chrono::steady_clock::now();
    const TimestampMicros started_at = options.clock ? options.clock() : SystemNow();
    // Re-read each time: an earlier model may have created a table.
    LARDER_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Read(conn));
    ModelBuilder builder(repo, conn, graph.models.at(name), catalog, options.full_refresh);
    Result<ModelRunResult> built = builder.Build();
    Status st = built.ok() ? CheckModelSources(repo, conn, name) : built.status();
    if (!st.ok()) {
      RecordHistory(conn, started_at, name, built.ok() ? &*built : nullptr, st);
      return st;
    }
    ModelRunResult result = std::move(built).value();
    result.seconds = SecondsSince(model_start);
    RecordHistory(conn, started_at, name, &result, Status::OK());
    if (options.on_model_done) options.on_model_done(result);
    report.models.push_back(std::move(result));
  }
  report.seconds = SecondsSince(start);
  return report;
}

Result<std::string> DataTestSql(const FeatureRepo& repo, const std::string& model,
                                const DataTest& test, TimestampMicros now,
                                const offline::TableExists& exists) {
  const std::string t = offline::ModelTableName(model);
  const std::string c = QuoteIdentifier(test.column);
  switch (test.kind) {
    case DataTestKind::kNotNull:
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NULL";
    case DataTestKind::kUnique:
      return "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM (SELECT count(*) AS n FROM " + t +
             " WHERE " + c + " IS NOT NULL GROUP BY " + c + " HAVING count(*) > 1)";
    case DataTestKind::kAcceptedValues: {
      if (test.values.empty()) return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL";
      std::string list;
      for (const auto& v : test.values) list += (list.empty() ? "" : ", ") + QuoteLiteral(v);
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL AND CAST(" + c +
             " AS VARCHAR) NOT IN (" + list + ")";
    }
    case DataTestKind::kAcceptedRange: {
      std::string cond;
      if (test.min_value) cond += c + " < " + FormatNumber(*test.min_value);
      if (test.max_value) {
        cond += std::string(cond.empty() ? "" : " OR ") + c + " > " +
                FormatNumber(*test.max_value);
      }
      if (cond.empty()) return std::string("SELECT 0");
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL AND (" + cond + ")";
    }
    case DataTestKind::kRelationships: {
      std::string target;
      if (repo.FindModel(test.to) != nullptr) {
        target = offline::ModelTableName(test.to);
      } else if (const DataSource* ds = repo.FindDataSource(test.to); ds != nullptr) {
        LARDER_ASSIGN_OR_RETURN(target, offline::RawSourceSql(repo, *ds, exists));
      } else {
        return Status::InvalidArgument("relationships: `to` names no model or data source '" +
                                       test.to + "'");
      }
      std::string f = QuoteIdentifier(test.field.empty() ? test.column : test.field);
      return "SELECT count(*) FROM " + t + " AS c WHERE c." + c + " IS NOT NULL AND NOT EXISTS " +
             "(SELECT 1 FROM " + target + " AS p WHERE p." + f + " = c." + c + ")";
    }
    case DataTestKind::kFreshness: {
      std::string cutoff = "TIMESTAMP " + QuoteLiteral(duckdb::FormatTimestampMicros(
                                              now - test.max_age.micros));
      return "SELECT CASE WHEN max(" + c + ") IS NULL OR CAST(max(" + c +
             ") AS TIMESTAMP) < " + cutoff + " THEN 1 ELSE 0 END FROM " + t;
    }
  }
  return Status::Internal("unknown data test kind");
}

Result<TestReport> RunDataTests(const FeatureRepo& repo, duckdb::Connection& conn,
                                const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(ModelGraph graph, BuildModelGraph(repo));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> chosen, SelectModels(graph, options.select));
  std::sort(chosen.begin(), chosen.end());
  TimestampMicros now = options.clock ? options.clock() : SystemNow();
  LARDER_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Read(conn));
  TestReport report;
  for (const auto& name : chosen) {
    const SqlModel* model = repo.FindModel(name);
    for (const DataTest& test : model->tests) {
      DataTestResult r;
      r.model = name;
      r.column = test.column;
      r.test = std::string(DataTestKindName(test.kind));
      r.location = test.location;
      std::string what = "data test " + r.test + " on " + name +
                         (r.column.empty() ? "" : "." + r.column);
      if (catalog.Kind(name) == RelationKind::kNone) {
        r.error = "model " + name + " has not been built; run `larder run` first";
      } else {
        Result<std::string> sql = DataTestSql(repo, name, test, now, catalog.Exists());
        Result<int64_t> n = sql.ok() ? QueryCount(conn, *sql, what) : Result<int64_t>(sql.status());
        if (n.ok()) {
          r.failing_rows = *n;
        } else {
          r.error = n.status().message();
        }
      }
      if (options.on_test_done) options.on_test_done(r);
      report.results.push_back(std::move(r));
    }
  }
  return report;
}

}  // namespace larder::transform
