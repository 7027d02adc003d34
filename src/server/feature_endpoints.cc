#include "server/feature_endpoints.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "server/client_errors.h"
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
      : targets_(targets),
        options_(std::move(options)),
        write_mu_(targets.write_mutex != nullptr ? *targets.write_mutex : own_write_mu_) {}

  HttpResponse Handle(const HttpRequest& request) {
    const auto start = std::chrono::steady_clock::now();
    const std::string_view path = PathOf(request);
    HttpResponse response = Route(path, request);
    Record(path, response.status, start);
    return response;
  }

  // The head check: the refusal of a request that its method, path and
  // token already refuse, so that its body is never read.
  std::optional<HttpResponse> CheckHead(const HttpRequest& head) {
    const auto start = std::chrono::steady_clock::now();
    const std::string_view path = PathOf(head);
    std::optional<HttpResponse> refusal = Refusal(path, head);
    if (refusal) Record(path, refusal->status, start);
    return refusal;
  }

 private:
  static std::string_view PathOf(const HttpRequest& request) {
    return std::string_view(request.target).substr(0, request.target.find('?'));
  }

  void Record(std::string_view path, int status, std::chrono::steady_clock::time_point start) {
    if (targets_.metrics == nullptr) return;
    targets_.metrics->Record(
        path, status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  // 404 an unknown path, 405 a wrong method, 401 a missing or wrong token;
  // nullopt when the request may go on.
  std::optional<HttpResponse> Refusal(std::string_view path, const HttpRequest& request) const {
    for (const auto& route : kRoutes) {
      if (route.path != path) continue;
      if (request.method != route.method) {
        return Error(405, std::string(path) + " takes " + std::string(route.method));
      }
      if (!Allowed(request, route.access)) {
        return Error(401, std::string("Authorization: a valid bearer token is required") +
                              (route.access == Access::kWrite ? " (the write token)" : ""));
      }
      return std::nullopt;
    }
    return Error(404, "unknown path " + std::string(path) +
                          " (endpoints: GET /health, /metrics; POST /get-online-features, "
                          "/push, /write-to-online-store, /delete-from-online-store, /materialize, "
                          "/materialize-incremental)");
  }

  HttpResponse Route(std::string_view path, const HttpRequest& request) {
    if (std::optional<HttpResponse> refusal = Refusal(path, request)) return *refusal;
    if (path == "/health") return {200, "{\"status\":\"ok\"}"};
    if (path == "/get-online-features") return GetOnlineFeatures(request);
    if (path == "/metrics") return Metrics();
    return Write(path, request);
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

  // The client's answer to a failed call. Paths and lock holders are cut
  // from the message (the log keeps it whole, under the request id).
  HttpResponse Failed(const Status& status, const HttpRequest& request) {
    if (IsStoreError(status) && targets_.metrics != nullptr) targets_.metrics->AddOnlineStoreError();
    std::string message = RedactForClient(status.message());
    if (message != status.message()) {
      if (options_.log) {
        options_.log("request_id=" + request.request_id + " error: " + status.ToString());
      }
      message += " (details in the server log, request_id " + request.request_id + ")";
    }
    return Error(HttpStatusFor(status), message);
  }

  // Parse limits for a request's body: the row limit, and the request's
  // share of the server's memory budget.
  ParseBudget Budget(const HttpRequest& request) const {
    ParseBudget budget;
    budget.max_rows = options_.max_entity_rows;
    budget.memory = request.memory;
    return budget;
  }

  // The answer to a body that did not parse: 400, or 413 / 503 for a limit.
  HttpResponse ParseFailed(const Status& status, const ParseBudget& budget) {
    HttpServerCounters* counters =
        targets_.metrics != nullptr ? &targets_.metrics->http_counters() : nullptr;
    switch (budget.failure) {
      case ParseFailure::kBadRequest:
        return Error(400, status.message());
      case ParseFailure::kTooManyRows:
        return Error(413, status.message());
      case ParseFailure::kTooLarge:
        if (counters != nullptr) counters->memory_too_large.fetch_add(1, std::memory_order_relaxed);
        return Error(413, status.message());
      case ParseFailure::kBusy:
        if (counters != nullptr) counters->memory_busy.fetch_add(1, std::memory_order_relaxed);
        return Error(503, status.message());
    }
    return Error(400, status.message());
  }

  HttpResponse GetOnlineFeatures(const HttpRequest& request) {
    ParseBudget budget = Budget(request);
    Result<OnlineFeaturesRequest> parsed = ParseOnlineFeaturesRequest(request.body, &budget);
    if (!parsed.ok()) return ParseFailed(parsed.status(), budget);
    Result<OnlineFeaturesResponse> response = targets_.service->GetOnlineFeatures(*parsed);
    if (!response.ok()) return Failed(response.status(), request);
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
  HttpResponse Write(std::string_view path, const HttpRequest& request) {
    if (targets_.store == nullptr) return Error(404, std::string(path) + ": writes are off");
    std::unique_lock lock(write_mu_, std::chrono::seconds(5));
    if (!lock.owns_lock()) return Error(503, "another write is in progress; retry later");
    if (path == "/push") return Push(request);
    if (path == "/write-to-online-store") return WriteToOnlineStore(request);
    if (path == "/delete-from-online-store") return DeleteFromOnlineStore(request);
    return Materialize(request, path == "/materialize-incremental");
  }

  HttpResponse Push(const HttpRequest& request) {
    ParseBudget budget = Budget(request);
    Result<PushBody> push = ParsePushRequest(request.body, &budget);
    if (!push.ok()) return ParseFailed(push.status(), budget);
    Result<PushReport> report = targets_.store->Push(push->push_source_name, push->df, push->to);
    if (!report.ok()) return Failed(report.status(), request);
    CountRows(*report);
    return {200, WritesJson(*report).dump()};
  }

  HttpResponse WriteToOnlineStore(const HttpRequest& request) {
    ParseBudget budget = Budget(request);
    Result<WriteBody> write = ParseWriteRequest(request.body, &budget);
    if (!write.ok()) return ParseFailed(write.status(), budget);
    Result<PushReport> report = targets_.store->WriteToOnlineStore(write->feature_view_name, write->df);
    if (!report.ok()) return Failed(report.status(), request);
    CountRows(*report);
    return {200, WritesJson(*report).dump()};
  }

  HttpResponse DeleteFromOnlineStore(const HttpRequest& http) {
    ParseBudget budget = Budget(http);
    Result<DeleteBody> request = ParseDeleteRequest(http.body, &budget);
    if (!request.ok()) return ParseFailed(request.status(), budget);
    Result<OnlineDeleteReport> report =
        targets_.store->DeleteOnline(request->entities, request->feature_views);
    if (!report.ok()) return Failed(report.status(), http);
    return {200, Json{{"entities", report->entities}, {"feature_views", report->feature_views}}
                     .dump()};
  }

  HttpResponse Materialize(const HttpRequest& http, bool incremental) {
    ParseBudget budget = Budget(http);
    Result<MaterializeBody> request = ParseMaterializeRequest(http.body, incremental, &budget);
    if (!request.ok()) return ParseFailed(request.status(), budget);
    MaterializeOptions options;
    options.views = request->feature_views;
    Result<MaterializeReport> report =
        incremental ? targets_.store->MaterializeIncremental(request->end, options)
                    : targets_.store->Materialize(*request->start, request->end, options);
    if (!report.ok()) return Failed(report.status(), http);
    return {200, MaterializeJson(*report).dump()};
  }

  void CountRows(const PushReport& report) {
    if (targets_.metrics == nullptr) return;
    if (report.offline_rows > 0) targets_.metrics->AddRowsPushed(false, report.offline_rows);
    for (const auto& v : report.online) targets_.metrics->AddRowsPushed(true, v.written + v.skipped);
  }

  const FeatureEndpointTargets targets_;
  const FeatureEndpointOptions options_;
  std::timed_mutex own_write_mu_;
  std::timed_mutex& write_mu_;
};

}  // namespace

FeatureServerHandlers FeatureEndpointHandlers(FeatureEndpointTargets targets,
                                              FeatureEndpointOptions options) {
  auto endpoints = std::make_shared<Endpoints>(targets, std::move(options));
  return {[endpoints](const HttpRequest& request) { return endpoints->Handle(request); },
          [endpoints](const HttpRequest& head) { return endpoints->CheckHead(head); }};
}

HttpHandler FeatureEndpoints(FeatureEndpointTargets targets, FeatureEndpointOptions options) {
  return FeatureEndpointHandlers(targets, std::move(options)).handler;
}

}  // namespace larder::server
