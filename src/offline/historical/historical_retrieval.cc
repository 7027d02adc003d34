#include "offline/historical/historical_retrieval.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "aggregation/event.h"
#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/file_schema.h"
#include "offline/duckdb/hll_function.h"
#include "offline/duckdb/tie_key_function.h"
#include "offline/historical/aggregation_sql.h"
#include "offline/historical/entity_columns.h"
#include "offline/row_order.h"
#include "offline/source_relation.h"
#include "repo/column_types.h"
#include "repo/feature_refs.h"

namespace larder {
namespace fs = std::filesystem;
using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;

namespace {

constexpr std::string_view kOfflineAlias = "larder_offline";
constexpr std::string_view kRowColumn = "__larder_row";
constexpr std::string_view kTsColumn = "__larder_ts";
constexpr std::string_view kFeatureTsColumn = "__larder_fts";
// The rows of request.entity_arrow_stream, in the job's in-memory database
// (whose catalog DuckDB names "memory").
constexpr std::string_view kEntityArrowTable = "__larder_entity_input";
// Where a job's staged tables live: its own in-memory database (the offline
// store, when attached, is read-only and the default catalog).
constexpr std::string_view kStageSchema = "memory.main.";

// Removes a spill directory Larder created, once nothing uses it.
struct TempDirGuard {
  std::string path;
  bool owned = false;
  ~TempDirGuard() {
    if (owned) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

}  // namespace

class HistoricalRetrievalJob::Impl {
 public:
  std::shared_ptr<TempDirGuard> temp_dir;
  std::shared_ptr<duckdb::Connection> conn;
  bool attached = false;
  // Statements that build the entity table and each view's joined features
  // as tables of the job's in-memory database, run once before `sql`.
  std::vector<std::string> stages;
  bool staged = false;
  std::string sql;           // the final query
  std::string display_sql;   // stages and final query, for sql()
  std::vector<std::string> column_names;
  // Keep the dbt databases that `stages` read attached until the job ends.
  std::vector<std::shared_ptr<offline::SourceAttachments>> attachments;
  // Fills the in-memory database from elsewhere before the stages run
  // (offline::MakeImportedHistoricalJob). Empty: nothing to import.
  std::function<Status(duckdb::Connection&)> import;

  Status RunStages() {
    if (staged) return Status::OK();
    if (import) LARDER_RETURN_IF_ERROR(import(*conn));
    for (const auto& stage : stages) {
      // Larder wrote this SQL: its errors say what failed, not where in it.
      LARDER_RETURN_IF_ERROR(
          duckdb::WithoutSqlContext(conn->Execute(stage, "historical features")));
    }
    staged = true;
    return Status::OK();
  }
};

HistoricalRetrievalJob::HistoricalRetrievalJob(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
HistoricalRetrievalJob::~HistoricalRetrievalJob() = default;

const std::vector<std::string>& HistoricalRetrievalJob::column_names() const {
  return impl_->column_names;
}
const std::string& HistoricalRetrievalJob::sql() const { return impl_->display_sql; }

Result<int64_t> HistoricalRetrievalJob::WriteToFile(const std::string& path) {
  std::string options;
  if (path.ends_with(".parquet")) {
    options = "(FORMAT parquet)";
  } else if (path.ends_with(".csv")) {
    options = "(FORMAT csv, HEADER true)";
  } else {
    return Status::InvalidArgument("output file " + path +
                                   ": unknown format; use a .parquet or .csv extension");
  }
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (abs.has_parent_path()) fs::create_directories(abs.parent_path(), ec);
  LARDER_RETURN_IF_ERROR(impl_->RunStages());
  Result<std::optional<std::string>> copied = impl_->conn->QueryScalar(
      "COPY (" + impl_->sql + ") TO " + QuoteLiteral(abs.string()) + " " + options,
      "historical features to " + path);
  if (!copied.ok()) return duckdb::WithoutSqlContext(copied.status());
  const std::optional<std::string>& count = *copied;
  if (!count.has_value()) return int64_t{0};
  return static_cast<int64_t>(std::stoll(*count));
}

Status HistoricalRetrievalJob::ExportArrowStream(ArrowArrayStream* out) {
  // The stream gets a connection of its own, so that this job stays usable
  // and the stream outlives it; it keeps the spill directory alive. The
  // staged tables live in the in-memory database, which both connections see.
  LARDER_RETURN_IF_ERROR(impl_->RunStages());
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> raw, impl_->conn->NewConnection());
  if (impl_->attached) {
    LARDER_RETURN_IF_ERROR(
        raw->Execute("USE " + std::string(kOfflineAlias), "offline store database"));
  }
  std::shared_ptr<TempDirGuard> guard = impl_->temp_dir;
  std::shared_ptr<duckdb::Connection> conn(raw.release(),
                                           [guard](duckdb::Connection* c) { delete c; });
  return duckdb::WithoutSqlContext(
      duckdb::ExportArrowStream(std::move(conn), impl_->sql, "historical features", out));
}

namespace offline {
namespace {

// One requested feature view and its requested features, in request order.
struct ViewRequest {
  const FeatureView* view = nullptr;
  std::vector<std::string> features;
  // Parallel to `features`: the index into view->aggregations of an
  // aggregation's output, or kPlain for a schema feature.
  std::vector<size_t> aggregation;
};
constexpr size_t kPlain = static_cast<size_t>(-1);

// The requested features grouped by view, views in order of first request.
Result<std::vector<ViewRequest>> ResolveFeatures(const FeatureRepo& repo,
                                                 const HistoricalFeaturesRequest& request) {
  LARDER_ASSIGN_OR_RETURN(
      std::vector<repo::FeatureRef> refs,
      repo::ResolveFeatureRefs(repo, request.features, request.feature_service));
  std::vector<ViewRequest> views;
  for (const auto& ref : refs) {
    auto it = std::find_if(views.begin(), views.end(),
                           [&](const ViewRequest& r) { return r.view == ref.view; });
    if (it == views.end()) {
      views.push_back(ViewRequest{ref.view, {}, {}});
      it = views.end() - 1;
    }
    const size_t plain = ref.view->schema.size();
    if (ref.feature_index < plain) {
      it->features.push_back(ref.view->schema[ref.feature_index].name);
      it->aggregation.push_back(kPlain);
    } else {
      const Aggregation& a = ref.view->aggregations[ref.feature_index - plain];
      it->features.push_back(a.name);
      it->aggregation.push_back(ref.feature_index - plain);
    }
  }
  return views;
}


// `column` (already quoted/qualified) as TIMESTAMP WITH TIME ZONE in UTC.
// The session's TimeZone is UTC, so a naive TIMESTAMP is read as UTC.
std::string AsTimestampTz(const std::string& column, const std::string& type) {
  if (type == "TIMESTAMP WITH TIME ZONE") return column;
  if (type == "DATE" || type.starts_with("TIMESTAMP")) {
    return "CAST(CAST(" + column + " AS TIMESTAMP) AS TIMESTAMPTZ)";
  }
  return "CAST(" + column + " AS TIMESTAMPTZ)";
}

using Columns = std::vector<ColumnInfo>;

Result<Columns> Describe(duckdb::Connection& conn, const std::string& relation,
                         const std::string& what) {
  Result<duckdb::QueryResult> queried = conn.Query("DESCRIBE SELECT * FROM " + relation, what);
  if (!queried.ok()) return duckdb::WithoutSqlContext(queried.status());
  const duckdb::QueryResult& described = *queried;
  int name_col = described.ColumnIndex("column_name");
  int type_col = described.ColumnIndex("column_type");
  if (name_col < 0 || type_col < 0) return Status::Internal(what + ": DESCRIBE failed");
  Columns out;
  for (const auto& row : described.rows) {
    out.push_back({row[static_cast<size_t>(name_col)].value_or(""),
                   row[static_cast<size_t>(type_col)].value_or("")});
  }
  return out;
}

// The entity table: its relation SQL and its name for messages.
struct EntityTable {
  std::string relation;
  std::string what;
  // A CSV file: its column types are guessed from its rows, so without rows
  // every column reads as VARCHAR.
  bool types_from_rows = false;
};

Result<EntityTable> EntityRelation(duckdb::Connection& conn,
                                   const HistoricalFeaturesRequest& request) {
  bool has_path = !request.entity_path.empty();
  bool has_sql = !request.entity_sql.empty();
  bool has_arrow = request.entity_arrow_stream != nullptr;
  if (int{has_path} + int{has_sql} + int{has_arrow} != 1) {
    return Status::InvalidArgument(
        "give one of an entity file, an entity SQL query or an entity Arrow stream, " +
        std::string(has_path || has_sql || has_arrow ? "not several" : "none was given"));
  }
  if (has_sql || has_arrow) {
    // Staged by PrepareHistoricalRetrieval before the offline store is attached.
    return EntityTable{"(SELECT * FROM memory.main." + std::string(kEntityArrowTable) + ")",
                       has_sql ? "entity SQL" : "entity DataFrame"};
  }
  FileFormat format;
  if (request.entity_path.ends_with(".parquet")) {
    format = FileFormat::kParquet;
  } else if (request.entity_path.ends_with(".csv")) {
    format = FileFormat::kCsv;
  } else {
    return Status::InvalidArgument("entity file " + request.entity_path +
                                   ": unknown format; use a .parquet or .csv file");
  }
  std::error_code ec;
  std::string abs = fs::absolute(request.entity_path, ec).lexically_normal().string();
  std::string what = "entity file " + request.entity_path;
  Result<std::optional<std::string>> matches =
      conn.QueryScalar("SELECT count(*) FROM glob(" + QuoteLiteral(abs) + ")", what);
  if (!matches.ok()) return duckdb::WithoutSqlContext(matches.status());
  if (!matches->has_value() || **matches == "0") {
    return Status::NotFound("entity file " + request.entity_path + ": no file matches " + abs);
  }
  return EntityTable{"(SELECT * FROM " + duckdb::FileScanSql(format, abs) + ")", what,
                     format == FileFormat::kCsv};
}

// Runs the entity query and copies its rows into table kEntityArrowTable of
// `conn`'s in-memory database. The query is the user's text, so it runs as
// exactly one SELECT (checked and prepared on its own, never spliced into
// other SQL) on a database of its own that cannot change the offline store:
// the store file opened read-only (an empty in-memory database when there is
// no store yet), with the configuration locked after `settings`.
Status StageEntityQuery(const std::string& sql, const std::string& db_path, bool db_exists,
                        const std::string& settings, duckdb::Connection& conn) {
  duckdb::OpenOptions open;
  open.read_only = db_exists;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> opened,
                          duckdb::Connection::Open(db_exists ? db_path : ":memory:", open));
  std::shared_ptr<duckdb::Connection> reader(std::move(opened));
  LARDER_RETURN_IF_ERROR(reader->Execute(settings + " SET lock_configuration = true;",
                                         "entity SQL settings"));
  LARDER_ASSIGN_OR_RETURN(
      std::unique_ptr<duckdb::PreparedStatement> statement,
      reader->PrepareOne(sql, "entity SQL", duckdb::StatementKind::kSelect));
  ArrowArrayStream stream{};
  LARDER_RETURN_IF_ERROR(duckdb::ExportArrowStream(std::move(reader), std::move(statement),
                                                   &stream));
  Status staged =
      duckdb::ImportArrowStream(conn, &stream, std::string(kEntityArrowTable), "entity SQL");
  stream.release(&stream);
  return duckdb::WithoutSqlContext(staged);
}

// When `entity` has no rows and its column types come from its rows, the
// error to give instead of a complaint about a column's type.
Status NoRowsError(duckdb::Connection& conn, const EntityTable& entity) {
  if (!entity.types_from_rows) return Status::OK();
  Result<std::optional<std::string>> n =
      conn.QueryScalar("SELECT count(*) FROM " + entity.relation, entity.what);
  if (!n.ok() || n->value_or("") != "0") return Status::OK();
  return Status::InvalidArgument(entity.what +
                                 " has no rows: a CSV file's column types come from its rows, "
                                 "so they cannot be determined; give at least one entity row");
}

// A column of text timestamps: the first value that is not a timestamp, as
// an error naming the column, the value and its row.
Status CheckTimestampText(duckdb::Connection& conn, const EntityTable& entity,
                          const std::string& column) {
  std::string col = QuoteIdentifier(column);
  Result<duckdb::QueryResult> bad = conn.Query(
      "SELECT n, v FROM (SELECT row_number() OVER () AS n, " + col + " AS v FROM " +
          entity.relation + ") WHERE v IS NOT NULL AND TRY_CAST(v AS TIMESTAMPTZ) IS NULL "
          "ORDER BY n LIMIT 1",
      entity.what);
  if (!bad.ok()) return duckdb::WithoutSqlContext(bad.status());
  if (bad->rows.empty()) return Status::OK();
  return Status::InvalidArgument(
      entity.what + ": row " + bad->rows[0][0].value_or("?") +
      (entity.types_from_rows ? " (after the header)" : "") + ": column `" + column +
      "` holds " + QuoteLiteral(bad->rows[0][1].value_or("")) +
      ", which is not a timestamp (write e.g. 2022-01-01 12:00:00, optionally with "
      "a zone such as +02:00 or Z)");
}

Result<std::shared_ptr<TempDirGuard>> MakeTempDir(const HistoricalRetrievalOptions& options) {
  auto guard = std::make_shared<TempDirGuard>();
  if (!options.temp_directory.empty()) {
    guard->path = options.temp_directory;
    return guard;
  }
  std::error_code ec;
  std::string pattern = (fs::temp_directory_path(ec) / "larder-historical-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot create a spill directory from " + pattern);
  }
  guard->path = pattern;
  guard->owned = true;
  return guard;
}

// Gives `impl` its in-memory database, with the options' resources and
// Larder's SQL functions, and its spill directory.
Status OpenJobDatabase(const HistoricalRetrievalOptions& options,
                       HistoricalRetrievalJob::Impl& impl) {
  LARDER_ASSIGN_OR_RETURN(impl.temp_dir, MakeTempDir(options));
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> opened,
                          duckdb::Connection::Open(":memory:"));
  impl.conn = std::move(opened);
  std::string settings = "SET memory_limit = " + QuoteLiteral(options.memory_limit) +
                         "; SET temp_directory = " + QuoteLiteral(impl.temp_dir->path) + ";";
  if (options.threads > 0) settings += " SET threads = " + std::to_string(options.threads) + ";";
  LARDER_RETURN_IF_ERROR(impl.conn->Execute(settings, "historical retrieval settings"));
  LARDER_RETURN_IF_ERROR(duckdb::RegisterTieKeyFunction(*impl.conn));
  return duckdb::RegisterHllCountFunction(*impl.conn);
}

// What a view's ASOF join needs, gathered while checking the view.
struct AsofStage {
  const FeatureView& view;
  const std::string& alias;
  const std::string& relation;
  const ColumnInfo* fts;
  const ColumnInfo* created;
  const std::vector<std::string>& keys;
  std::string select;  // the keys' columns so far
  const std::string& on;
};

using NeedColumn = std::function<Result<const ColumnInfo*>(const std::string&)>;

// Adds the stage of view number `v`'s ASOF join for its schema features
// `plain` (indices into request.features) to `stages`, sets their
// (*feature_exprs)[f], and returns the staged table's name.
Result<std::string> AddAsofStage(AsofStage asof, const ViewRequest& request,
                                 const std::vector<size_t>& plain, const NeedColumn& need,
                                 const std::string& entities_table, size_t v,
                                 std::vector<std::string>* stages,
                                 std::vector<std::string>* feature_exprs) {
  const FeatureView& view = asof.view;
  const std::string& alias = asof.alias;
  const std::string& relation = asof.relation;
  const ColumnInfo* fts = asof.fts;
  const ColumnInfo* created = asof.created;
  const std::vector<std::string>& keys = asof.keys;
  std::string& select = asof.select;
  const std::string& on = asof.on;
  // Source times compare as the total order of rows has them
  // (offline/row_order.h): rounded up to the microsecond, never down.
  const std::string feature_ts = SourceTimestampTzSql(QuoteIdentifier(fts->name), fts->type);
  select += feature_ts + " AS " + std::string(kFeatureTsColumn);
  for (size_t f : plain) {
    LARDER_RETURN_IF_ERROR(need(request.features[f]).status());
    std::string internal = "__larder_f" + std::to_string(f);
    select += ", " + QuoteIdentifier(request.features[f]) + " AS " + internal;
    std::string value = alias + "." + internal;
    if (view.ttl.micros > 0) {
      value = "CASE WHEN epoch_us(" + alias + "." + std::string(kFeatureTsColumn) +
              ") >= epoch_us(e." + std::string(kTsColumn) + ") - " +
              std::to_string(view.ttl.micros) + " THEN " + value + " END";
    }
    (*feature_exprs)[f] = value;
  }
  // Rows without a timestamp or a key can never match; dropping NULL keys
  // also keeps DuckDB's ASOF join from pairing a NULL key with a NULL key.
  std::string where = QuoteIdentifier(fts->name) + " IS NOT NULL";
  for (const auto& k : keys) where += " AND " + QuoteIdentifier(k) + " IS NOT NULL";
  // One row per (keys, event time): the greatest in the total order of rows,
  // that is by created time (a row without one is oldest), then by tie key
  // (over all of the view's features, typed as online records are), so that
  // training data holds the row that materialization writes online.
  std::string partition;
  for (const auto& k : keys) partition += QuoteIdentifier(k) + ", ";
  std::string order;
  if (created != nullptr) {
    order = SourceMicrosSql(QuoteIdentifier(created->name), created->type) +
            " DESC NULLS LAST, ";
  }
  order += RowTieKeySql(view) + " DESC";
  std::string feature_rows = "(SELECT " + select + " FROM " + relation + " WHERE " + where +
                             " QUALIFY row_number() OVER (PARTITION BY " + partition +
                             feature_ts + " ORDER BY " + order + ") = 1)";
  // The view's own ASOF join, with only the row number, timestamp and this
  // view's keys on the entity side, into a table that the final query joins
  // by row number. Chaining the ASOF joins instead would carry every
  // earlier view's features through each later join's sort (quadratic in
  // the number of features); one query of per-view joins would hold every
  // view's join state at once. A table per view can spill.
  std::string entity_side = std::string(kRowColumn) + ", " + std::string(kTsColumn);
  for (const auto& k : keys) entity_side += ", " + QuoteIdentifier(k);
  std::string joined = std::string(kStageSchema) + "__larder_j" + std::to_string(v);
  std::string joined_select = "e." + std::string(kRowColumn);
  for (size_t f : plain) {
    std::string internal = "__larder_f" + std::to_string(f);
    joined_select += ", " + (*feature_exprs)[f] + " AS " + internal;
    (*feature_exprs)[f] = joined + "." + internal;
  }
  // An entity row without an event time has no feature row at or before
  // it: it stays out of the join (DuckDB's ASOF join would pair it with
  // the key's latest row), and so gets NULLs from the final LEFT JOIN.
  stages->push_back("CREATE OR REPLACE TABLE " + joined + " AS SELECT " + joined_select +
                    " FROM (SELECT " + entity_side + " FROM " + entities_table + " WHERE " +
                    std::string(kTsColumn) + " IS NOT NULL) e ASOF LEFT JOIN " + feature_rows + " " + alias + " ON " + on + "e." +
                    std::string(kTsColumn) + " >= " + alias + "." +
                    std::string(kFeatureTsColumn));
  return joined;
}

}  // namespace

Result<std::unique_ptr<HistoricalRetrievalJob>> PrepareHistoricalRetrieval(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::vector<ViewRequest> views, ResolveFeatures(repo, request));

  auto impl = std::make_unique<HistoricalRetrievalJob::Impl>();
  LARDER_RETURN_IF_ERROR(OpenJobDatabase(options, *impl));
  duckdb::Connection& conn = *impl->conn;

  // An entity Arrow stream or the rows of an entity query are copied into
  // the in-memory database first: DuckDB's Arrow scan registers a view in
  // the default catalog, which is read-only once the offline store is
  // attached and in use.
  // (With another entity source as well, EntityRelation refuses the request.)
  const std::string db_path = OfflineDatabasePath(repo);
  std::error_code ec;
  const bool db_exists = fs::exists(db_path, ec);
  if (request.entity_arrow_stream != nullptr && request.entity_path.empty() &&
      request.entity_sql.empty()) {
    LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(duckdb::ImportArrowStream(
        conn, request.entity_arrow_stream, std::string(kEntityArrowTable), "entity DataFrame")));
  } else if (!request.entity_sql.empty() && request.entity_path.empty() &&
             request.entity_arrow_stream == nullptr) {
    // Its own spill directory: two DuckDB instances must not share one.
    std::string reader_settings =
        "SET memory_limit = " + QuoteLiteral(options.memory_limit) + "; SET temp_directory = " +
        QuoteLiteral((fs::path(impl->temp_dir->path) / "entity_sql").string()) + ";";
    if (options.threads > 0) {
      reader_settings += " SET threads = " + std::to_string(options.threads) + ";";
    }
    LARDER_RETURN_IF_ERROR(
        StageEntityQuery(request.entity_sql, db_path, db_exists, reader_settings, conn));
  }

  // Model outputs and offline pushes live in the offline store database; it
  // is attached read-only, so training data never changes it and several
  // readers may share it.
  if (db_exists) {
    LARDER_RETURN_IF_ERROR(conn.Execute("ATTACH " + QuoteLiteral(db_path) + " AS " +
                                            std::string(kOfflineAlias) + " (READ_ONLY); USE " +
                                            std::string(kOfflineAlias),
                                        "offline store database " + db_path));
    impl->attached = true;
  }
  std::set<std::string> tables;
  if (impl->attached) {
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult listed,
        conn.Query("SELECT table_name FROM information_schema.tables WHERE table_catalog = " +
                       QuoteLiteral(kOfflineAlias) + " AND table_schema = 'main'",
                   "offline store database " + db_path));
    for (const auto& row : listed.rows) tables.insert(row[0].value_or(""));
  }
  TableExists exists = [&tables](std::string_view name) {
    return tables.contains(std::string(name));
  };

  // The entity table and its columns.
  LARDER_ASSIGN_OR_RETURN(EntityTable entity, EntityRelation(conn, request));
  LARDER_ASSIGN_OR_RETURN(Columns entity_cols, Describe(conn, entity.relation, entity.what));
  LARDER_RETURN_IF_ERROR(CheckReservedColumnNames(entity_cols, entity.what));
  Result<const ColumnInfo*> found_ts = EventTimestampColumn(entity_cols, entity.what);
  if (!found_ts.ok()) {
    // A CSV file without rows has only text columns: say that instead.
    LARDER_RETURN_IF_ERROR(NoRowsError(conn, entity));
    return found_ts.status();
  }
  const ColumnInfo* ts_col = *found_ts;
  if (ts_col->type == "VARCHAR") {
    LARDER_RETURN_IF_ERROR(CheckTimestampText(conn, entity, ts_col->name));
  }

  // Output feature names, and their collisions.
  std::vector<RequestedView> requested;
  for (const auto& v : views) requested.push_back({v.view->name, v.features});
  LARDER_ASSIGN_OR_RETURN(
      std::vector<OutputFeature> outputs,
      NameOutputFeatures(requested, entity_cols, entity.what, request.full_feature_names));

  // Per view: its source relation, checked against the entity table.
  const std::string entities_table = std::string(kStageSchema) + "__larder_entities";
  impl->stages.push_back("CREATE OR REPLACE TABLE " + entities_table + " AS SELECT *, " +
                         AsTimestampTz(QuoteIdentifier(ts_col->name), ts_col->type) + " AS " +
                         std::string(kTsColumn) + ", row_number() OVER () AS " +
                         std::string(kRowColumn) + " FROM " + entity.relation);
  std::string joins;
  std::vector<std::vector<std::string>> feature_exprs(views.size());
  std::vector<AggregationStage> aggregation_stages;
  for (size_t v = 0; v < views.size(); ++v) {
    const FeatureView& view = *views[v].view;
    LARDER_ASSIGN_OR_RETURN(ViewSource resolved, ResolveViewSource(repo, view, exists, db_path, conn));
    if (resolved.attachments != nullptr) impl->attachments.push_back(resolved.attachments);
    const DataSource* source = resolved.source;
    const DataSource* owner = resolved.owner;
    const std::string& relation = resolved.relation;
    std::string what = "feature view '" + view.name + "' (data source '" + source->name + "')";
    LARDER_ASSIGN_OR_RETURN(Columns source_cols, Describe(conn, relation, what));
    auto need = [&](const std::string& column) -> Result<const ColumnInfo*> {
      const ColumnInfo* c = FindColumn(source_cols, column);
      if (c == nullptr) {
        return Status::InvalidArgument(what + ": no column `" + column +
                                       "` (columns: " + ColumnList(source_cols) + ")");
      }
      return c;
    };
    LARDER_ASSIGN_OR_RETURN(const ColumnInfo* fts, need(MappedName(*owner, owner->timestamp_field)));
    const ColumnInfo* created = nullptr;
    if (!owner->created_timestamp_column.empty()) {
      LARDER_ASSIGN_OR_RETURN(created, need(MappedName(*owner, owner->created_timestamp_column)));
    }

    std::string alias = "f" + std::to_string(v);
    std::string select;
    std::string on;
    std::vector<std::string> keys;
    std::vector<ValueType> key_types;  // parallel to keys
    for (const auto& entity_name : view.entities) {
      const Entity* ent = repo.FindEntity(entity_name);
      if (ent == nullptr) {
        return Status::NotFound("feature view '" + view.name + "': entity '" + entity_name +
                                "' is not registered");
      }
      for (const auto& key : ent->join_keys) {
        LARDER_RETURN_IF_ERROR(CheckEntityJoinKey(entity_cols, key, *ent, view, entity.what,
                                                  [&] { return NoRowsError(conn, entity); }));
        LARDER_RETURN_IF_ERROR(need(key).status());
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        keys.push_back(key);
        key_types.push_back(ent->value_type);
        select += QuoteIdentifier(key) + ", ";
        on += "e." + QuoteIdentifier(key) + " = " + alias + "." + QuoteIdentifier(key) + " AND ";
      }
    }
    // Schema features through an ASOF join, aggregations through windows.
    std::vector<size_t> plain;
    std::vector<size_t> aggregated;
    for (size_t f = 0; f < views[v].features.size(); ++f) {
      (views[v].aggregation[f] == kPlain ? plain : aggregated).push_back(f);
    }
    feature_exprs[v].assign(views[v].features.size(), "");
    for (const Field& f : view.schema) LARDER_RETURN_IF_ERROR(need(f.name).status());
    if (!plain.empty()) {
      AsofStage asof{view, alias, relation, fts, created, keys, select, on};
      LARDER_ASSIGN_OR_RETURN(std::string joined,
                              AddAsofStage(asof, views[v], plain, need, entities_table, v,
                                           &impl->stages, &feature_exprs[v]));
      joins += "\nLEFT JOIN " + joined + " ON " + joined + "." + std::string(kRowColumn) +
               " = e." + std::string(kRowColumn);
    }
    if (!aggregated.empty()) {
      AggregationStage stage;
      stage.columns = aggregation::AggregatedColumns(view);
      for (const auto& c : stage.columns) LARDER_RETURN_IF_ERROR(need(c.name).status());
      stage.interval = view.aggregation_interval;
      stage.relation = relation;
      stage.time_column = QuoteIdentifier(fts->name);
      stage.time_type = fts->type;
      stage.keys = keys;
      stage.key_types = key_types;
      stage.entities_table = entities_table;
      stage.row_column = std::string(kRowColumn);
      stage.ts_column = std::string(kTsColumn);
      // Views over the same events share one windowed statement.
      auto group = std::find_if(aggregation_stages.begin(), aggregation_stages.end(),
                                [&](const AggregationStage& s) { return SameEvents(s, stage); });
      if (group == aggregation_stages.end()) {
        group = aggregation_stages.insert(aggregation_stages.end(), std::move(stage));
      }
      const size_t g = static_cast<size_t>(group - aggregation_stages.begin());
      for (size_t f : aggregated) {
        feature_exprs[v][f] = std::string(kStageSchema) + "__larder_a" + std::to_string(g) +
                              ".__larder_f" + std::to_string(group->aggregations.size());
        group->aggregations.push_back(view.aggregations[views[v].aggregation[f]]);
      }
    }
  }
  for (size_t g = 0; g < aggregation_stages.size(); ++g) {
    const std::string table = std::string(kStageSchema) + "__larder_a" + std::to_string(g);
    impl->stages.push_back("CREATE OR REPLACE TABLE " + table + " AS " +
                           AggregationStageSql(aggregation_stages[g]));
    joins += "\nLEFT JOIN " + table + " ON " + table + "." + std::string(kRowColumn) + " = e." +
             std::string(kRowColumn);
  }

  std::string projection;
  for (const auto& c : entity_cols) {
    projection += projection.empty() ? "" : ", ";
    if (&c == ts_col) {
      projection += "e." + std::string(kTsColumn) + " AS " + QuoteIdentifier(c.name);
    } else {
      projection += "e." + QuoteIdentifier(c.name);
    }
    impl->column_names.push_back(c.name);
  }
  for (const auto& out : outputs) {
    projection += ", " + feature_exprs[out.view_index][out.feature_index] + " AS " +
                  QuoteIdentifier(out.column);
    impl->column_names.push_back(out.column);
  }
  impl->sql = "SELECT " + projection + "\nFROM " + entities_table + " e" + joins +
              "\nORDER BY e." + std::string(kRowColumn);
  for (const auto& stage : impl->stages) impl->display_sql += stage + ";\n";
  impl->display_sql += impl->sql;
  return std::make_unique<HistoricalRetrievalJob>(std::move(impl));
}

Result<std::unique_ptr<HistoricalRetrievalJob>> MakeImportedHistoricalJob(
    ImportedHistoricalJob spec, const HistoricalRetrievalOptions& options) {
  auto impl = std::make_unique<HistoricalRetrievalJob::Impl>();
  LARDER_RETURN_IF_ERROR(OpenJobDatabase(options, *impl));
  impl->import = std::move(spec.import);
  impl->sql = std::move(spec.sql);
  impl->display_sql = std::move(spec.display_sql) + ";\n" + impl->sql;
  impl->column_names = std::move(spec.column_names);
  return std::make_unique<HistoricalRetrievalJob>(std::move(impl));
}

}  // namespace offline
}  // namespace larder
