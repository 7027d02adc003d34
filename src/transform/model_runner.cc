#include "transform/model_runner.h"

#include <cctype>
#include <charconv>
#include <functional>
#include <map>

#include "transform/data_tests.h"
#include "transform/model_run.h"

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

// How the DuckDB offline store names model tables and reads sources.
SqlRelations DuckDbRelations(const FeatureRepo& repo, const offline::TableExists& exists) {
  SqlRelations r;
  r.engine = SqlEngine::kDuckDb;
  r.model_table = [](std::string_view model) { return offline::ModelTableName(model); };
  r.raw_source = [&repo, exists](const DataSource& ds) {
    return offline::RawSourceSql(repo, ds, exists);
  };
  return r;
}

class ModelBuilder final : public ModelSteps {
 public:
  ModelBuilder(const FeatureRepo& repo, duckdb::Connection& conn, const ParsedModel& model,
               const Catalog& catalog)
      : repo_(repo),
        conn_(conn),
        model_(model),
        catalog_(catalog),
        what_("model " + model.name + " (" + model.file + ")"),
        table_(offline::ModelTableName(model.name)),
        existing_(catalog.Kind(model.name)) {}

  bool IsTable() const override { return existing_ == RelationKind::kTable; }

  Status View() override {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(false));
    if (existing_ == RelationKind::kView) {
      return RunCreate("CREATE OR REPLACE VIEW " + table_ + " AS ", sql);
    }
    return InTransaction(conn_, what_, [&]() -> Status {
      std::string drop = DropSql(existing_, table_);
      Status dropped = drop.empty() ? Status::OK() : conn_.Execute(drop, what_);
      return dropped.ok() ? RunCreate("CREATE VIEW " + table_ + " AS ", sql) : dropped;
    });
  }

  Status Table() override { return BuildTable(existing_); }

  Result<int64_t> Rows() override {
    return QueryCount(conn_, "SELECT count(*) FROM " + table_, what_);
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
    RenderContext ctx = RenderContextFor(DuckDbRelations(repo_, catalog_.Exists()), repo_, model_);
    ctx.is_incremental = is_incremental;
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

  Status Increment(ModelRunResult* result) override {
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
  std::string what_;
  std::string table_;
  RelationKind existing_;
};

// The DuckDB offline store's side of a run: builds models and reads their
// columns on `conn`.
class DuckDbModelEngine final : public ModelEngine {
 public:
  DuckDbModelEngine(const FeatureRepo& repo, duckdb::Connection& conn) : repo_(repo), conn_(conn) {}

  SqlEngine engine() const override { return SqlEngine::kDuckDb; }

  Result<ModelRunResult> Build(const ParsedModel& model, bool full_refresh) override {
    // Re-read each time: an earlier model may have created a table.
    LARDER_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Read(conn_));
    ModelBuilder builder(repo_, conn_, model, catalog);
    return BuildModel(model, full_refresh, builder);
  }

  Result<std::vector<std::string>> OutputColumns(const std::string& model) override {
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult r,
        conn_.Query("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "'main' AND table_catalog = current_database() AND table_name = " +
                        QuoteLiteral(model) + " ORDER BY ordinal_position",
                    "columns of model " + model));
    std::vector<std::string> columns;
    for (const auto& row : r.rows) {
      if (row[0]) columns.push_back(*row[0]);
    }
    return columns;
  }

 private:
  const FeatureRepo& repo_;
  duckdb::Connection& conn_;
};

}  // namespace

Result<RunReport> RunModels(const FeatureRepo& repo, duckdb::Connection& conn,
                            const RunOptions& options) {
  DuckDbModelEngine engine(repo, conn);
  return RunModelsOn(repo, engine, conn, options);
}

Result<TestReport> RunDataTests(const FeatureRepo& repo, duckdb::Connection& conn,
                                const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(Catalog catalog, Catalog::Read(conn));
  DataTestEngine engine;
  engine.relations = DuckDbRelations(repo, catalog.Exists());
  engine.built = [&catalog](std::string_view model) {
    return catalog.Kind(model) != RelationKind::kNone;
  };
  engine.count = [&conn](const std::string& sql, const std::string& what) {
    return QueryCount(conn, sql, what);
  };
  return RunDataTestsOn(repo, engine, options);
}

}  // namespace larder::transform
