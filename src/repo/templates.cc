#include "repo/templates.h"

#include <filesystem>
#include <fstream>

namespace larder::repo {
namespace fs = std::filesystem;

std::span<const TemplateFile> MinimalTemplateFiles() {
  static const TemplateFile kFiles[] = {
      {"feature_store.yaml",
       "project: my_project\n"
       "registry: data/registry.db\n"
       "provider: local\n"
       "online_store:\n"
       "  type: rocksdb\n"
       "  path: data/online_store\n"
       "offline_store:\n"
       "  type: duckdb\n"
       "entity_key_serialization_version: 3\n"},
      {"definitions.yaml",
       "entities:\n"
       "  - name: user\n"
       "    join_keys: [user_id]\n"
       "    value_type: Int64\n"
       "\n"
       "data_sources:\n"
       "  - name: user_stats_source\n"
       "    type: file\n"
       "    path: data/user_stats.csv\n"
       "    timestamp_field: event_timestamp\n"
       "    created_timestamp_column: created\n"
       "\n"
       "feature_views:\n"
       "  - name: user_stats\n"
       "    entities: [user]\n"
       "    ttl: 30d\n"
       "    schema:\n"
       "      - {name: books_read, dtype: Int64}\n"
       "      - {name: avg_rating, dtype: Float64}\n"
       "    source: user_stats_source\n"
       "\n"
       "feature_services:\n"
       "  - name: user_service\n"
       "    features: [user_stats]\n"},
      {"data/user_stats.csv",
       "user_id,books_read,avg_rating,event_timestamp,created\n"
       "1001,12,7.5,2024-01-01 00:00:00,2024-01-01 00:05:00\n"
       "1002,3,8.25,2024-01-01 00:00:00,2024-01-01 00:05:00\n"
       "1001,14,7.75,2024-01-02 00:00:00,2024-01-02 00:05:00\n"},
  };
  return kFiles;
}

Status WriteTemplate(std::string_view name, const std::string& dir) {
  std::span<const TemplateFile> files;
  if (name == "minimal") {
    files = MinimalTemplateFiles();
  } else if (name == "book_recs") {
    files = BookRecsTemplateFiles();
  } else {
    return Status::InvalidArgument("unknown template `" + std::string(name) +
                                   "` (minimal or book_recs)");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status::AlreadyExists("directory " + dir + " is not empty; choose a new one");
  }
  for (const auto& f : files) {
    fs::path path = fs::path(dir) / f.path;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Status::IOError("cannot create " + path.parent_path().string() + ": " + ec.message());
    std::ofstream out(path, std::ios::binary);
    out << f.content;
    out.close();
    if (!out) return Status::IOError("cannot write " + path.string());
  }
  return Status::OK();
}

}  // namespace larder::repo
