#include "stream/json_record.h"

#include <nlohmann/json.hpp>

#include "common/json_cell.h"

namespace larder::stream {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("field `" + field + "`: " + what);
}

}  // namespace

Result<std::map<std::string, Value>> DecodeJsonRecord(
    std::string_view data, const std::map<std::string, std::string>& field_mapping,
    size_t max_bytes) {
  if (data.size() > max_bytes) {
    return Status::InvalidArgument("record of " + std::to_string(data.size()) +
                                   " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::map<std::string, Value> row;
  // Objects are read member by member so that a repeated field is seen
  // (nlohmann keeps the last one silently).
  bool repeated = false;
  std::string repeated_name;
  int depth = 0;
  Json doc = Json::parse(
      data.begin(), data.end(),
      [&](int d, Json::parse_event_t event, Json& parsed) {
        depth = d;
        if (event == Json::parse_event_t::key && d == 1) {
          const std::string name = parsed.get<std::string>();
          auto it = field_mapping.find(name);
          const std::string& column = it == field_mapping.end() ? name : it->second;
          if (row.contains(column)) {
            repeated = true;
            repeated_name = name;
          }
          row.emplace(column, Value());
        }
        return true;
      },
      /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (repeated) return Bad(repeated_name, "appears twice (or two fields map to one column)");
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string("expected a JSON object, got ") + doc.type_name());
  }
  for (const auto& [name, value] : doc.items()) {
    auto it = field_mapping.find(name);
    const std::string& column = it == field_mapping.end() ? name : it->second;
    LARDER_ASSIGN_OR_RETURN(row[column], JsonCell(value, "field `" + name + "`"));
  }
  return row;
}

}  // namespace larder::stream
