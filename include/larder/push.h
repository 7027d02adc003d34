// Writing fresh rows: FeatureStore::Push (to a push source, as Feast's
// push) and FeatureStore::WriteToOnlineStore (to one feature view).
//
// Rows come column-wise, as a pandas DataFrame or the "df" of Feast's JSON:
// column name -> one value per row. Values are converted to the column's
// declared dtype where that loses nothing: integers to a float or a narrower
// integer in range, a float64 to a float32, an ISO 8601 string (YYYY-MM-DD,
// [T ]HH:MM[:SS[.ffffff]], zone Z or +HH:MM; none means UTC) to a timestamp,
// and element by element for arrays (an empty array fits every array
// dtype). Anything else is InvalidArgument naming the column and row.
//
// Online writes follow the online store's conditional-write rule
// (larder/online_store.h): a row lands only if its (event_timestamp,
// created_timestamp) is newer than the stored record's, so pushes,
// materializations and replays converge whatever their order.
//
// Every row is checked before anything is written: a bad row fails the call
// and writes nothing. (A backend I/O error during the online write may leave
// some rows written; rerunning the call is safe.)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/value.h"

namespace larder {

// Rows, column-wise. REQUIRES (checked): every column has the same length.
using ColumnTable = std::map<std::string, std::vector<Value>>;

// The number of rows of `rows` (0 without columns); InvalidArgument naming
// the first column whose length differs from the first column's.
Result<size_t> ColumnTableRows(const ColumnTable& rows);

// Where Push writes, as Feast's PushMode.
enum class PushTarget {
  kOnline,
  kOffline,
  kOnlineAndOffline,
};
// "online", "offline", "online_and_offline".
const char* PushTargetName(PushTarget target);
// The inverse of PushTargetName; InvalidArgument listing the names otherwise.
Result<PushTarget> ParsePushTarget(std::string_view text);

// What one view's online write did.
struct OnlineViewWrite {
  std::string view;
  int64_t written = 0;  // rows newer than the stored record, which landed
  int64_t skipped = 0;  // rows not newer, dropped by the conditional write
};

struct PushReport {
  // Rows given.
  int64_t rows = 0;
  // Rows appended to the push source's offline history (0 unless the
  // target includes offline).
  int64_t offline_rows = 0;
  // One entry per feature view written online, by name.
  std::vector<OnlineViewWrite> online;
};

}  // namespace larder
