// Validation of a parsed repo (ValidateFeatureRepo in larder/repo.h), with
// the values it resolves written back.
#pragma once

#include "larder/repo.h"
#include "larder/status.h"

namespace larder::repo {

// ValidateFeatureRepo, which also completes each aggregation of each view:
// its `name` (AggregationDefaultName when empty) and, when `dtype` was not
// given, its column_dtype from the source's files. On error *repo may be
// partly completed. REQUIRES: repo != nullptr.
Status ValidateAndResolve(FeatureRepo* repo, const LoadOptions& options);

}  // namespace larder::repo
