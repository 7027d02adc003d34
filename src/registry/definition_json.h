// Canonical JSON for registry objects.
//
// The registry stores every definition as JSON text and detects a change by
// comparing that text, so the encoding is canonical: object keys are sorted
// (nlohmann::json keeps them in a std::map), lists keep the order the user
// wrote (join keys, schema and feature order matter), and the same value
// always gives the same bytes.
//
// Keys follow Feast's Python argument names. Strings, lists and maps that
// are empty are left out; `name` and scalar fields (types, enums, ttl,
// online) are always written, except a view's `aggregation_interval`, which
// is written only beside aggregations (so that views stored before
// aggregations existed keep their text). An aggregation is written as
// {column, function ("last_n(5)"), time_window ("1d" or "lifetime"), name,
// dtype (the column's), description}. SourceLocation is never written:
// moving a definition to another file is not a change.
//
// FromJson is strict: a missing `name`, an unknown key or a value of the
// wrong type is Status::Corruption naming the object ("entity user: ...").
// None of these functions throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "larder/definitions.h"
#include "larder/status.h"

namespace larder {

nlohmann::json ToJson(const Entity& entity);
nlohmann::json ToJson(const DataSource& source);
nlohmann::json ToJson(const SqlModel& model);
nlohmann::json ToJson(const FeatureView& view);
nlohmann::json ToJson(const FeatureService& service);

// Each overwrites *out entirely (SourceLocation left default).
// REQUIRES: out != nullptr.
Status FromJson(const nlohmann::json& json, Entity* out);
Status FromJson(const nlohmann::json& json, DataSource* out);
Status FromJson(const nlohmann::json& json, SqlModel* out);
Status FromJson(const nlohmann::json& json, FeatureView* out);
Status FromJson(const nlohmann::json& json, FeatureService* out);

// The compact canonical text of `json`. Strings must be valid UTF-8;
// otherwise InvalidArgument whose message starts with `what`
// (e.g. "entity user").
Result<std::string> CanonicalJsonText(const nlohmann::json& json,
                                      std::string_view what);

// Parses stored JSON text. Corruption whose message starts with `what`
// when the text is not JSON.
Result<nlohmann::json> ParseJsonText(std::string_view text,
                                     std::string_view what);

// A stable identifier for each kind, used as the registry's `kind` column
// and, pluralised, as DumpJson's keys: "entity", "data_source",
// "sql_model", "feature_view", "feature_service".
std::string_view ObjectKindId(ObjectKind kind);
// "entities", "data_sources", "sql_models", "feature_views",
// "feature_services".
std::string_view ObjectKindPluralId(ObjectKind kind);
// The inverse of ObjectKindId; nullopt for an unknown id.
std::optional<ObjectKind> ObjectKindFromId(std::string_view id);

// Every kind, in plan order.
inline constexpr ObjectKind kAllObjectKinds[] = {
    ObjectKind::kEntity, ObjectKind::kDataSource, ObjectKind::kSqlModel,
    ObjectKind::kFeatureView, ObjectKind::kFeatureService};

}  // namespace larder
