// Which features a request asks for: "view:feature" references or a feature
// service, resolved against a repo's definitions. Training data and online
// reads both take their features this way. Also where rows given
// column-wise (push, write-to-online-store) find a view's columns.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"

namespace larder::repo {

// One requested feature.
struct FeatureRef {
  const FeatureView* view = nullptr;  // points into the repo passed in
  // Into ViewFeatures(*view): view->schema's fields, then one per
  // aggregation, so an index of schema.size() or more is the aggregation
  // at feature_index - schema.size().
  size_t feature_index = 0;

  // The feature's name, and the aggregation whose output it is (nullptr for
  // a schema feature).
  const std::string& name() const;
  const Aggregation* aggregation() const;
};

// Resolves exactly one of `refs` ("view:feature") and `feature_service`
// into features, in request order (a service: its items in order, a whole
// view as ViewFeatures orders it). A feature asked for twice appears once.
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

// The columns that rows pushed or written for `view` must have, by their
// name in the rows (RowColumnName of RowSource), each with the dtype its
// values must fit: the join keys, the event timestamp (UnixTimestamp), the
// schema's features, and the column of each aggregation (its column_dtype).
// The optional created timestamp is not included. NotFound as ViewJoinKeys
// and RowSource.
Result<std::map<std::string, ValueType>> ViewRowColumns(const FeatureRepo& repo,
                                                        const FeatureView& view);

}  // namespace larder::repo
