// Which features a request asks for: "view:feature" references or a feature
// service, resolved against a repo's definitions. Training data and online
// reads both take their features this way. Also where rows given
// column-wise (push, write-to-online-store) find a view's columns.
#pragma once

#include <string>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"

namespace larder::repo {

// One requested feature.
struct FeatureRef {
  const FeatureView* view = nullptr;  // points into the repo passed in
  // Into ViewFeatures(*view): view->schema's fields first, then one per
  // aggregation (feature_index - schema.size() into view->aggregations).
  size_t feature_index = 0;
};

// Resolves exactly one of `refs` ("view:feature") and `feature_service`
// into features, in request order (a service: its items in order, a whole
// view as ViewFeatures' order). A feature asked for twice appears once.
// Errors: InvalidArgument for both or neither given, or a malformed
// reference; NotFound naming the unknown service, view or feature, with the
// names that do exist.
Result<std::vector<FeatureRef>> ResolveFeatureRefs(const FeatureRepo& repo,
                                                   const std::vector<std::string>& refs,
                                                   const std::string& feature_service);

// The join keys of a view's entities, each once, in entity order, with the
// dtype of the entity that declares it. Online reads and materialization
// both key a view's records by these. NotFound for an unregistered entity.
struct JoinKeys {
  std::vector<std::string> names;
  std::vector<ValueType> types;  // types[i] belongs to names[i]
};
Result<JoinKeys> ViewJoinKeys(const FeatureRepo& repo, const FeatureView& view);

// The source whose columns describe `view`'s rows: its source, or a push
// source's batch source. NotFound naming the missing source.
Result<const DataSource*> RowSource(const FeatureRepo& repo, const FeatureView& view);

// The column of pushed or written rows holding `field` of `source`: the column whose
// field_mapping maps it to `field`, or `field` itself.
std::string RowColumnName(const DataSource& source, const std::string& field);

}  // namespace larder::repo
