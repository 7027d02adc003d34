#include "materialize/records_from_rows.h"

#include "common/value_coercion.h"
#include "repo/feature_refs.h"

namespace larder::materialize {
namespace {

using repo::RowColumnName;

// The column of `rows` for `field`, or InvalidArgument naming it.
Result<const std::vector<Value>*> Column(const ColumnTable& rows, const DataSource& source,
                                         const std::string& field, std::string_view role) {
  const std::string name = RowColumnName(source, field);
  auto it = rows.find(name);
  if (it == rows.end()) {
    return Status::InvalidArgument("df: missing column `" + name + "` (" + std::string(role) +
                                   ")");
  }
  return &it->second;
}

// rows[column][row] as dtype `type`; `required` rejects a null.
Result<Value> Cell(const std::string& column, const std::vector<Value>& values, size_t row,
                   ValueType type, bool required) {
  const std::string where = "df." + column + "[" + std::to_string(row) + "]";
  if (values[row].is_null()) {
    if (required) return Status::InvalidArgument(where + ": null, and a value is required");
    return Value::Null();
  }
  Result<Value> v = CoerceValue(values[row], type);
  if (!v.ok()) return Status::InvalidArgument(where + ": " + v.status().message());
  return v;
}

constexpr ValueType kTimestamp{ScalarType::kUnixTimestamp, false};

// What every row of a view's pushed rows has: its entity key and event time.
struct RowFrame {
  const DataSource* source = nullptr;
  repo::JoinKeys keys;
  size_t rows = 0;
  std::vector<const std::vector<Value>*> key_columns;
  const std::vector<Value>* ts = nullptr;

  static Result<RowFrame> Of(const FeatureRepo& repo, const FeatureView& view,
                             const ColumnTable& rows) {
    RowFrame f;
    LARDER_ASSIGN_OR_RETURN(f.source, repo::RowSource(repo, view));
    LARDER_ASSIGN_OR_RETURN(f.keys, repo::ViewJoinKeys(repo, view));
    LARDER_ASSIGN_OR_RETURN(f.rows, ColumnTableRows(rows));
    for (const auto& key : f.keys.names) {
      LARDER_ASSIGN_OR_RETURN(f.key_columns.emplace_back(),
                              Column(rows, *f.source, key, "join key"));
    }
    LARDER_ASSIGN_OR_RETURN(f.ts,
                            Column(rows, *f.source, f.source->timestamp_field, "timestamp_field"));
    return f;
  }

  Result<EntityKey> Key(size_t r) const {
    EntityKey key;
    key.join_keys = keys.names;
    for (size_t k = 0; k < keys.names.size(); ++k) {
      LARDER_ASSIGN_OR_RETURN(Value v, Cell(RowColumnName(*source, keys.names[k]),
                                            *key_columns[k], r, keys.types[k], true));
      key.values.push_back(std::move(v));
    }
    return key;
  }

  Result<TimestampMicros> Time(size_t r) const {
    LARDER_ASSIGN_OR_RETURN(Value t, Cell(RowColumnName(*source, source->timestamp_field), *ts, r,
                                          kTimestamp, true));
    return t.timestamp_value();
  }
};

}  // namespace

Result<std::vector<OnlineRecord>> RecordsFromRows(const FeatureRepo& repo, const FeatureView& view,
                                                  const ColumnTable& rows) {
  LARDER_ASSIGN_OR_RETURN(RowFrame frame, RowFrame::Of(repo, view, rows));
  const DataSource* source = frame.source;
  const std::vector<Value>* created = nullptr;
  if (!source->created_timestamp_column.empty()) {
    auto it = rows.find(RowColumnName(*source, source->created_timestamp_column));
    if (it != rows.end()) created = &it->second;
  }
  std::vector<const std::vector<Value>*> feature_columns;
  for (const auto& f : view.schema) {
    LARDER_ASSIGN_OR_RETURN(feature_columns.emplace_back(),
                            Column(rows, *source, f.name, "feature of view " + view.name));
  }

  std::vector<OnlineRecord> records(frame.rows);
  for (size_t r = 0; r < frame.rows; ++r) {
    OnlineRecord& record = records[r];
    LARDER_ASSIGN_OR_RETURN(record.entity_key, frame.Key(r));
    LARDER_ASSIGN_OR_RETURN(record.event_timestamp, frame.Time(r));
    if (created != nullptr) {
      LARDER_ASSIGN_OR_RETURN(
          Value c, Cell(RowColumnName(*source, source->created_timestamp_column), *created, r,
                        kTimestamp, false));
      if (!c.is_null()) record.created_timestamp = c.timestamp_value();
    }
    record.values.reserve(view.schema.size());
    for (size_t f = 0; f < view.schema.size(); ++f) {
      LARDER_ASSIGN_OR_RETURN(Value v, Cell(RowColumnName(*source, view.schema[f].name),
                                            *feature_columns[f], r, view.schema[f].dtype, false));
      record.values.push_back(std::move(v));
    }
  }
  return records;
}

Result<std::vector<aggregation::EntityEvents>> EventsFromRows(const FeatureRepo& repo,
                                                             const FeatureView& view,
                                                             const ColumnTable& rows) {
  LARDER_ASSIGN_OR_RETURN(RowFrame frame, RowFrame::Of(repo, view, rows));
  const std::vector<aggregation::AggregatedColumn> columns = aggregation::AggregatedColumns(view);
  std::vector<const std::vector<Value>*> value_columns;
  for (const auto& c : columns) {
    LARDER_ASSIGN_OR_RETURN(
        value_columns.emplace_back(),
        Column(rows, *frame.source, c.name, "aggregated by feature view " + view.name));
  }
  std::vector<aggregation::EntityEvents> out(frame.rows);
  for (size_t r = 0; r < frame.rows; ++r) {
    LARDER_ASSIGN_OR_RETURN(out[r].key, frame.Key(r));
    LARDER_ASSIGN_OR_RETURN(const TimestampMicros time, frame.Time(r));
    std::vector<Value> values;
    for (size_t c = 0; c < columns.size(); ++c) {
      LARDER_ASSIGN_OR_RETURN(Value v, Cell(RowColumnName(*frame.source, columns[c].name),
                                            *value_columns[c], r, columns[c].dtype, false));
      values.push_back(std::move(v));
    }
    out[r].events.push_back(aggregation::MakeEvent(time, std::move(values)));
  }
  return out;
}

}  // namespace larder::materialize
