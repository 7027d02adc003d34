#include "transform/model_run.h"

#include <chrono>
#include <set>

#include "transform/model_graph.h"

namespace larder::transform {
namespace {

using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;

// Refuses, before any SQL runs, the chosen models written for another engine.
Status CheckEngines(const ModelGraph& graph, const std::vector<std::string>& chosen,
                    SqlEngine engine) {
  std::string errors;
  for (const auto& name : chosen) {
    const ParsedModel& model = graph.models.at(name);
    if (!model.config.engine || *model.config.engine == engine) continue;
    errors += std::string(errors.empty() ? "" : "\n") + model.file + ": model '" + name +
              "' is written for engine '" + std::string(SqlEngineName(*model.config.engine)) +
              "' (config engine=), but this offline store runs on '" +
              std::string(SqlEngineName(engine)) + "'";
  }
  return errors.empty() ? Status::OK() : Status::InvalidArgument(errors);
}

// Checks that the output of `model` (its columns `columns`) has the columns
// that the data sources reading it (type: model) and their feature views
// expect: the timestamp columns, and after field_mapping the views' join
// keys and features.
Status CheckModelSources(const FeatureRepo& repo, const std::string& model,
                         const std::vector<std::string>& columns) {
  std::set<std::string> raw(columns.begin(), columns.end());
  std::string listed;
  for (const auto& c : columns) listed += (listed.empty() ? "" : ", ") + c;
  std::vector<std::string> errors;
  for (const DataSource& ds : repo.data_sources) {
    if (ds.kind != DataSourceKind::kModel || ds.model != model) continue;
    std::string where = "data source '" + ds.name + "'" +
                        (ds.location.file.empty() ? ""
                                                  : " (" + ds.location.file + ":" +
                                                        std::to_string(ds.location.line) + ")");
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
      QuoteLiteral(error.ok() ? "ok" : "error") + ", " + number(result ? result->rows : -1) + ", " +
      number(result ? result->rows_inserted : -1) + ", " +
      number(result ? result->rows_deleted : -1) + ", TIMESTAMP " +
      QuoteLiteral(duckdb::FormatTimestampMicros(started_at)) + ", " +
      (result ? std::to_string(result->seconds) : "NULL") + ", " +
      (error.ok() ? "NULL" : QuoteLiteral(error.message()));
  (void)conn.Execute("CREATE TABLE IF NOT EXISTS " + table +
                         " (model VARCHAR, materialization VARCHAR, action VARCHAR, "
                         "status VARCHAR, rows BIGINT, rows_inserted BIGINT, rows_deleted BIGINT, "
                         "started_at TIMESTAMP, seconds DOUBLE, error VARCHAR); "
                         "INSERT INTO " +
                         table + " VALUES (" + values + ")",
                     "run history");
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TimestampMicros ClockNow(const std::function<TimestampMicros()>& clock) {
  if (clock) return clock();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<ModelRunResult> BuildModel(const ParsedModel& model, bool full_refresh, ModelSteps& steps) {
  ModelRunResult result;
  result.model = model.name;
  result.materialization = std::string(MaterializationName(model.config.materialized));
  result.action = "created";
  switch (model.config.materialized) {
    case Materialization::kView:
      LARDER_RETURN_IF_ERROR(steps.View());
      return result;
    case Materialization::kTable:
      LARDER_RETURN_IF_ERROR(steps.Table());
      break;
    case Materialization::kIncremental:
      if (!steps.IsTable() || full_refresh) {
        LARDER_RETURN_IF_ERROR(steps.Table());
      } else {
        LARDER_RETURN_IF_ERROR(steps.Increment(&result));
      }
      break;
  }
  LARDER_ASSIGN_OR_RETURN(result.rows, steps.Rows());
  return result;
}

RenderContext RenderContextFor(const SqlRelations& relations, const FeatureRepo& repo,
                               const ParsedModel& model) {
  RenderContext ctx;
  ctx.engine = relations.engine;
  ctx.this_sql = relations.model_table(model.name);
  ctx.ref = [relations](const std::string& name) -> Result<std::string> {
    return relations.model_table(name);
  };
  ctx.source = [relations, &repo](const std::string& name) -> Result<std::string> {
    const DataSource* ds = repo.FindDataSource(name);
    if (ds == nullptr) return Status::NotFound("no data source '" + name + "'");
    return relations.raw_source(*ds);
  };
  return ctx;
}

Result<RunReport> RunModelsOn(const FeatureRepo& repo, ModelEngine& engine,
                              duckdb::Connection& history, const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  LARDER_ASSIGN_OR_RETURN(ModelGraph graph, BuildModelGraph(repo));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> chosen, SelectModels(graph, options.select));
  LARDER_RETURN_IF_ERROR(CheckEngines(graph, chosen, engine.engine()));
  if (!chosen.empty()) LARDER_RETURN_IF_ERROR(engine.Prepare());
  RunReport report;
  for (const auto& name : chosen) {
    if (options.on_model_start) options.on_model_start(name);
    auto model_start = std::chrono::steady_clock::now();
    const TimestampMicros started_at = ClockNow(options.clock);
    Result<ModelRunResult> built = engine.Build(graph.models.at(name), options.full_refresh);
    Status st = built.status();
    if (st.ok()) {
      Result<std::vector<std::string>> columns = engine.OutputColumns(name);
      st = columns.ok() ? CheckModelSources(repo, name, *columns) : columns.status();
    }
    if (!st.ok()) {
      RecordHistory(history, started_at, name, built.ok() ? &*built : nullptr, st);
      return st;
    }
    ModelRunResult result = std::move(built).value();
    result.seconds = SecondsSince(model_start);
    RecordHistory(history, started_at, name, &result, Status::OK());
    if (options.on_model_done) options.on_model_done(result);
    report.models.push_back(std::move(result));
  }
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace larder::transform
