// ValidateFeatureRepo: the checks that span objects, and the checks of
// definitions against the data files they read.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "larder/repo.h"
#include "repo/column_types.h"
#include "repo/dbt_project.h"
#include "repo/diagnostics.h"
#include "repo/validate.h"

namespace larder {
namespace {
using repo::ColumnHolds;
using repo::DtypeOfColumn;
using repo::IsTimeColumn;

template <typename T>
void CheckUnique(const std::vector<T>& items, std::string_view kind,
                 repo::Diagnostics* diag) {
  std::map<std::string, const T*> seen;
  for (const auto& item : items) {
    auto [it, inserted] = seen.emplace(item.name, &item);
    if (!inserted) {
      const SourceLocation& first = it->second->location;
      diag->Error(item.location.file, item.location.line,
                  std::string(kind) + " '" + item.name + "' is defined twice; first at " +
                      first.file + ":" + std::to_string(first.line));
    }
  }
}

// Whether `plan` reads the columns of a source of `kind` (through the schema
// resolver): file sources' files and the relations dbt built.
bool HasReadableColumns(DataSourceKind kind) {
  return kind == DataSourceKind::kFile || kind == DataSourceKind::kDbt ||
         kind == DataSourceKind::kSpark;
}

// The field of a source that says where its rows are, for messages.
std::string_view LocatingField(const DataSource& s) {
  switch (s.kind) {
    case DataSourceKind::kDbt: return "model";
    case DataSourceKind::kSpark:
      return !s.table.empty() ? "table" : !s.query.empty() ? "query" : "path";
    default: return "path";
  }
}

// Why the spark offline store cannot read `s` (which source kinds and
// formats it does not read yet), or "" when it can.
std::string NotReadBySpark(const DataSource& s) {
  switch (s.kind) {
    case DataSourceKind::kFile:
      if (s.file_format == FileFormat::kParquet) return "";
      return "field `path`: a " + std::string(FileFormatName(s.file_format)) + " file";
    case DataSourceKind::kModel:
    case DataSourceKind::kQuery:
    case DataSourceKind::kSpark:
      return "";
    case DataSourceKind::kPush:
    case DataSourceKind::kKinesis:
    case DataSourceKind::kKafka:
      return "field `type`: a " + std::string(DataSourceKindName(s.kind)) +
             " source lands rows offline";
    case DataSourceKind::kDbt:
      return "field `type`: a dbt source lives in dbt-duckdb's file";
  }
  return "";
}

// How messages describe where a readable source's rows are.
std::string DescribeRows(const DataSource& s) {
  switch (s.kind) {
    case DataSourceKind::kDbt: return "dbt model " + s.model + " in " + s.project_dir;
    case DataSourceKind::kSpark:
      if (!s.table.empty()) return "Spark table " + s.table;
      if (!s.query.empty()) return "its Spark query";
      return std::string(FileFormatName(s.file_format)) + " " + s.path;
    default: return s.path;
  }
}


// The columns a view sees from a file source: after field_mapping.
struct SourceColumns {
  std::string described;                        // "data/raw/users.parquet"
  std::map<std::string, std::string> raw;       // name -> type, as in the file
  std::map<std::string, std::string> mapped;    // name -> type, after mapping
  std::string ListMapped() const {
    std::string out;
    for (const auto& [name, type] : mapped) out += (out.empty() ? "" : ", ") + name;
    return out;
  }
};

class Validator {
 public:
  Validator(FeatureRepo& repo, const LoadOptions& options, repo::Diagnostics* diag)
      : repo_(repo), options_(options), diag_(diag) {}

  void Run() {
    CheckUnique(repo_.entities, "entity", diag_);
    CheckUnique(repo_.data_sources, "data source", diag_);
    CheckUnique(repo_.models, "sql model", diag_);
    CheckUnique(repo_.feature_views, "feature view", diag_);
    CheckUnique(repo_.feature_services, "feature service", diag_);
    for (const auto& e : repo_.entities) CheckEntity(e);
    for (const auto& s : repo_.data_sources) CheckSource(s);
    for (auto& v : repo_.feature_views) CheckView(v);
    for (const auto& s : repo_.feature_services) CheckService(s);
    for (const auto& m : repo_.models) CheckModelTests(m);
  }

 private:
  void Error(const SourceLocation& loc, const std::string& message) {
    diag_->Error(loc.file, loc.line, message);
  }

  void CheckEntity(const Entity& e) {
    std::set<std::string> keys;
    for (const auto& k : e.join_keys) {
      if (!keys.insert(k).second) {
        Error(e.location, "entity '" + e.name + "': field `join_keys`: `" + k +
                              "` is listed twice");
      }
    }
  }

  void CheckSource(const DataSource& s) {
    std::string what = "data source '" + s.name + "'";
    if (ReceivesRows(s.kind)) {
      const DataSource* batch = repo_.FindDataSource(s.batch_source);
      if (batch == nullptr) {
        Error(s.location, what + ": field `batch_source`: unknown data source '" +
                              s.batch_source + "'");
      } else if (ReceivesRows(batch->kind)) {
        Error(s.location, what + ": field `batch_source`: '" + s.batch_source + "' is a " +
                              std::string(DataSourceKindName(batch->kind)) +
                              " source; it must be a file or model source");
      } else if (batch->kind == DataSourceKind::kDbt) {
        Error(s.location, what + ": field `batch_source`: '" + s.batch_source +
                              "' is a dbt source, which cannot keep pushed rows (Larder "
                              "never writes dbt's database); use a file or model source");
      }
    }
    if (s.kind == DataSourceKind::kModel && repo_.FindModel(s.model) == nullptr) {
      Error(s.location, what + ": field `model`: no SQL model '" + s.model +
                            "' (expected models/" + s.model + ".sql)");
    }
    if (s.kind == DataSourceKind::kSpark && repo_.config.offline_store.type != "spark") {
      Error(s.location, what + ": field `type`: `spark` sources are read by the spark "
                               "offline store, and this repo's is `" +
                            repo_.config.offline_store.type +
                            "` (set offline_store: {type: spark, remote: ...} in "
                            "feature_store.yaml; docs/spark.md)");
      return;
    }
    if (repo_.config.offline_store.type == "spark") {
      if (std::string why = NotReadBySpark(s); !why.empty()) {
        Error(s.location, what + ": " + why + "; the spark offline store does not read it yet "
                                              "(docs/spark.md)");
        return;
      }
    }
    if (HasReadableColumns(s.kind)) Columns(s);  // reports unreadable data
  }

  void CheckView(FeatureView& v) {
    std::string what = "feature view '" + v.name + "'";
    std::set<std::string> seen_entities;
    for (const auto& name : v.entities) {
      if (!seen_entities.insert(name).second) {
        Error(v.location, what + ": field `entities`: '" + name + "' is listed twice");
      } else if (repo_.FindEntity(name) == nullptr) {
        Error(v.location, what + ": field `entities`: unknown entity '" + name + "'");
      }
    }
    if (v.schema.empty() && v.aggregations.empty()) {
      Error(v.location, what + ": field `schema`: lists no features (only join keys)");
    }
    for (const auto& col : v.entity_columns) {
      for (const auto& name : v.entities) {
        const Entity* e = repo_.FindEntity(name);
        if (e == nullptr) continue;
        bool is_key = std::find(e->join_keys.begin(), e->join_keys.end(), col.name) !=
                      e->join_keys.end();
        if (is_key && !(col.dtype == e->value_type)) {
          Error(col.location, what + ": field '" + col.name + "': dtype " +
                                  ValueTypeName(col.dtype) + " differs from entity '" +
                                  e->name + "' value_type " + ValueTypeName(e->value_type));
        }
      }
    }
    const DataSource* source = repo_.FindDataSource(v.source);
    if (source == nullptr) {
      Error(v.location, what + ": field `source`: unknown data source '" + v.source + "'");
      return;
    }
    // A push source's columns are those of its batch source.
    const DataSource* data = source;
    if (ReceivesRows(source->kind)) data = repo_.FindDataSource(source->batch_source);
    CheckAggregations(v, *source, data);
    if (data == nullptr || !HasReadableColumns(data->kind)) return;
    const SourceColumns* cols = Columns(*data);
    if (cols == nullptr) return;
    std::string in = " is not a column of data source '" + data->name + "' (" +
                     cols->described + "; columns: " + cols->ListMapped() + ")";
    for (const auto& name : v.entities) {
      const Entity* e = repo_.FindEntity(name);
      if (e == nullptr) continue;
      for (const auto& key : e->join_keys) {
        if (!cols->mapped.contains(key)) {
          Error(v.location, what + ": join key `" + key + "` of entity '" + e->name + "'" + in);
        }
      }
    }
    for (const auto& f : v.schema) {
      auto it = cols->mapped.find(f.name);
      if (it == cols->mapped.end()) {
        Error(f.location, what + ": feature `" + f.name + "`" + in);
      } else if (!ColumnHolds(f.dtype, it->second)) {
        Error(f.location, what + ": feature `" + f.name + "` is declared " +
                              ValueTypeName(f.dtype) + " but column `" + f.name + "` in " +
                              cols->described + " is " + it->second);
      }
    }
  }

  // The aggregations of `v`, whose source is `source` and whose rows have
  // the columns of `data` (source, or a push source's batch source; nullptr
  // when unknown). Fills each aggregation's name and column_dtype.
  void CheckAggregations(FeatureView& v, const DataSource& source, const DataSource* data) {
    if (v.aggregations.empty()) return;
    const std::string what = "feature view '" + v.name + "'";
    const bool push = ReceivesRows(source.kind);
    if (!HasReadableColumns(source.kind) && !push) {
      Error(v.location, what + ": field `source`: a view with aggregations reads a file, dbt, "
                               "spark or push source, not " +
                            std::string(DataSourceKindName(source.kind)) + " source '" +
                            source.name + "'");
      return;
    }
    if (data == nullptr) return;  // the push source's error names it
    if (data->timestamp_field.empty()) {
      Error(v.location, what + ": field `source`: data source '" + data->name +
                            "' has no timestamp_field, which aggregations need");
      return;
    }
    // Output names must be new features: not schema features, join keys or
    // another aggregation's output.
    std::map<std::string, std::string> taken;  // name -> what it already is
    for (const auto& f : v.schema) taken[f.name] = "a feature of `schema`";
    std::set<std::string> join_keys;
    for (const auto& name : v.entities) {
      const Entity* e = repo_.FindEntity(name);
      if (e == nullptr) continue;
      for (const auto& key : e->join_keys) {
        join_keys.insert(key);
        taken[key] = "a join key of entity '" + e->name + "'";
      }
    }
    const std::string timestamp = RowField(*data, data->timestamp_field);
    const SourceColumns* cols = HasReadableColumns(data->kind) ? Columns(*data) : nullptr;
    for (auto& a : v.aggregations) {
      if (a.name.empty()) a.name = AggregationDefaultName(a);
      const std::string agg = what + " aggregation '" + a.name + "'";
      auto [it, inserted] = taken.emplace(
          a.name, "the output of the aggregation at " + a.location.file + ":" +
                      std::to_string(a.location.line));
      if (!inserted) {
        Error(a.location, agg + ": output name `" + a.name + "` is already " + it->second +
                              "; give this aggregation another `name`");
      }
      if (a.column == timestamp) {
        Error(a.location, agg + ": field `column`: `" + a.column +
                              "` is the event timestamp of data source '" + data->name +
                              "'; aggregate another column");
        continue;
      }
      if (join_keys.contains(a.column)) {
        Error(a.location, agg + ": field `column`: `" + a.column +
                              "` is a join key of the view; aggregate another column");
        continue;
      }
      if (!ResolveColumnDtype(a, agg, *data, cols)) continue;
      Status fits = CheckAggregationFits(a.function, a.column_dtype);
      if (!fits.ok()) {
        Error(a.location, agg + ": field `function`: " + fits.message() + " (column `" +
                              a.column + "`)");
      }
    }
  }

  // Sets a.column_dtype from the source's columns `cols` (nullptr when they
  // cannot be read), or checks the given `dtype` against them. False, after
  // an error, when the dtype is not known.
  bool ResolveColumnDtype(Aggregation& a, const std::string& agg, const DataSource& data,
                          const SourceColumns* cols) {
    if (cols == nullptr) {
      if (a.dtype_given) return true;
      if (HasReadableColumns(data.kind) && options_.schema_resolver) {
        return false;  // the unreadable data is reported on its source
      }
      std::string why;
      switch (data.kind) {
        case DataSourceKind::kModel:
          why = "the columns of model source '" + data.name +
                "' cannot be read before its table is built";
          break;
        case DataSourceKind::kQuery:
          why = "the columns of query source '" + data.name + "' are known only when it runs";
          break;
        default:
          why = "source validation is skipped, so the files of data source '" + data.name +
                "' are not read";
      }
      Error(a.location, agg + ": field `dtype`: required, since " + why +
                            "; give the column's dtype, e.g. dtype: Float64");
      return false;
    }
    auto it = cols->mapped.find(a.column);
    if (it == cols->mapped.end()) {
      Error(a.location, agg + ": field `column`: `" + a.column +
                            "` is not a column of data source '" + data.name + "' (" +
                            cols->described + "; columns: " + cols->ListMapped() + ")");
      return false;
    }
    if (a.dtype_given) {
      if (ColumnHolds(a.column_dtype, it->second)) return true;
      Error(a.location, agg + ": field `dtype`: " + ValueTypeName(a.column_dtype) +
                            " does not fit column `" + a.column + "` in " + cols->described +
                            ", which is " + it->second);
      return false;
    }
    std::optional<ValueType> dtype = DtypeOfColumn(it->second);
    if (!dtype) {
      Error(a.location, agg + ": field `column`: `" + a.column + "` in " + cols->described +
                            " is " + it->second + ", which no dtype holds");
      return false;
    }
    a.column_dtype = *dtype;
    return true;
  }

  // The name a view sees for source column `column`: after field_mapping.
  static std::string RowField(const DataSource& source, const std::string& column) {
    auto it = source.field_mapping.find(column);
    return it == source.field_mapping.end() ? column : it->second;
  }

  void CheckService(const FeatureService& s) {
    std::string what = "feature service '" + s.name + "'";
    std::set<std::string> views;
    for (const auto& item : s.features) {
      const FeatureView* v = repo_.FindFeatureView(item.feature_view);
      if (v == nullptr) {
        Error(s.location, what + ": field `features`: unknown feature view '" +
                              item.feature_view + "'");
        continue;
      }
      if (!views.insert(item.feature_view).second) {
        Error(s.location, what + ": field `features`: feature view '" + item.feature_view +
                              "' is listed twice; list its features once");
      }
      std::set<std::string> chosen;
      const std::vector<Field> features = ViewFeatures(*v);
      for (const auto& f : item.features) {
        bool exists = std::any_of(features.begin(), features.end(),
                                  [&](const Field& field) { return field.name == f; });
        if (!exists) {
          Error(s.location, what + ": field `features`: feature view '" + v->name +
                                "' has no feature `" + f + "`");
        } else if (!chosen.insert(f).second) {
          Error(s.location, what + ": field `features`: feature `" + v->name + ":" + f +
                                "` is listed twice");
        }
      }
    }
  }

  void CheckModelTests(const SqlModel& m) {
    for (const auto& t : m.tests) {
      if (t.kind == DataTestKind::kRelationships && repo_.FindModel(t.to) == nullptr &&
          repo_.FindDataSource(t.to) == nullptr) {
        Error(t.location, "model '" + m.name + "' column '" + t.column +
                              "' test relationships: field `to`: '" + t.to +
                              "' is neither a model nor a data source");
      }
    }
  }

  // The file source's columns, read once; nullptr (after reporting) when the
  // files cannot be read, or when no resolver was given.
  const SourceColumns* Columns(const DataSource& s) {
    if (!options_.schema_resolver) return nullptr;
    auto cached = columns_.find(s.name);
    if (cached != columns_.end()) return cached->second ? &*cached->second : nullptr;
    std::optional<SourceColumns>& slot = columns_[s.name];
    std::string path;
    if (s.kind == DataSourceKind::kDbt) {
      path = repo::DbtProjectDir(repo_.root, s);
    } else if (s.kind == DataSourceKind::kSpark) {
      path = s.path;  // the spark store resolves its own paths and URIs
    } else {
      std::filesystem::path p(s.path);
      if (p.is_relative()) p = std::filesystem::path(repo_.root) / p;
      path = p.string();
    }
    Result<std::vector<ColumnInfo>> schema = options_.schema_resolver(s, path);
    std::string what = "data source '" + s.name + "'";
    if (!schema.ok()) {
      Error(s.location, what + ": field `" + std::string(LocatingField(s)) + "`: " +
                            schema.status().message());
      return nullptr;
    }
    SourceColumns cols;
    cols.described = DescribeRows(s);
    for (const auto& c : *schema) cols.raw[c.name] = c.type;
    for (const auto& [from, to] : s.field_mapping) {
      if (!cols.raw.contains(from)) {
        Error(s.location, what + ": field `field_mapping`: `" + from +
                              "` is not a column of " + cols.described);
      }
    }
    for (const auto& [name, type] : cols.raw) {
      auto m = s.field_mapping.find(name);
      cols.mapped[m == s.field_mapping.end() ? name : m->second] = type;
    }
    auto check_time = [&](std::string_view key, const std::string& column) {
      if (column.empty()) return;
      auto it = cols.raw.find(column);
      if (it == cols.raw.end()) {
        Error(s.location, what + ": field `" + std::string(key) + "`: `" + column +
                              "` is not a column of " + cols.described);
      } else if (!IsTimeColumn(it->second)) {
        Error(s.location, what + ": field `" + std::string(key) + "`: column `" + column +
                              "` is " + it->second + ", not a timestamp or date");
      }
    };
    check_time("timestamp_field", s.timestamp_field);
    check_time("created_timestamp_column", s.created_timestamp_column);
    slot = std::move(cols);
    return &*slot;
  }

  FeatureRepo& repo_;
  const LoadOptions& options_;
  repo::Diagnostics* diag_;
  std::map<std::string, std::optional<SourceColumns>> columns_;
};

}  // namespace

Status ValidateFeatureRepo(const FeatureRepo& repo, const LoadOptions& options) {
  FeatureRepo copy = repo;
  return repo::ValidateAndResolve(&copy, options);
}

Status repo::ValidateAndResolve(FeatureRepo* repo, const LoadOptions& options) {
  repo::Diagnostics diag;
  Validator(*repo, options, &diag).Run();
  return diag.ToStatus("feature repo " + repo->root + " is invalid");
}

}  // namespace larder
