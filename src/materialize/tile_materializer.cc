#include "materialize/tile_materializer.h"

#include <limits>
#include <vector>

#include "aggregation/online_tiles.h"
#include "materialize/view_rows_relation.h"
#include "offline/row_order.h"
#include "repo/feature_refs.h"

namespace larder::materialize {
namespace {

// Entities per UpdateStates call.
constexpr size_t kEntitiesPerBatch = 4096;

}  // namespace

Status MaterializeTiles(duckdb::Connection& conn, const FeatureRepo& repo, const FeatureView& view,
                        const offline::TableExists& exists, const std::string& db_path,
                        OnlineStore& store, TimestampMicros end, TimestampMicros now,
                        const TileImport& import, MaterializedView* done) {
  const std::string what = "feature view '" + view.name + "'";
  LARDER_ASSIGN_OR_RETURN(aggregation::TileLayout layout, aggregation::TileLayout::ForView(view));
  // The events a read at now or later can still see.
  const TimestampMicros start = layout.retention() > 0
                                    ? layout.WindowEnd(now) - layout.retention()
                                    : std::numeric_limits<TimestampMicros>::min();
  std::string imported;
  if (import.import) {
    (void)conn.Execute("DROP TABLE IF EXISTS " + duckdb::QuoteIdentifier(import.table), what);
    LARDER_RETURN_IF_ERROR(
        import.import(conn, view, ImportedRows::kEvents, start, end, import.table));
    imported = import.table;
  }
  struct DropImported {
    duckdb::Connection& conn;
    const std::string& table;
    ~DropImported() {
      if (!table.empty()) {
        (void)conn.Execute("DROP TABLE IF EXISTS " + duckdb::QuoteIdentifier(table), "");
      }
    }
  } drop_imported{conn, imported};
  LARDER_ASSIGN_OR_RETURN(offline::ViewSource resolved,
                          ViewRowsRelation(conn, repo, view, exists, db_path, imported));
  const DataSource* owner = resolved.owner;
  LARDER_ASSIGN_OR_RETURN(repo::JoinKeys join_keys, repo::ViewJoinKeys(repo, view));
  if (join_keys.names.empty()) return Status::InvalidArgument(what + " has no join keys");
  const std::string column = offline::MappedName(*owner, owner->timestamp_field);
  LARDER_ASSIGN_OR_RETURN(std::string type, offline::ColumnTypeName(conn, resolved.relation,
                                                                     column, what));
  const std::string ts = offline::SourceMicrosSql(duckdb::QuoteIdentifier(column), type);

  std::string select;
  std::string where = ts + " < " + std::to_string(end);
  if (start != std::numeric_limits<TimestampMicros>::min()) {
    where += " AND " + ts + " >= " + std::to_string(start);
  }
  std::string keys;
  std::vector<ValueType> types;
  for (size_t k = 0; k < join_keys.names.size(); ++k) {
    const std::string q = duckdb::QuoteIdentifier(join_keys.names[k]);
    select += offline::TypedValueSql(q, join_keys.types[k]) + " AS __larder_k" +
              std::to_string(k) + ", ";
    keys += (k == 0 ? "__larder_k" : ", __larder_k") + std::to_string(k);
    where += " AND " + q + " IS NOT NULL";
    types.push_back(join_keys.types[k]);
  }
  select += ts + " AS __larder_ets";
  types.push_back(ValueType{ScalarType::kInt64});
  for (const aggregation::AggregatedColumn& c : layout.columns()) {
    select += ", " + offline::TypedValueSql(duckdb::QuoteIdentifier(c.name), c.dtype);
    types.push_back(c.dtype);
  }
  const std::string sql = "SELECT DISTINCT " + select + " FROM " + resolved.relation +
                          " WHERE " + where + " ORDER BY " + keys;
  LARDER_ASSIGN_OR_RETURN(std::vector<std::vector<Value>> rows,
                          conn.QueryValues(sql, what, types));

  const size_t nkeys = join_keys.names.size();
  std::vector<aggregation::EntityEvents> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    done->written += static_cast<int64_t>(batch.size());
    Status s = aggregation::ApplyEvents(store, view.name, layout, std::move(batch), now);
    batch.clear();
    return s;
  };
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<Value>& row = rows[r];
    const bool same_key = r > 0 && std::equal(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nkeys),
                                              rows[r - 1].begin());
    if (!same_key) {
      if (batch.size() >= kEntitiesPerBatch) LARDER_RETURN_IF_ERROR(flush());
      aggregation::EntityEvents e;
      e.key.join_keys = join_keys.names;
      e.key.values.assign(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(nkeys));
      batch.push_back(std::move(e));
    }
    std::vector<Value> values(
        std::make_move_iterator(row.begin() + static_cast<std::ptrdiff_t>(nkeys + 1)),
        std::make_move_iterator(row.end()));
    batch.back().events.push_back(
        aggregation::MakeEvent(row[nkeys].int64_value(), std::move(values)));
  }
  LARDER_RETURN_IF_ERROR(flush());
  done->rows = static_cast<int64_t>(rows.size());
  return Status::OK();
}

}  // namespace larder::materialize
