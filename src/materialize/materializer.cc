#include "materialize/materializer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"

namespace larder::materialize {
namespace {

using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;
using offline::MappedName;
using offline::SchemaOwner;

constexpr TimestampMicros kBeginningOfTime = std::numeric_limits<TimestampMicros>::min();

// Microseconds since the epoch of a timestamp, date or text column; a naive
// TIMESTAMP is UTC (the session's TimeZone is UTC).
std::string EpochMicros(const std::string& column) {
  return "epoch_us(CAST(" + column + " AS TIMESTAMPTZ))";
}

// The SQL rendering of a value column of dtype `t`, parsed back by ParseValue.
std::string ValueSql(const std::string& column, const ValueType& t) {
  if (t.is_array) {
    switch (t.scalar) {
      case ScalarType::kUnixTimestamp:
        return "CAST(to_json(list_transform(" + column + ", x -> " + EpochMicros("x") +
               ")) AS VARCHAR)";
      case ScalarType::kBytes:
        return "CAST(to_json(list_transform(" + column + ", x -> hex(x))) AS VARCHAR)";
      default:
        return "CAST(to_json(" + column + ") AS VARCHAR)";
    }
  }
  switch (t.scalar) {
    case ScalarType::kInt32:
      return "CAST(" + column + " AS INTEGER)";  // DuckDB rejects an overflow
    case ScalarType::kInt64:
      return "CAST(" + column + " AS BIGINT)";
    case ScalarType::kFloat32:
    case ScalarType::kFloat64:
      return "CAST(" + column + " AS DOUBLE)";
    case ScalarType::kString:
      return "CAST(" + column + " AS VARCHAR)";
    case ScalarType::kBytes:
      return "hex(" + column + ")";
    case ScalarType::kBool:
      return "CAST(" + column + " AS BOOLEAN)";
    case ScalarType::kUnixTimestamp:
      return EpochMicros(column);
  }
  return column;
}

std::string Unhex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

template <typename T, typename F>
std::vector<T> JsonArray(const nlohmann::json& j, F convert) {
  std::vector<T> out;
  out.reserve(j.size());
  for (const auto& e : j) out.push_back(convert(e));
  return out;
}

Result<Value> ParseArray(const std::string& text, const ValueType& t) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return Status::Corruption("not a JSON array: " + text);
  for (const auto& e : j) {
    if (e.is_null()) return Status::InvalidArgument("array elements must not be null");
    bool ok = false;
    switch (t.scalar) {
      case ScalarType::kInt32:
      case ScalarType::kInt64:
      case ScalarType::kUnixTimestamp:
        ok = e.is_number_integer();
        break;
      case ScalarType::kFloat32:
      case ScalarType::kFloat64:
        ok = e.is_number();
        break;
      case ScalarType::kString:
      case ScalarType::kBytes:
        ok = e.is_string();
        break;
      case ScalarType::kBool:
        ok = e.is_boolean();
        break;
    }
    if (!ok) {
      return Status::InvalidArgument("the column's elements are not of type " +
                                     ValueTypeName(t) + ": " + text);
    }
  }
  switch (t.scalar) {
    case ScalarType::kInt32:
      return Value::Int32Array(JsonArray<int32_t>(j, [](const auto& e) { return e.template get<int32_t>(); }));
    case ScalarType::kInt64:
      return Value::Int64Array(JsonArray<int64_t>(j, [](const auto& e) { return e.template get<int64_t>(); }));
    case ScalarType::kFloat32:
      return Value::Float32Array(JsonArray<float>(
          j, [](const auto& e) { return static_cast<float>(e.template get<double>()); }));
    case ScalarType::kFloat64:
      return Value::Float64Array(JsonArray<double>(j, [](const auto& e) { return e.template get<double>(); }));
    case ScalarType::kString:
      return Value::StringArray(
          JsonArray<std::string>(j, [](const auto& e) { return e.template get<std::string>(); }));
    case ScalarType::kBytes:
      return Value::BytesArray(JsonArray<std::string>(
          j, [](const auto& e) { return Unhex(e.template get<std::string>()); }));
    case ScalarType::kBool: {
      std::vector<bool> v;
      for (const auto& e : j) v.push_back(e.template get<bool>());
      return Value::BoolArray(std::move(v));
    }
    case ScalarType::kUnixTimestamp:
      return Value::UnixTimestampArray(JsonArray<TimestampMicros>(
          j, [](const auto& e) { return e.template get<int64_t>(); }));
  }
  return Status::Internal("unknown dtype");
}

// Parses the text ValueSql rendered into a Value of exactly dtype `t`.
Result<Value> ParseValue(const std::optional<std::string>& text, const ValueType& t) {
  if (!text.has_value()) return Value::Null();
  const std::string& s = *text;
  if (t.is_array) return ParseArray(s, t);
  switch (t.scalar) {
    case ScalarType::kInt32:
      return Value::Int32(static_cast<int32_t>(std::stoll(s)));
    case ScalarType::kInt64:
      return Value::Int64(std::stoll(s));
    case ScalarType::kFloat32:
      return Value::Float32(static_cast<float>(std::stod(s)));
    case ScalarType::kFloat64:
      return Value::Float64(std::stod(s));
    case ScalarType::kString:
      return Value::String(s);
    case ScalarType::kBytes:
      return Value::Bytes(Unhex(s));
    case ScalarType::kBool:
      return Value::Bool(s == "true");
    case ScalarType::kUnixTimestamp:
      return Value::UnixTimestamp(std::stoll(s));
  }
  return Status::Internal("unknown dtype");
}

// Everything needed to read one view's window.
struct ViewPlan {
  const FeatureView* view = nullptr;
  std::vector<std::string> keys;          // join keys, in entity order
  std::vector<ValueType> key_types;       // per key
  // The latest row per key in the window, among the rows matching
  // `extra_where` (a condition on the keys only, so the latest row of each
  // selected key is the same as over all rows).
  std::string LatestSql(const std::string& extra_where) const {
    return select + (extra_where.empty() ? "" : " AND " + extra_where) + qualify;
  }
  std::string select;     // SELECT ... FROM ... WHERE <window and non-null keys>
  std::string qualify;    // the QUALIFY clause
  std::string hash_expr;  // hash of the join keys, over the source's columns
  std::string key_tuple;  // the join keys as selected: (__larder_k0, ...)
};

Result<ViewPlan> PlanView(const FeatureRepo& repo, const FeatureView& view,
                          const offline::TableExists& exists, const std::string& db_path,
                          TimestampMicros start, TimestampMicros end) {
  ViewPlan plan;
  plan.view = &view;
  LARDER_ASSIGN_OR_RETURN(offline::ViewSource resolved,
                          offline::ResolveViewSource(repo, view, exists, db_path));
  const DataSource* owner = resolved.owner;
  std::string relation = std::move(resolved.relation);
  for (const auto& entity_name : view.entities) {
    const Entity* ent = repo.FindEntity(entity_name);
    if (ent == nullptr) {
      return Status::NotFound("feature view '" + view.name + "': entity '" + entity_name +
                              "' is not registered");
    }
    for (const auto& key : ent->join_keys) {
      if (std::find(plan.keys.begin(), plan.keys.end(), key) != plan.keys.end()) continue;
      plan.keys.push_back(key);
      plan.key_types.push_back(ent->value_type);
    }
  }
  if (plan.keys.empty()) {
    return Status::InvalidArgument("feature view '" + view.name + "' has no join keys");
  }
  std::string ts = EpochMicros(QuoteIdentifier(MappedName(*owner, owner->timestamp_field)));
  std::string created =
      owner->created_timestamp_column.empty()
          ? std::string("CAST(NULL AS BIGINT)")
          : EpochMicros(QuoteIdentifier(MappedName(*owner, owner->created_timestamp_column)));
  std::string select;
  std::string partition;
  std::string where = ts + " < " + std::to_string(end);
  if (start != kBeginningOfTime) where += " AND " + ts + " >= " + std::to_string(start);
  plan.hash_expr = "hash(";
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    std::string q = QuoteIdentifier(plan.keys[k]);
    select += ValueSql(q, plan.key_types[k]) + " AS __larder_k" + std::to_string(k) + ", ";
    partition += (k == 0 ? "" : ", ") + q;
    plan.hash_expr += (k == 0 ? "" : ", ") + ValueSql(q, plan.key_types[k]);
    where += " AND " + q + " IS NOT NULL";
  }
  plan.hash_expr += ")";
  plan.key_tuple = "row(";
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    plan.key_tuple += (k == 0 ? "__larder_k" : ", __larder_k") + std::to_string(k);
  }
  plan.key_tuple += ")";
  select += ts + " AS __larder_ets, " + created + " AS __larder_cts";
  for (size_t f = 0; f < view.schema.size(); ++f) {
    select += ", " + ValueSql(QuoteIdentifier(view.schema[f].name), view.schema[f].dtype) +
              " AS __larder_f" + std::to_string(f);
  }
  plan.select = "SELECT " + select + " FROM " + relation + " WHERE " + where;
  plan.qualify = " QUALIFY row_number() OVER (PARTITION BY " + partition + " ORDER BY " + ts +
                 " DESC, " + created + " DESC NULLS LAST) = 1";
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
};

Status RunPartition(duckdb::Connection& conn, const ViewPlan& plan, const OnlineView& oview,
                    OnlineStore& store, int partition, int partitions, int64_t slices,
                    SharedCounters& counters) {
  const FeatureView& view = *plan.view;
  std::string what = "feature view '" + view.name + "'";
  for (int64_t s = partition; s < slices; s += partitions) {
    std::string sql =
        plan.LatestSql(plan.hash_expr + " % " + std::to_string(slices) + " = " + std::to_string(s));
    LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult rows, conn.Query(sql, what));
    std::vector<OnlineRecord> records;
    records.reserve(rows.rows.size());
    const size_t nk = plan.keys.size();
    for (auto& row : rows.rows) {
      OnlineRecord rec;
      rec.entity_key.join_keys = plan.keys;
      for (size_t k = 0; k < nk; ++k) {
        LARDER_ASSIGN_OR_RETURN(Value v, ParseValue(row[k], plan.key_types[k]));
        rec.entity_key.values.push_back(std::move(v));
      }
      rec.event_timestamp = std::stoll(row[nk].value_or("0"));
      rec.created_timestamp = row[nk + 1].has_value() ? std::stoll(*row[nk + 1]) : 0;
      for (size_t f = 0; f < view.schema.size(); ++f) {
        Result<Value> v = ParseValue(row[nk + 2 + f], view.schema[f].dtype);
        if (!v.ok()) {
          return Status::InvalidArgument(what + ", feature `" + view.schema[f].name +
                                         "`: " + v.status().message());
        }
        rec.values.push_back(std::move(*v));
      }
      records.push_back(std::move(rec));
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
      counters.options->progress(MaterializeProgress{
          counters.view, done, std::max(counters.total, done), false});
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::optional<TimestampMicros>> ReadWatermark(const FeatureRepo& repo,
                                                     const std::string& view) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
  LARDER_RETURN_IF_ERROR(EnsureWatermarkTable(*conn));
  return QueryWatermark(*conn, repo.config.project, view);
}

Result<MaterializeReport> Materialize(const FeatureRepo& repo, OnlineStore& store,
                                      std::optional<TimestampMicros> start, TimestampMicros end,
                                      const MaterializeOptions& options) {
  if (start.has_value() && *start >= end) {
    return Status::InvalidArgument("materialize: the start must be before the end");
  }
  if (options.partitions < 1 || options.chunk_rows < 1) {
    return Status::InvalidArgument("materialize: partitions and chunk_rows must be >= 1");
  }
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
  LARDER_ASSIGN_OR_RETURN(std::set<std::string> tables, ListTables(*conn, db_path));
  offline::TableExists exists = [&tables](std::string_view name) {
    return tables.contains(std::string(name));
  };

  MaterializeReport report;
  for (const FeatureView* view : views) {
    auto t0 = std::chrono::steady_clock::now();
    TimestampMicros view_start = kBeginningOfTime;
    if (start.has_value()) {
      view_start = *start;
    } else {
      LARDER_ASSIGN_OR_RETURN(std::optional<TimestampMicros> mark,
                              QueryWatermark(*conn, repo.config.project, view->name));
      if (mark.has_value()) {
        view_start = *mark;
      } else if (view->ttl.micros > 0) {
        view_start = end - view->ttl.micros;
      }
    }
    MaterializedView done{view->name, view_start, end, 0, 0, 0, 0};
    if (view_start >= end) {  // nothing new since the watermark
      report.views.push_back(done);
      continue;
    }
    LARDER_ASSIGN_OR_RETURN(ViewPlan plan,
                            PlanView(repo, *view, exists, db_path, view_start, end));
    std::string what = "feature view '" + view->name + "'";
    LARDER_ASSIGN_OR_RETURN(std::optional<std::string> count,
                            conn->QueryScalar("SELECT approx_count_distinct(" + plan.key_tuple +
                                                  ") FROM (" + plan.select + ")",
                                              what));
    SharedCounters counters;
    counters.total = count.has_value() ? std::stoll(*count) : 0;
    counters.options = &options;
    counters.view = view->name;
    const int partitions = options.partitions;
    int64_t per_partition = (counters.total + partitions - 1) / partitions;
    int64_t slices =
        int64_t{partitions} *
        std::max<int64_t>(1, (per_partition + options.chunk_rows - 1) / options.chunk_rows);
    OnlineView oview = OnlineView::FromFeatureView(*view);

    std::vector<std::unique_ptr<duckdb::Connection>> conns;
    for (int p = 0; p < partitions; ++p) {
      LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> c, conn->NewConnection());
      // The partitions already run in parallel; one DuckDB thread each keeps
      // the machine from being oversubscribed.
      if (partitions > 1) LARDER_RETURN_IF_ERROR(c->Execute("SET threads = 1", what));
      conns.push_back(std::move(c));
    }
    std::vector<Status> results(static_cast<size_t>(partitions));
    std::vector<std::thread> threads;
    for (int p = 0; p < partitions; ++p) {
      threads.emplace_back([&, p] {
        results[static_cast<size_t>(p)] = RunPartition(*conns[static_cast<size_t>(p)], plan, oview,
                                                       store, p, partitions, slices, counters);
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& s : results) LARDER_RETURN_IF_ERROR(s);

    // Every partition landed: the watermark may move (never backwards).
    LARDER_RETURN_IF_ERROR(conn->Execute(
        std::string("INSERT INTO ") + kWatermarkTable + " VALUES (" +
            QuoteLiteral(repo.config.project) + ", " + QuoteLiteral(view->name) + ", " +
            std::to_string(end) +
            ") ON CONFLICT (project, feature_view) DO UPDATE SET end_us = "
            "greatest(end_us, excluded.end_us)",
        "watermark of " + what));
    done.rows = counters.written + counters.skipped;
    done.written = counters.written;
    done.skipped = counters.skipped;
    done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.progress) {
      options.progress(MaterializeProgress{view->name, done.written + done.skipped, done.rows, true});
    }
    report.views.push_back(std::move(done));
  }
  return report;
}

}  // namespace larder::materialize
