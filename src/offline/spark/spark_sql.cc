#include "offline/spark/spark_sql.h"

#include <filesystem>

namespace larder::offline::spark {

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\0') continue;
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string ModelDatabase(const FeatureRepo& repo) {
  const auto& options = repo.config.offline_store.options;
  auto it = options.find("database");
  return it != options.end() ? it->second : "larder_" + repo.config.project;
}

std::string ModelTable(const FeatureRepo& repo, std::string_view model) {
  return QuoteIdentifier(ModelDatabase(repo)) + "." + QuoteIdentifier(model);
}

std::string FileRelation(std::string_view format, std::string_view path) {
  return std::string(format) + "." + QuoteIdentifier(path);
}

std::string MicrosSql(const std::string& column, const std::string& type) {
  if (type == "TIMESTAMP WITH TIME ZONE") return "unix_micros(" + column + ")";
  return "unix_micros(CAST(" + column + " AS TIMESTAMP))";
}

namespace {

// A path as Spark reads it: a URI (s3a://, hdfs://) as is, a relative local
// path under the repo root.
std::string SparkPath(const FeatureRepo& repo, const std::string& text) {
  std::filesystem::path path(text);
  if (text.find("://") == std::string::npos && path.is_relative()) {
    path = std::filesystem::path(repo.root) / path;
  }
  return path.lexically_normal().string();
}

// A `spark` source: its table (each part of database.table quoted), its
// query, or its files in their format.
std::string SparkSourceRelation(const FeatureRepo& repo, const DataSource& source) {
  if (!source.table.empty()) {
    std::string name;
    size_t start = 0;
    while (true) {
      const size_t dot = source.table.find('.', start);
      name += QuoteIdentifier(std::string_view(source.table).substr(start, dot - start));
      if (dot == std::string::npos) break;
      name += ".";
      start = dot + 1;
    }
    return "(SELECT * FROM " + name + ")";
  }
  if (!source.path.empty()) {
    return "(SELECT * FROM " +
           FileRelation(FileFormatName(source.file_format), SparkPath(repo, source.path)) + ")";
  }
  return "(" + source.query + "\n)";
}

}  // namespace

Result<std::string> RawSourceRelation(const FeatureRepo& repo, const DataSource& source) {
  const std::string what = std::string(DataSourceKindName(source.kind)) + " source '" +
                           source.name + "'";
  switch (source.kind) {
    case DataSourceKind::kFile: {
      if (source.file_format != FileFormat::kParquet) {
        return Status::InvalidArgument(what + ": the spark offline store reads parquet files, not " +
                                       std::string(FileFormatName(source.file_format)) + " yet");
      }
      return "(SELECT * FROM " + FileRelation("parquet", SparkPath(repo, source.path)) + ")";
    }
    case DataSourceKind::kQuery:
      return "(" + source.query + "\n)";
    case DataSourceKind::kSpark:
      return SparkSourceRelation(repo, source);
    case DataSourceKind::kModel:
      return ModelTable(repo, source.model);
    case DataSourceKind::kPush:
    case DataSourceKind::kKinesis:
    case DataSourceKind::kKafka:
    case DataSourceKind::kDbt:
      break;
  }
  return Status::InvalidArgument(what + ": the spark offline store does not read " +
                                 std::string(DataSourceKindName(source.kind)) +
                                 " sources yet (it reads file, query, model and spark sources)");
}

Result<std::string> MappedSourceRelation(const FeatureRepo& repo, const DataSource& source,
                                         SparkConnectClient& client) {
  LARDER_ASSIGN_OR_RETURN(std::string raw, RawSourceRelation(repo, source));
  if (source.field_mapping.empty()) return raw;
  LARDER_ASSIGN_OR_RETURN(SparkColumns columns, client.Schema("SELECT * FROM " + raw));
  std::string select;
  for (const auto& [name, type] : columns) {
    select += select.empty() ? "" : ", ";
    select += QuoteIdentifier(name);
    if (auto it = source.field_mapping.find(name); it != source.field_mapping.end()) {
      select += " AS " + QuoteIdentifier(it->second);
    }
  }
  return "(SELECT " + select + " FROM " + raw + ")";
}

}  // namespace larder::offline::spark
