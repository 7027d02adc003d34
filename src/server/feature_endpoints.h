// The feature server's endpoints, in Feast's feature-server shapes, as an
// HttpHandler (bodies: server/request_parsers.h; reference: docs/serve.md):
//
//   GET  /health                    {"status":"ok"}                (no token)
//   POST /get-online-features       features of entity rows        (read)
//   GET  /metrics                   Prometheus text                (read)
//   POST /push                      rows to a push source          (write)
//   POST /write-to-online-store     rows to a feature view         (write)
//   POST /delete-from-online-store  entities' online records        (write)
//   POST /materialize               offline -> online, [start, end) (write)
//   POST /materialize-incremental   offline -> online, to end      (write)
//
// Errors are 4xx/5xx with {"error": "..."} naming the bad field: 400 bad
// JSON (a repeated key, too deep), types or rows; 401 a missing or wrong
// bearer token; 404 unknown path, view, feature, service or push source;
// 405 wrong method; 409 a model not built yet; 413 too many rows, or a body
// too large to parse; 500 a store error; 503 busy (a lock, another write,
// the memory budget); 507 the disk is full. Messages never carry absolute
// paths or lock holders' process ids (server/client_errors.h); the log
// does.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "larder/feature_store.h"
#include "serving/online_service.h"
#include "server/http_server.h"
#include "server/server_metrics.h"

namespace larder::server {

struct FeatureEndpointOptions {
  // Most entity rows in one get-online-features request, and rows in one
  // push or write. Default: 10,000.
  size_t max_entity_rows = 10'000;
  // Bearer tokens (feature_server.auth_token / write_token); empty = none.
  // When write_token is empty, writes take auth_token. The write token
  // also grants reads.
  std::string auth_token;
  std::string write_token;
  // Gets the details kept from clients (the whole error message, under the
  // request id); may be empty. Called from many threads.
  std::function<void(const std::string&)> log;
};

// What the endpoints serve from. Pointers are not owned and must outlive
// the handler.
struct FeatureEndpointTargets {
  // Reads; called from many threads at once.
  serving::OnlineService* service = nullptr;
  // Writes (push, write, materialize); the handler calls it from one thread
  // at a time. May be null: write endpoints then answer 404.
  FeatureStore* store = nullptr;
  // Counts every request; may be null.
  ServerMetrics* metrics = nullptr;
  // Held by each write; give one to share it with other writers of `store`
  // (the stream consumer of `larder serve --stream`). May be null: the
  // handler then has its own.
  std::timed_mutex* write_mutex = nullptr;
};

// Routes requests to the endpoints. Thread-safe.
HttpHandler FeatureEndpoints(FeatureEndpointTargets targets, FeatureEndpointOptions options);

// The same handler, with the head check for HttpServerOptions::check_head
// that refuses (404, 405, 401) before a body is read.
struct FeatureServerHandlers {
  HttpHandler handler;
  std::function<std::optional<HttpResponse>(const HttpRequest& head)> check_head;
};
FeatureServerHandlers FeatureEndpointHandlers(FeatureEndpointTargets targets,
                                              FeatureEndpointOptions options);

}  // namespace larder::server
