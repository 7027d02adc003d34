#include "server/feature_endpoints.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace larder::server {
namespace {

using Json = nlohmann::json;

HttpResponse Error(int status, std::string_view message) {
  return {status, JsonErrorBody(message)};
}

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kBusy:
      return 503;
    default:
      return 500;
  }
}

// One JSON entity value as a Value; integer keys stay Int64 and text stays
// String (GetOnlineFeatures converts to the entity's type).
Result<Value> EntityValue(const Json& j, const std::string& where) {
  switch (j.type()) {
    case Json::value_t::number_integer:
      return Value::Int64(j.get<int64_t>());
    case Json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status::InvalidArgument(where + ": " + j.dump() + " is out of the Int64 range");
      }
      return Value::Int64(static_cast<int64_t>(u));
    }
    case Json::value_t::string:
      return Value::String(j.get<std::string>());
    case Json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case Json::value_t::number_float:
      return Status::InvalidArgument(where + ": " + j.dump() +
                                     " is not a valid join key value (a number with a fraction)");
    default:
      return Status::InvalidArgument(where + ": expected a number or a string, got " +
                                     std::string(j.type_name()));
  }
}

}  // namespace

Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body) {
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("body: malformed JSON");
  if (!doc.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  OnlineFeaturesRequest request;
  for (const auto& [key, value] : doc.items()) {
    if (key == "features") {
      if (!value.is_array()) return Status::InvalidArgument("features: expected an array");
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
          return Status::InvalidArgument("features[" + std::to_string(i) +
                                         "]: expected a \"view:feature\" string");
        }
        request.features.push_back(value[i].get<std::string>());
      }
    } else if (key == "feature_service") {
      if (!value.is_string()) return Status::InvalidArgument("feature_service: expected a string");
      request.feature_service = value.get<std::string>();
    } else if (key == "full_feature_names") {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("full_feature_names: expected true or false");
      }
      request.full_feature_names = value.get<bool>();
    } else if (key == "entities") {
      if (!value.is_object()) {
        return Status::InvalidArgument("entities: expected an object of join key -> values");
      }
      for (const auto& [join_key, column] : value.items()) {
        const std::string where = "entities." + join_key;
        if (!column.is_array()) return Status::InvalidArgument(where + ": expected an array");
        std::vector<Value>& values = request.entity_rows[join_key];
        values.reserve(column.size());
        for (size_t i = 0; i < column.size(); ++i) {
          LARDER_ASSIGN_OR_RETURN(Value v,
                                  EntityValue(column[i], where + "[" + std::to_string(i) + "]"));
          values.push_back(std::move(v));
        }
      }
    } else {
      return Status::InvalidArgument(key + ": unknown field (expected features or "
                                           "feature_service, entities, full_feature_names)");
    }
  }
  if (request.entity_rows.empty()) {
    return Status::InvalidArgument("entities: missing; give at least one join key");
  }
  return request;
}

HttpHandler FeatureEndpoints(serving::OnlineService* service, FeatureEndpointOptions options) {
  return [service, options](const HttpRequest& request) -> HttpResponse {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/health") {
      if (request.method != "GET") return Error(405, "/health takes GET");
      return {200, "{\"status\":\"ok\"}"};
    }
    if (path == "/get-online-features") {
      if (request.method != "POST") return Error(405, "/get-online-features takes POST");
      Result<OnlineFeaturesRequest> parsed = ParseOnlineFeaturesRequest(request.body);
      if (!parsed.ok()) return Error(400, parsed.status().message());
      for (const auto& [join_key, column] : parsed->entity_rows) {
        if (column.size() > options.max_entity_rows) {
          return Error(413, "entities." + join_key + ": " + std::to_string(column.size()) +
                                " rows, more than the limit of " +
                                std::to_string(options.max_entity_rows));
        }
      }
      Result<OnlineFeaturesResponse> response = service->GetOnlineFeatures(*parsed);
      if (!response.ok()) {
        return Error(HttpStatusOf(response.status()), response.status().message());
      }
      return {200, response->ToJson()};
    }
    return Error(404, "unknown path " + path + " (endpoints: GET /health, POST "
                                             "/get-online-features)");
  };
}

}  // namespace larder::server
