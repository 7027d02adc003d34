// The list and describe commands. They read the registry, not the repo's
// files: they show what is registered.
#include <functional>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "cli/table_printer.h"
#include "registry/definition_json.h"

namespace larder::cli {
namespace {

// Opens the store, loads the registered project and hands it to `print`.
int WithRegistered(const Invocation& inv, Output& o,
                   const std::function<int(const FeatureRepo&)>& print) {
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<FeatureRepo> repo = store->Registered();
  if (!repo.ok()) return ReportError(o, repo.status());
  return print(*repo);
}

std::string Abbreviated(const std::string& text) {
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

std::string SourceDetail(const DataSource& s) {
  switch (s.kind) {
    case DataSourceKind::kFile: return s.path;
    case DataSourceKind::kPush: return "batch_source: " + s.batch_source;
    case DataSourceKind::kKinesis:
      return "stream " + s.stream_name + " (" + s.region + "), batch_source: " + s.batch_source;
    case DataSourceKind::kKafka:
      return "topic " + s.topic + " (" + s.bootstrap_servers + "), batch_source: " + s.batch_source;
    case DataSourceKind::kModel: return "models/" + s.model + ".sql";
    case DataSourceKind::kQuery: return Abbreviated(s.query);
    case DataSourceKind::kDbt: return "dbt model " + s.model + " in " + s.project_dir;
    case DataSourceKind::kSpark:
      if (!s.table.empty()) return "table " + s.table;
      if (!s.path.empty()) return std::string(FileFormatName(s.file_format)) + " " + s.path;
      return Abbreviated(s.query);
  }
  return "";
}

std::string ServiceItems(const FeatureService& s) {
  std::vector<std::string> items;
  for (const auto& item : s.features) {
    if (item.features.empty()) {
      items.push_back(item.feature_view);
    } else {
      items.push_back(item.feature_view + "[" + JoinComma(item.features) + "]");
    }
  }
  return JoinComma(items);
}

template <typename T>
int Describe(const std::vector<T>& items, const std::string& name, std::string_view kind,
             std::string_view list_command, Output& o) {
  for (const auto& item : items) {
    if (item.name == name) {
      o.out << ToJson(item).dump(2) << "\n";
      return kExitOk;
    }
  }
  return ReportError(o, Status::NotFound("no registered " + std::string(kind) + " '" + name +
                                         "' (see `larder " + std::string(list_command) + "`)"));
}

}  // namespace

int EntitiesListCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    TablePrinter t({"NAME", "JOIN KEYS", "VALUE TYPE", "DESCRIPTION"});
    for (const auto& e : repo.entities) {
      t.AddRow({e.name, JoinComma(e.join_keys), ValueTypeName(e.value_type), e.description});
    }
    t.Print(o.out);
    return kExitOk;
  });
}

int DataSourcesListCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    TablePrinter t({"NAME", "TYPE", "DETAIL", "TIMESTAMP FIELD"});
    for (const auto& s : repo.data_sources) {
      t.AddRow({s.name, std::string(DataSourceKindName(s.kind)), SourceDetail(s),
                s.timestamp_field});
    }
    t.Print(o.out);
    return kExitOk;
  });
}

int ModelsListCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    TablePrinter t({"NAME", "FILE"});
    for (const auto& m : repo.models) t.AddRow({m.name, "models/" + m.name + ".sql"});
    t.Print(o.out);
    return kExitOk;
  });
}

int FeatureViewsListCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    TablePrinter t({"NAME", "ENTITIES", "TTL", "SOURCE", "FEATURES"});
    for (const auto& v : repo.feature_views) {
      std::vector<std::string> features;
      for (const auto& f : ViewFeatures(v)) features.push_back(f.name);
      t.AddRow({v.name, JoinComma(v.entities), FormatDuration(v.ttl), v.source,
                JoinComma(features)});
    }
    t.Print(o.out);
    return kExitOk;
  });
}

int FeatureViewsDescribeCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    return Describe(repo.feature_views, inv.args[0], "feature view", "feature-views list", o);
  });
}

int FeatureServicesListCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    TablePrinter t({"NAME", "FEATURES"});
    for (const auto& s : repo.feature_services) t.AddRow({s.name, ServiceItems(s)});
    t.Print(o.out);
    return kExitOk;
  });
}

int FeatureServicesDescribeCommand(const Invocation& inv, Output& o) {
  return WithRegistered(inv, o, [&](const FeatureRepo& repo) {
    return Describe(repo.feature_services, inv.args[0], "feature service", "feature-services list", o);
  });
}

}  // namespace larder::cli
