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
// Event times may not be later than now plus `push_max_future_skew` of
// feature_store.yaml (default 1 day): a far-future event time would win every
// conditional write and pin the key. Such a row is InvalidArgument naming the
// column, row and value.
//
// Every row is checked before anything is written: a bad row fails the call
// and writes nothing.
//
// Retries are idempotent. The offline push table holds distinct rows: a row
// equal in every column to one already stored (or to another row of the same
// call) is not appended again. Online writes are conditional, so a row that
// already landed is skipped. A push that failed or was killed part-way (after
// the offline append, during the online writes, or in a backend I/O error)
// may have landed partly; pushing the same rows again until it succeeds
// leaves each row offline exactly once and the newest row per key online.
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
  // target includes offline). Rows already stored, and repeats within the
  // call, are not appended (see the file comment), so a retry appends 0.
  int64_t offline_rows = 0;
  // One entry per feature view written online, by name.
  std::vector<OnlineViewWrite> online;
};

// The entity rows of an online delete, column-wise: join key -> one value per
// entity (as in get-online-features). Values are converted to the entity's
// join-key dtype where that loses nothing (an integer given as text, an Int32
// for an Int64 key).
using EntityColumns = std::map<std::string, std::vector<Value>>;

// What FeatureStore::DeleteOnline did.
struct OnlineDeleteReport {
  // Entity rows given.
  int64_t entities = 0;
  // The feature views whose records of those entities were deleted, by name.
  std::vector<std::string> feature_views;
};

}  // namespace larder
