// Converting a loosely typed value (from JSON, pandas) to a declared dtype,
// where nothing is lost (the rules are in larder/push.h).
#pragma once

#include "larder/status.h"
#include "larder/types.h"
#include "larder/value.h"

namespace larder {

// `value` as dtype `to`: itself when it already has it (or is null), else
// converted by the rules of larder/push.h. InvalidArgument saying why
// otherwise ("Float64(2.5) cannot be read as Int64"), without naming where the value came
// from: callers prefix the column and row.
Result<Value> CoerceValue(Value value, ValueType to);

}  // namespace larder
