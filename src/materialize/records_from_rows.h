// Online records from rows given column-wise (push and write-to-online-store).
#pragma once

#include <string>
#include <vector>

#include "aggregation/online_tiles.h"
#include "larder/online_store.h"
#include "larder/push.h"
#include "larder/repo.h"
#include "larder/status.h"

namespace larder::materialize {

// One record per row of `rows` for `view`: its entity key from the view's
// join keys, event time from the row source's timestamp_field, created time
// from its created_timestamp_column when that column is given (else 0), and
// the view's features in schema order. Columns are named as in the row
// source (before field_mapping); others are ignored. Values are converted
// by CoerceValue. Errors (InvalidArgument) name the column and row: a
// missing join key, timestamp or feature column, columns of unequal length,
// a null join key or timestamp, a value that does not convert.
Result<std::vector<OnlineRecord>> RecordsFromRows(const FeatureRepo& repo, const FeatureView& view,
                                                  const ColumnTable& rows);

// The events of an aggregation view in `rows`, one per row, for
// aggregation::ApplyEvents: the entity key and event time as in
// RecordsFromRows, and the aggregated columns (AggregatedColumns order),
// where a null is kept (aggregations skip it, as over the batch source).
// Errors (InvalidArgument) name the column and row: a missing join key,
// timestamp or aggregated column, a null join key or timestamp, a value that
// does not convert.
Result<std::vector<aggregation::EntityEvents>> EventsFromRows(const FeatureRepo& repo,
                                                             const FeatureView& view,
                                                             const ColumnTable& rows);

}  // namespace larder::materialize
