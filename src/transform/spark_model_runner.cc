#include "transform/spark_model_runner.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "offline/spark/spark_rows.h"
#include "offline/spark/spark_sql.h"
#include "transform/data_tests.h"
#include "transform/model_run.h"

namespace larder::transform {
namespace {

using offline::spark::QuoteIdentifier;
using offline::spark::SparkConnectClient;

enum class RelationKind { kNone, kTable, kView };

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The tables and views of the model database. Spark's catalog keeps names
// in lower case.
class SparkCatalog {
 public:
  static Result<SparkCatalog> Read(SparkConnectClient& client, const std::string& database) {
    SparkCatalog c;
    const std::string db = QuoteIdentifier(database);
    LARDER_RETURN_IF_ERROR(
        c.Add(client, "SHOW TABLES IN " + db, "tableName", RelationKind::kTable));
    LARDER_RETURN_IF_ERROR(c.Add(client, "SHOW VIEWS IN " + db, "viewName", RelationKind::kView));
    return c;
  }
  RelationKind Kind(std::string_view name) const {
    auto it = kinds_.find(Lower(name));
    return it == kinds_.end() ? RelationKind::kNone : it->second;
  }

 private:
  Status Add(SparkConnectClient& client, const std::string& sql, std::string_view name_column,
             RelationKind kind) {
    LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult r,
                            offline::spark::SparkRows(client, sql, "the Spark catalog"));
    const int name = r.ColumnIndex(name_column);
    const int temporary = r.ColumnIndex("isTemporary");
    for (const auto& row : r.rows) {
      if (name < 0 || !row[name]) continue;
      if (temporary >= 0 && row[temporary] && *row[temporary] == "true") continue;
      kinds_[Lower(*row[name])] = kind;
    }
    return Status::OK();
  }

  std::map<std::string, RelationKind> kinds_;
};

SqlRelations SparkRelations(const FeatureRepo& repo) {
  SqlRelations r;
  r.engine = SqlEngine::kSpark;
  r.model_table = [&repo](std::string_view model) {
    return offline::spark::ModelTable(repo, model);
  };
  r.raw_source = [&repo](const DataSource& ds) {
    return offline::spark::RawSourceRelation(repo, ds);
  };
  return r;
}

// The model's SELECT as a subquery: whatever its text, the statement around
// it stays one query.
std::string AsQuery(const std::string& sql) { return "SELECT * FROM (" + sql + "\n)"; }

class SparkModelBuilder final : public ModelSteps {
 public:
  SparkModelBuilder(const FeatureRepo& repo, SparkConnectClient& client, const ParsedModel& model)
      : repo_(repo),
        client_(client),
        model_(model),
        what_("model " + model.name + " (" + model.file + ")"),
        database_(offline::spark::ModelDatabase(repo)),
        table_(offline::spark::ModelTable(repo, model.name)),
        build_(QuoteIdentifier(database_) + "." + QuoteIdentifier(model.name + "__larder_build")),
        incoming_(QuoteIdentifier(database_) + "." +
                  QuoteIdentifier(model.name + "__larder_incoming")) {}

  // Finishes what a crashed run left (see the header) and reads the kind of
  // the model's relation. REQUIRES: called before the other steps.
  Status Recover() {
    LARDER_ASSIGN_OR_RETURN(SparkCatalog catalog, SparkCatalog::Read(client_, database_));
    existing_ = catalog.Kind(model_.name);
    if (catalog.Kind(model_.name + "__larder_build") == RelationKind::kTable) {
      if (existing_ == RelationKind::kNone) {
        LARDER_RETURN_IF_ERROR(Run("ALTER TABLE " + build_ + " RENAME TO " + table_));
        existing_ = RelationKind::kTable;
      } else {
        LARDER_RETURN_IF_ERROR(Run("DROP TABLE " + build_));
      }
    }
    if (catalog.Kind(model_.name + "__larder_incoming") != RelationKind::kNone) {
      LARDER_RETURN_IF_ERROR(Run("DROP TABLE " + incoming_));
    }
    return Status::OK();
  }

  bool IsTable() const override { return existing_ == RelationKind::kTable; }

  Status View() override {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(false));
    if (existing_ == RelationKind::kTable) LARDER_RETURN_IF_ERROR(Run("DROP TABLE " + table_));
    return Run("CREATE OR REPLACE VIEW " + table_ + " AS " + AsQuery(sql));
  }

  Status Table() override {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(false));
    return BuildAndSwap(AsQuery(sql), existing_);
  }

  Result<int64_t> Rows() override { return Count(table_); }

 private:
  // The rendered SQL, analysed by Spark without running it, so that an
  // error in it is found before anything changes.
  Result<std::string> RenderSql(bool is_incremental) {
    RenderContext ctx = RenderContextFor(SparkRelations(repo_), repo_, model_);
    ctx.is_incremental = is_incremental;
    LARDER_ASSIGN_OR_RETURN(std::string sql, Render(model_, ctx));
    Result<offline::spark::SparkColumns> columns = client_.Schema(AsQuery(sql));
    if (!columns.ok()) return columns.status().WithContext(what_);
    return sql;
  }

  Status Run(const std::string& statement) {
    return client_.ExecuteCommand(statement).WithContext(what_);
  }

  Result<int64_t> Count(const std::string& table) {
    return offline::spark::SparkCount(client_, "SELECT count(*) FROM " + table, what_);
  }

  // Builds `query` into the build table and swaps it in for the `existing`
  // relation.
  Status BuildAndSwap(const std::string& query, RelationKind existing) {
    Status st = Run("CREATE TABLE " + build_ + " USING parquet AS " + query);
    if (!st.ok()) {
      (void)client_.ExecuteCommand("DROP TABLE IF EXISTS " + build_);
      return st;
    }
    if (existing != RelationKind::kNone) {
      LARDER_RETURN_IF_ERROR(
          Run((existing == RelationKind::kView ? "DROP VIEW " : "DROP TABLE ") + table_));
    }
    return Run("ALTER TABLE " + build_ + " RENAME TO " + table_);
  }

  Status Increment(ModelRunResult* result) override {
    LARDER_ASSIGN_OR_RETURN(std::string sql, RenderSql(true));
    const bool merge = model_.config.strategy == IncrementalStrategy::kMerge;
    result->action = merge ? "merged" : "appended";
    Status st = Run("CREATE TABLE " + incoming_ + " USING parquet AS " + AsQuery(sql));
    if (st.ok()) {
      Result<int64_t> n = Count(incoming_);
      st = n.status();
      if (n.ok()) result->rows_inserted = *n;
    }
    if (st.ok() && merge) {
      st = Merge(result);
    } else if (st.ok()) {
      st = Run("INSERT INTO " + table_ + " BY NAME SELECT * FROM " + incoming_);
    }
    (void)client_.ExecuteCommand("DROP TABLE IF EXISTS " + incoming_);
    if (st.code() == StatusCode::kInvalidArgument) {
      return Status::InvalidArgument(st.message() +
                                     " (if the model's columns changed, rebuild it with "
                                     "--full-refresh)");
    }
    return st;
  }

  // The old rows that no incoming row replaces, then the incoming rows in
  // the table's columns and types (as an insert by name would give them).
  Status Merge(ModelRunResult* result) {
    LARDER_ASSIGN_OR_RETURN(offline::spark::SparkColumns old_columns,
                            client_.Schema("SELECT * FROM " + table_));
    LARDER_ASSIGN_OR_RETURN(offline::spark::SparkColumns new_columns,
                            client_.Schema("SELECT * FROM " + incoming_));
    std::map<std::string, std::string> incoming_types;
    for (const auto& [name, type] : new_columns) incoming_types[Lower(name)] = type;
    std::string kept, added;
    for (const auto& [name, type] : old_columns) {
      const std::string q = QuoteIdentifier(name);
      kept += (kept.empty() ? "t." : ", t.") + q;
      auto it = incoming_types.find(Lower(name));
      if (it == incoming_types.end()) {
        return Status::InvalidArgument(what_ + ": the incoming rows have no column `" + name +
                                       "` of the model's table");
      }
      added += std::string(added.empty() ? "" : ", ") +
               (it->second == type ? "i." + q : "CAST(i." + q + " AS " + type + ") AS " + q);
    }
    std::string match;
    for (const auto& key : model_.config.unique_key) {
      const std::string q = QuoteIdentifier(key);
      match += std::string(match.empty() ? "" : " AND ") + "t." + q + " <=> i." + q;
    }
    LARDER_ASSIGN_OR_RETURN(int64_t old_rows, Count(table_));
    LARDER_RETURN_IF_ERROR(BuildAndSwap("SELECT " + kept + " FROM " + table_ +
                                            " AS t WHERE NOT EXISTS (SELECT 1 FROM " + incoming_ +
                                            " AS i WHERE " + match + ") UNION ALL SELECT " + added +
                                            " FROM " + incoming_ + " AS i",
                                        RelationKind::kTable));
    LARDER_ASSIGN_OR_RETURN(int64_t new_rows, Count(table_));
    result->rows_deleted = old_rows - (new_rows - result->rows_inserted);
    return Status::OK();
  }

  const FeatureRepo& repo_;
  SparkConnectClient& client_;
  const ParsedModel& model_;
  std::string what_;
  std::string database_;
  std::string table_;
  std::string build_;
  std::string incoming_;
  RelationKind existing_ = RelationKind::kNone;
};

class SparkModelEngine final : public ModelEngine {
 public:
  SparkModelEngine(const FeatureRepo& repo, SparkConnectClient& client)
      : repo_(repo), client_(client) {}

  SqlEngine engine() const override { return SqlEngine::kSpark; }

  Status Prepare() override {
    const std::string database = offline::spark::ModelDatabase(repo_);
    Status created =
        client_.ExecuteCommand("CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(database));
    return created.WithContext("offline_store.database `" + database + "`");
  }

  Result<ModelRunResult> Build(const ParsedModel& model, bool full_refresh) override {
    SparkModelBuilder builder(repo_, client_, model);
    LARDER_RETURN_IF_ERROR(builder.Recover());
    return BuildModel(model, full_refresh, builder);
  }

  Result<std::vector<std::string>> OutputColumns(const std::string& model) override {
    LARDER_ASSIGN_OR_RETURN(
        offline::spark::SparkColumns columns,
        client_.Schema("SELECT * FROM " + offline::spark::ModelTable(repo_, model)));
    std::vector<std::string> names;
    for (const auto& [name, type] : columns) names.push_back(name);
    return names;
  }

 private:
  const FeatureRepo& repo_;
  SparkConnectClient& client_;
};

}  // namespace

Result<RunReport> RunSparkModels(const FeatureRepo& repo, SparkConnectClient& client,
                                 duckdb::Connection& history, const RunOptions& options) {
  SparkModelEngine engine(repo, client);
  return RunModelsOn(repo, engine, history, options);
}

Result<TestReport> RunSparkDataTests(const FeatureRepo& repo, SparkConnectClient& client,
                                     const TestOptions& options) {
  Result<SparkCatalog> catalog = SparkCatalog::Read(client, offline::spark::ModelDatabase(repo));
  if (!catalog.ok() && catalog.status().code() != StatusCode::kNotFound) return catalog.status();
  DataTestEngine engine;
  engine.relations = SparkRelations(repo);
  engine.built = [&catalog](std::string_view model) {
    return catalog.ok() && catalog->Kind(model) != RelationKind::kNone;
  };
  engine.count = [&client](const std::string& sql, const std::string& what) {
    return offline::spark::SparkCount(client, sql, what);
  };
  return RunDataTestsOn(repo, engine, options);
}

}  // namespace larder::transform
