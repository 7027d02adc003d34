#include "server/feature_endpoints.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "server/request_parsers.h"

namespace larder::server {
namespace {

using Json = nlohmann::json;

HttpResponse Error(int status, std::string_view message) {
  return {status, JsonErrorBody(message)};
}

bool IsStoreError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kBusy:
      return false;
    default:
      return true;
  }
}

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kBusy:
      return 503;
    default:
      return 500;
  }
}

// Equal strings, in time that depends on the lengths only.
bool SameToken(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

enum class Access { kOpen, kRead, kWrite };

struct Route {
  std::string_view path;
  std::string_view method;
  Access access;
};

constexpr Route kRoutes[] = {
    {"/health", "GET", Access::kOpen},
    {"/get-online-features", "POST", Access::kRead},
    {"/metrics", "GET", Access::kRead},
    {"/push", "POST", Access::kWrite},
    {"/write-to-online-store", "POST", Access::kWrite},
    {"/delete-from-online-store", "POST", Access::kWrite},
    {"/materialize", "POST", Access::kWrite},
    {"/materialize-incremental", "POST", Access::kWrite},
};

Json WritesJson(const PushReport& report) {
  Json online = Json::array();
  for (const auto& v : report.online) {
    online.push_back({{"feature_view", v.view}, {"written", v.written}, {"skipped", v.skipped}});
  }
  return {{"rows", report.rows}, {"offline_rows", report.offline_rows}, {"online", online}};
}

Json MaterializeJson(const MaterializeReport& report) {
  Json views = Json::array();
  for (const auto& v : report.views) {
    views.push_back({{"feature_view", v.view},
                     {"rows", v.rows},
                     {"written", v.written},
                     {"skipped", v.skipped},
                     {"seconds", v.seconds}});
  }
  return {{"views", views}};
}

class Endpoints {
 public:
  Endpoints(FeatureEndpointTargets targets, FeatureEndpointOptions options)
      : targets_(targets), options_(std::move(options)) {}

  HttpResponse Handle(const HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    const std::string_view path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    HttpResponse response = Route(path, request);
    if (targets_.metrics != nullptr) {
      targets_.metrics->Record(
          path, response.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return response;
  }

 private:
  HttpResponse Route(std::string_view path, const HttpRequest& request) {
    for (const auto& route : kRoutes) {
      if (route.path != path) continue;
      if (request.method != route.method) {
        return Error(405, std::string(path) + " takes " + std::string(route.method));
      }
      if (!Allowed(request, route.access)) {
        return Error(401, std::string("Authorization: a valid bearer token is required") +
                              (route.access == Access::kWrite ? " (the write token)" : ""));
      }
      if (path == "/health") return {200, "{\"status\":\"ok\"}"};
      if (path == "/get-online-features") return GetOnlineFeatures(request.body);
      if (path == "/metrics") return Metrics();
      return Write(path, request.body);
    }
    return Error(404, "unknown path " + std::string(path) +
                          " (endpoints: GET /health, /metrics; POST /get-online-features, "
                          "/push, /write-to-online-store, /delete-from-online-store, /materialize, "
                          "/materialize-incremental)");
  }

  bool Allowed(const HttpRequest& request, Access access) const {
    const std::string& read = options_.auth_token;
    const std::string& write = options_.write_token.empty() ? read : options_.write_token;
    if (access == Access::kOpen || (access == Access::kRead && read.empty()) ||
        (access == Access::kWrite && write.empty())) {
      return true;
    }
    constexpr std::string_view kScheme = "bearer ";
    const std::string& header = request.authorization;
    if (header.size() <= kScheme.size() ||
        !std::equal(kScheme.begin(), kScheme.end(), header.begin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      return false;
    }
    const std::string_view token = std::string_view(header).substr(kScheme.size());
    if (access == Access::kWrite) return SameToken(token, write);
    return SameToken(token, read) || SameToken(token, write);
  }

  HttpResponse Failed(const Status& status) {
    if (IsStoreError(status) && targets_.metrics != nullptr) targets_.metrics->AddOnlineStoreError();
    return Error(HttpStatusOf(status), status.message());
  }

  HttpResponse TooMany(const std::string& where, size_t rows) const {
    return Error(413, where + ": " + std::to_string(rows) + " rows, more than the limit of " +
                          std::to_string(options_.max_entity_rows));
  }

  HttpResponse GetOnlineFeatures(const std::string& body) {
    Result<OnlineFeaturesRequest> parsed = ParseOnlineFeaturesRequest(body);
    if (!parsed.ok()) return Error(400, parsed.status().message());
    for (const auto& [join_key, column] : parsed->entity_rows) {
      if (column.size() > options_.max_entity_rows) {
        return TooMany("entities." + join_key, column.size());
      }
    }
    Result<OnlineFeaturesResponse> response = targets_.service->GetOnlineFeatures(*parsed);
    if (!response.ok()) return Failed(response.status());
    return {200, response->ToJson()};
  }

  HttpResponse Metrics() {
    if (targets_.metrics == nullptr) return Error(404, "/metrics: metrics are off");
    targets_.metrics->SetRegistryVersion(targets_.service->ServedVersion());
    return {200, targets_.metrics->Render(), "text/plain; version=0.0.4"};
  }

  // The write endpoints: one at a time, since they share the FeatureStore.
  // A write that cannot start within a few seconds (a long materialization
  // is running) gets 503 rather than holding its worker.
  HttpResponse Write(std::string_view path, const std::string& body) {
    if (targets_.store == nullptr) return Error(404, std::string(path) + ": writes are off");
    std::unique_lock lock(write_mu_, std::chrono::seconds(5));
    if (!lock.owns_lock()) return Error(503, "another write is in progress; retry later");
    if (path == "/push") return Push(body);
    if (path == "/write-to-online-store") return WriteToOnlineStore(body);
    if (path == "/delete-from-online-store") return DeleteFromOnlineStore(body);
    return Materialize(body, path == "/materialize-incremental");
  }

  HttpResponse Push(const std::string& body) {
    Result<PushBody> push = ParsePushRequest(body);
    if (!push.ok()) return Error(400, push.status().message());
    if (const size_t rows = RowCount(push->df); rows > options_.max_entity_rows) {
      return TooMany("df", rows);
    }
    Result<PushReport> report = targets_.store->Push(push->push_source_name, push->df, push->to);
    if (!report.ok()) return Failed(report.status());
    CountRows(*report);
    return {200, WritesJson(*report).dump()};
  }

  HttpResponse WriteToOnlineStore(const std::string& body) {
    Result<WriteBody> write = ParseWriteRequest(body);
    if (!write.ok()) return Error(400, write.status().message());
    if (const size_t rows = RowCount(write->df); rows > options_.max_entity_rows) {
      return TooMany("df", rows);
    }
    Result<PushReport> report = targets_.store->WriteToOnlineStore(write->feature_view_name, write->df);
    if (!report.ok()) return Failed(report.status());
    CountRows(*report);
    return {200, WritesJson(*report).dump()};
  }

  HttpResponse DeleteFromOnlineStore(const std::string& body) {
    Result<DeleteBody> request = ParseDeleteRequest(body);
    if (!request.ok()) return Error(400, request.status().message());
    for (const auto& [join_key, column] : request->entities) {
      if (column.size() > options_.max_entity_rows) {
        return TooMany("entities." + join_key, column.size());
      }
    }
    Result<OnlineDeleteReport> report =
        targets_.store->DeleteOnline(request->entities, request->feature_views);
    if (!report.ok()) return Failed(report.status());
    return {200, Json{{"entities", report->entities}, {"feature_views", report->feature_views}}
                     .dump()};
  }

  HttpResponse Materialize(const std::string& body, bool incremental) {
    Result<MaterializeBody> request = ParseMaterializeRequest(body, incremental);
    if (!request.ok()) return Error(400, request.status().message());
    MaterializeOptions options;
    options.views = request->feature_views;
    Result<MaterializeReport> report =
        incremental ? targets_.store->MaterializeIncremental(request->end, options)
                    : targets_.store->Materialize(*request->start, request->end, options);
    if (!report.ok()) return Failed(report.status());
    return {200, MaterializeJson(*report).dump()};
  }

  void CountRows(const PushReport& report) {
    if (targets_.metrics == nullptr) return;
    if (report.offline_rows > 0) targets_.metrics->AddRowsPushed(false, report.offline_rows);
    for (const auto& v : report.online) targets_.metrics->AddRowsPushed(true, v.written + v.skipped);
  }

  const FeatureEndpointTargets targets_;
  const FeatureEndpointOptions options_;
  std::timed_mutex write_mu_;
};

}  // namespace

HttpHandler FeatureEndpoints(FeatureEndpointTargets targets, FeatureEndpointOptions options) {
  auto endpoints = std::make_shared<Endpoints>(targets, std::move(options));
  return [endpoints](const HttpRequest& request) { return endpoints->Handle(request); };
}

}  // namespace larder::server
