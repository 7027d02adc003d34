#include "materialize/materializer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "materialize/tile_materializer.h"
#include "materialize/view_rows_relation.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/tie_key_function.h"
#include "offline/row_order.h"
#include "offline/source_relation.h"
#include "repo/feature_refs.h"

namespace larder::materialize {
namespace {

using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;
using offline::MappedName;
using offline::SchemaOwner;
using offline::SourceMicrosSql;
using offline::TypedValueSql;

constexpr TimestampMicros kBeginningOfTime = std::numeric_limits<TimestampMicros>::min();

bool IsFloat(const ValueType& t) {
  return t.scalar == ScalarType::kFloat32 || t.scalar == ScalarType::kFloat64;
}

// The sign bits of a float column (a BOOLEAN, or a BOOLEAN[] per element).
// DuckDB's arg_max turns -0.0 inside a STRUCT or LIST value into 0.0, so the
// signs travel beside the values and RestoreNegativeZeros puts them back.
// `column` is already cast by TypedValueSql (DOUBLE or DOUBLE[]).
std::string SignSql(const std::string& column, const ValueType& t) {
  if (t.is_array) return "list_transform(" + column + ", x -> signbit(x))";
  return "signbit(" + column + ")";
}

// `value` (a float or float array) with each zero whose `sign` is set made -0.0.
void RestoreNegativeZeros(const Value& sign, Value& value) {
  if (sign.is_null() || value.is_null()) return;
  const ValueType t = value.type();
  if (!t.is_array) {
    if (!sign.bool_value()) return;
    if (t.scalar == ScalarType::kFloat32 && value.float32_value() == 0.0f) {
      value = Value::Float32(-0.0f);
    } else if (t.scalar == ScalarType::kFloat64 && value.float64_value() == 0.0) {
      value = Value::Float64(-0.0);
    }
    return;
  }
  const std::vector<bool>& signs = sign.bool_array();
  auto restore = [&signs](auto values) {
    for (size_t i = 0; i < values.size() && i < signs.size(); ++i) {
      if (signs[i] && values[i] == 0) values[i] = -values[i];
    }
    return values;
  };
  if (t.scalar == ScalarType::kFloat32) value = Value::Float32Array(restore(value.float32_array()));
  if (t.scalar == ScalarType::kFloat64) value = Value::Float64Array(restore(value.float64_array()));
}

// Everything needed to read one view's window.
struct ViewPlan {
  const FeatureView* view = nullptr;
  std::vector<std::string> keys;          // join keys, in entity order
  std::vector<ValueType> key_types;       // per key
  // The latest row per key in the window, among the rows matching
  // `extra_where` (a condition on the keys only, so the latest row of each
  // selected key is the same as over all rows).
  std::string latest_sql;  // the latest row per entity key in the window
  std::string key_list;   // the join keys as selected: __larder_k0, ...
  // The selected columns' dtypes: keys, event and created time, features,
  // then the sign columns of the float features.
  std::vector<ValueType> column_types;
  std::vector<size_t> float_features;  // the feature of each sign column
  // Keeps a dbt source's database attached while the plan is read.
  std::shared_ptr<offline::SourceAttachments> attachments;
};

// `imported`: the table that a ViewRowsImporter filled with the view's rows;
// empty to read the view's source here.
Result<ViewPlan> PlanView(duckdb::Connection& conn, const FeatureRepo& repo,
                          const FeatureView& view,
                          const offline::TableExists& exists, const std::string& db_path,
                          TimestampMicros start, TimestampMicros end,
                          const std::string& imported) {
  ViewPlan plan;
  plan.view = &view;
  LARDER_ASSIGN_OR_RETURN(offline::ViewSource resolved,
                          ViewRowsRelation(conn, repo, view, exists, db_path, imported));
  const DataSource* owner = resolved.owner;
  std::string relation = std::move(resolved.relation);
  plan.attachments = std::move(resolved.attachments);
  LARDER_ASSIGN_OR_RETURN(repo::JoinKeys join_keys, repo::ViewJoinKeys(repo, view));
  plan.keys = std::move(join_keys.names);
  plan.key_types = std::move(join_keys.types);
  if (plan.keys.empty()) {
    return Status::InvalidArgument("feature view '" + view.name + "' has no join keys");
  }
  // Times in microseconds, as training data sees them (offline/row_order.h).
  const std::string what = "feature view '" + view.name + "'";
  auto micros = [&](const std::string& raw) -> Result<std::string> {
    const std::string column = MappedName(*owner, raw);
    LARDER_ASSIGN_OR_RETURN(std::string type,
                            offline::ColumnTypeName(conn, relation, column, what));
    return SourceMicrosSql(QuoteIdentifier(column), type);
  };
  LARDER_ASSIGN_OR_RETURN(std::string ts, micros(owner->timestamp_field));
  std::string created = "CAST(NULL AS BIGINT)";
  if (!owner->created_timestamp_column.empty()) {
    LARDER_ASSIGN_OR_RETURN(created, micros(owner->created_timestamp_column));
  }
  std::string select;
  std::string where = ts + " < " + std::to_string(end);
  if (start != kBeginningOfTime) where += " AND " + ts + " >= " + std::to_string(start);
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    std::string q = QuoteIdentifier(plan.keys[k]);
    select += TypedValueSql(q, plan.key_types[k]) + " AS __larder_k" + std::to_string(k) + ", ";
    where += " AND " + q + " IS NOT NULL";
  }
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    plan.key_list += (k == 0 ? "__larder_k" : ", __larder_k") + std::to_string(k);
  }
  select += ts + " AS __larder_ets, " + created + " AS __larder_cts";
  std::string fields = "__larder_ets := __larder_ets, __larder_cts := __larder_cts";
  // The tie key hashes the typed values selected here, so each feature is
  // cast once per row, not once for the record and again for the key.
  std::vector<std::string> typed_features;
  std::vector<ValueType> feature_types;
  for (size_t f = 0; f < view.schema.size(); ++f) {
    std::string internal = "__larder_f" + std::to_string(f);
    select += ", " + TypedValueSql(QuoteIdentifier(view.schema[f].name), view.schema[f].dtype) +
              " AS " + internal;
    fields += ", " + internal + " := " + internal;
    typed_features.push_back(internal);
    feature_types.push_back(view.schema[f].dtype);
  }
  // Over the typed values: the tie key, and the sign bits of float features.
  std::string derived = duckdb::TieKeySql(typed_features, feature_types) + " AS __larder_tie";
  for (size_t f = 0; f < view.schema.size(); ++f) {
    if (!IsFloat(view.schema[f].dtype)) continue;
    std::string internal = "__larder_s" + std::to_string(f);
    derived += ", " + SignSql(typed_features[f], view.schema[f].dtype) + " AS " + internal;
    fields += ", " + internal + " := " + internal;
    plan.float_features.push_back(f);
  }
  // Per key, the greatest row in the total order of rows (offline/row_order.h):
  // (event, created, tie key), a missing created timestamp losing to any (no
  // timestamp is as early as the BIGINT minimum + 1, which also stays clear
  // of DuckDB's literal overflow to HUGEINT). A hash aggregate, where a
  // window (QUALIFY row_number() ...) would sort every row in the window.
  plan.latest_sql = "SELECT " + plan.key_list + ", unnest(arg_max(struct_pack(" + fields +
                    "), struct_pack(ets := __larder_ets, cts := coalesce(__larder_cts, " +
                    std::to_string(std::numeric_limits<int64_t>::min() + 1) +
                    "), tie := __larder_tie))) FROM (SELECT *, " + derived +
                    " FROM (SELECT " + select + " FROM " + relation + " WHERE " + where +
                    ")) GROUP BY " + plan.key_list;
  plan.column_types = plan.key_types;
  plan.column_types.push_back(ValueType{ScalarType::kInt64});  // __larder_ets
  plan.column_types.push_back(ValueType{ScalarType::kInt64});  // __larder_cts
  for (const Field& f : view.schema) plan.column_types.push_back(f.dtype);
  for (size_t f : plan.float_features) {
    plan.column_types.push_back(ValueType{ScalarType::kBool, view.schema[f].dtype.is_array});
  }
  return plan;
}

Result<std::set<std::string>> ListTables(duckdb::Connection& conn, const std::string& db_path) {
  LARDER_ASSIGN_OR_RETURN(
      duckdb::QueryResult listed,
      conn.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
                 "offline store database " + db_path));
  std::set<std::string> tables;
  for (const auto& row : listed.rows) tables.insert(row[0].value_or(""));
  return tables;
}

Status EnsureWatermarkTable(duckdb::Connection& conn) {
  return conn.Execute(std::string("CREATE TABLE IF NOT EXISTS ") + kWatermarkTable +
                          " (project VARCHAR NOT NULL, feature_view VARCHAR NOT NULL, "
                          "end_us BIGINT NOT NULL, PRIMARY KEY (project, feature_view))",
                      "watermark table");
}

Result<std::optional<TimestampMicros>> QueryWatermark(duckdb::Connection& conn,
                                                      const std::string& project,
                                                      const std::string& view) {
  LARDER_ASSIGN_OR_RETURN(
      duckdb::QueryResult r,
      conn.Query(std::string("SELECT end_us FROM ") + kWatermarkTable + " WHERE project = " +
                     QuoteLiteral(project) + " AND feature_view = " + QuoteLiteral(view),
                 "watermark of feature view '" + view + "'"));
  if (r.rows.empty() || !r.rows[0][0].has_value()) return std::optional<TimestampMicros>();
  return std::optional<TimestampMicros>(std::stoll(*r.rows[0][0]));
}

// Reads and writes the slices of one partition.
struct SharedCounters {
  std::mutex mu;
  int64_t written = 0;
  int64_t skipped = 0;
  int64_t total = 0;
  const MaterializeOptions* options = nullptr;
  std::string view;
  int view_number = 0;
  int views_total = 0;
};

// Moves `view`'s watermark to `end`, never backwards.
Status MoveWatermark(duckdb::Connection& conn, const FeatureRepo& repo, const FeatureView& view,
                     TimestampMicros end) {
  return conn.Execute(std::string("INSERT INTO ") + kWatermarkTable + " VALUES (" +
                          QuoteLiteral(repo.config.project) + ", " + QuoteLiteral(view.name) +
                          ", " + std::to_string(end) +
                          ") ON CONFLICT (project, feature_view) DO UPDATE SET end_us = "
                          "greatest(end_us, excluded.end_us)",
                      "watermark of feature view '" + view.name + "'");
}

Status RunPartition(duckdb::Connection& conn, const ViewPlan& plan,
                    const std::string& latest_table, const OnlineView& oview, OnlineStore& store,
                    int partition, int partitions, int64_t slices, SharedCounters& counters) {
  const FeatureView& view = *plan.view;
  std::string what = "feature view '" + view.name + "'";
  for (int64_t s = partition; s < slices; s += partitions) {
    std::string sql = "SELECT * FROM " + latest_table + " WHERE hash(" + plan.key_list + ") % " +
                      std::to_string(slices) + " = " + std::to_string(s);
    LARDER_ASSIGN_OR_RETURN(std::vector<std::vector<Value>> rows,
                            conn.QueryValues(sql, what, plan.column_types));
    std::vector<OnlineRecord> records(rows.size());
    const size_t nk = plan.keys.size();
    for (size_t r = 0; r < rows.size(); ++r) {
      std::vector<Value>& row = rows[r];
      OnlineRecord& rec = records[r];
      rec.entity_key.join_keys = plan.keys;
      rec.entity_key.values.assign(std::make_move_iterator(row.begin()),
                                   std::make_move_iterator(row.begin() + nk));
      rec.event_timestamp = row[nk].is_null() ? 0 : row[nk].int64_value();
      rec.created_timestamp = row[nk + 1].is_null() ? 0 : row[nk + 1].int64_value();
      const auto features_end = row.end() - static_cast<ptrdiff_t>(plan.float_features.size());
      for (size_t f = 0; f < plan.float_features.size(); ++f) {
        RestoreNegativeZeros(features_end[static_cast<ptrdiff_t>(f)],
                             row[nk + 2 + plan.float_features[f]]);
      }
      rec.values.assign(std::make_move_iterator(row.begin() + nk + 2),
                        std::make_move_iterator(features_end));
    }
    if (records.empty()) continue;
    Result<OnlineWriteSummary> summary = store.Write(oview, records);
    if (!summary.ok()) {
      return summary.status().WithContext(what);
    }
    std::lock_guard<std::mutex> lock(counters.mu);
    counters.written += summary->written;
    counters.skipped += summary->skipped;
    if (counters.options->progress) {
      int64_t done = counters.written + counters.skipped;
      counters.options->progress(MaterializeProgress{counters.view, done,
                                                     std::max(counters.total, done), false,
                                                     counters.view_number, counters.views_total});
    }
  }
  return Status::OK();
}

}  // namespace

Status ForgetWatermarks(const std::string& db_path, const std::string& project,
                        const std::vector<std::string>* views) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(db_path));
  LARDER_RETURN_IF_ERROR(EnsureWatermarkTable(*conn));
  std::string sql =
      std::string("DELETE FROM ") + kWatermarkTable + " WHERE project = " + QuoteLiteral(project);
  if (views != nullptr) {
    if (views->empty()) return Status::OK();
    std::string list;
    for (const auto& v : *views) list += (list.empty() ? "" : ", ") + QuoteLiteral(v);
    sql += " AND feature_view IN (" + list + ")";
  }
  return conn->Execute(sql, "watermarks of project '" + project + "'");
}

Result<std::optional<TimestampMicros>> ReadWatermark(const FeatureRepo& repo,
                                                     const std::string& view) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
  LARDER_RETURN_IF_ERROR(EnsureWatermarkTable(*conn));
  return QueryWatermark(*conn, repo.config.project, view);
}

Result<MaterializeReport> Materialize(const FeatureRepo& repo, OnlineStore& store,
                                      std::optional<TimestampMicros> start, TimestampMicros end,
                                      const MaterializeOptions& options,
                                      const ViewRowsImporter& import) {
  if (start.has_value() && *start >= end) {
    return Status::InvalidArgument("materialize: the start must be before the end");
  }
  if (options.partitions < 0 || options.chunk_rows < 1 || options.lookback.micros < 0) {
    return Status::InvalidArgument(
        "materialize: partitions must be >= 0, chunk_rows >= 1, lookback >= 0");
  }
  const int partitions =
      options.partitions > 0 ? options.partitions : std::max(1, repo.config.materialize_partitions);
  std::vector<const FeatureView*> views;
  if (options.views.empty()) {
    for (const auto& v : repo.feature_views) {
      if (v.online) views.push_back(&v);
    }
  } else {
    for (const auto& name : options.views) {
      const FeatureView* v = repo.FindFeatureView(name);
      if (v == nullptr) return Status::NotFound("unknown feature view '" + name + "'");
      if (!v->online) {
        return Status::InvalidArgument("feature view '" + name + "' is not online (online: false)");
      }
      views.push_back(v);
    }
  }

  const std::string db_path = offline::OfflineDatabasePath(repo);
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(db_path));
  LARDER_RETURN_IF_ERROR(EnsureWatermarkTable(*conn));
  LARDER_RETURN_IF_ERROR(duckdb::RegisterTieKeyFunction(*conn));
  LARDER_ASSIGN_OR_RETURN(std::set<std::string> tables, ListTables(*conn, db_path));
  // Scratch space for each view's latest rows. Attached databases belong to
  // the DuckDB instance, which the connections of this process share, so
  // each call attaches its own and detaches it when done.
  static std::atomic<int64_t> scratch_count{0};
  const std::string scratch = "larder_mat_" + std::to_string(scratch_count++);
  LARDER_RETURN_IF_ERROR(conn->Execute("ATTACH ':memory:' AS " + scratch, "materialize"));
  struct Detach {
    duckdb::Connection& conn;
    const std::string& name;
    ~Detach() { (void)conn.Execute("DETACH " + name, "materialize"); }
  } detach{*conn, scratch};
  offline::TableExists exists = [&tables](std::string_view name) {
    return tables.contains(std::string(name));
  };

  MaterializeReport report;
  int view_number = 0;
  for (const FeatureView* view : views) {
    ++view_number;
    auto t0 = std::chrono::steady_clock::now();
    TimestampMicros view_start = kBeginningOfTime;
    if (start.has_value()) {
      view_start = *start;
    } else {
      LARDER_ASSIGN_OR_RETURN(std::optional<TimestampMicros> mark,
                              QueryWatermark(*conn, repo.config.project, view->name));
      if (mark.has_value()) {
        view_start = *mark - options.lookback.micros;
      } else if (view->ttl.micros > 0) {
        view_start = end - view->ttl.micros;
      }
    }
    MaterializedView done{view->name, view_start, end, 0, 0, 0, 0, 0};
    // Nothing new since the watermark. (Aggregation views read every event
    // that a read at now can see, whatever their watermark: see
    // tile_materializer.h.)
    if (view_start >= end && view->aggregations.empty()) {
      report.views.push_back(done);
      continue;
    }
    std::string what = "feature view '" + view->name + "'";
    if (!view->aggregations.empty()) {
      const TileImport tile_import{import, "__larder_imported_events_" + scratch + "_" + view->name};
      LARDER_RETURN_IF_ERROR(
          MaterializeTiles(*conn, repo, *view, exists, db_path, store, end,
                           options.now != 0 ? std::min(options.now, end) : end, tile_import,
                           &done));
    }
    if (view->schema.empty()) {
      LARDER_RETURN_IF_ERROR(MoveWatermark(*conn, repo, *view, end));
      done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report.views.push_back(std::move(done));
      continue;
    }
    // Rows another engine read, in a table of their own until the view is done.
    std::string imported;
    if (import) {
      imported = "__larder_imported_" + scratch + "_" + view->name;
      (void)conn->Execute("DROP TABLE IF EXISTS " + QuoteIdentifier(imported), what);
      LARDER_RETURN_IF_ERROR(import(*conn, *view, ImportedRows::kLatest, view_start, end, imported));
    }
    struct DropImported {
      duckdb::Connection& conn;
      const std::string& table;
      ~DropImported() {
        if (!table.empty()) (void)conn.Execute("DROP TABLE IF EXISTS " + QuoteIdentifier(table), "");
      }
    } drop_imported{*conn, imported};
    LARDER_ASSIGN_OR_RETURN(
        ViewPlan plan, PlanView(*conn, repo, *view, exists, db_path, view_start, end, imported));
    // The latest row per entity, computed once by DuckDB on all its threads
    // into an in-memory table that the partitions then read in slices.
    const std::string latest_table = scratch + "." + QuoteIdentifier("latest_" + view->name);
    LARDER_RETURN_IF_ERROR(conn->Execute(
        "CREATE OR REPLACE TABLE " + latest_table + " AS " + plan.latest_sql, what));
    // Its rows and newest event time, in one scan.
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult sized,
        conn->Query("SELECT count(*), max(__larder_ets) FROM " + latest_table, what));
    SharedCounters counters;
    if (!sized.rows.empty()) {
      const auto& row = sized.rows[0];
      counters.total = row[0].has_value() ? std::stoll(*row[0]) : 0;
      if (row[1].has_value()) done.newest_event = std::stoll(*row[1]);
    }
    counters.options = &options;
    counters.view = view->name;
    counters.view_number = view_number;
    counters.views_total = static_cast<int>(views.size());
    int64_t per_partition = (counters.total + partitions - 1) / partitions;
    int64_t slices =
        int64_t{partitions} *
        std::max<int64_t>(1, (per_partition + options.chunk_rows - 1) / options.chunk_rows);
    OnlineView oview = OnlineView::FromFeatureView(*view);

    std::vector<std::unique_ptr<duckdb::Connection>> conns;
    for (int p = 0; p < partitions; ++p) {
      LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> c, conn->NewConnection());
      conns.push_back(std::move(c));
    }
    std::vector<Status> results(static_cast<size_t>(partitions));
    std::vector<std::thread> threads;
    for (int p = 0; p < partitions; ++p) {
      threads.emplace_back([&, p] {
        results[static_cast<size_t>(p)] =
            RunPartition(*conns[static_cast<size_t>(p)], plan, latest_table, oview, store, p,
                         partitions, slices, counters);
      });
    }
    for (auto& t : threads) t.join();
    conns.clear();
    LARDER_RETURN_IF_ERROR(conn->Execute("DROP TABLE " + latest_table, what));
    for (const auto& s : results) LARDER_RETURN_IF_ERROR(s);

    // Every partition landed: the watermark may move (never backwards).
    LARDER_RETURN_IF_ERROR(MoveWatermark(*conn, repo, *view, end));
    done.rows += counters.written + counters.skipped;
    done.written += counters.written;
    done.skipped += counters.skipped;
    done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.progress) {
      options.progress(MaterializeProgress{view->name, done.written + done.skipped, done.rows, true,
                                           view_number, static_cast<int>(views.size())});
    }
    report.views.push_back(std::move(done));
  }
  int64_t written = 0;
  for (const MaterializedView& v : report.views) written += v.written;
  if (written > 0) {
    auto t0 = std::chrono::steady_clock::now();
    LARDER_RETURN_IF_ERROR(store.Optimize().WithContext("materialize: optimize the online store"));
    report.optimize_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return report;
}

}  // namespace larder::materialize
