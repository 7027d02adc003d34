#include "larder/definitions.h"

namespace larder {

std::string_view DataSourceKindName(DataSourceKind kind) {
  switch (kind) {
    case DataSourceKind::kFile: return "file";
    case DataSourceKind::kPush: return "push";
    case DataSourceKind::kModel: return "model";
    case DataSourceKind::kQuery: return "query";
  }
  return "file";
}

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kParquet: return "parquet";
    case FileFormat::kCsv: return "csv";
  }
  return "parquet";
}

std::string_view DataTestKindName(DataTestKind kind) {
  switch (kind) {
    case DataTestKind::kNotNull: return "not_null";
    case DataTestKind::kUnique: return "unique";
    case DataTestKind::kAcceptedValues: return "accepted_values";
    case DataTestKind::kAcceptedRange: return "accepted_range";
    case DataTestKind::kRelationships: return "relationships";
    case DataTestKind::kFreshness: return "freshness";
  }
  return "not_null";
}

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity: return "entity";
    case ObjectKind::kDataSource: return "data source";
    case ObjectKind::kSqlModel: return "sql model";
    case ObjectKind::kFeatureView: return "feature view";
    case ObjectKind::kFeatureService: return "feature service";
  }
  return "object";
}

}  // namespace larder
