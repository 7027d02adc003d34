// OnlineStore: the latest feature values per entity, for serving.
//
// One record per (project, feature view, entity key) holds all of that view's
// feature values, in the view's schema order, with the record's
// event_timestamp and created_timestamp. A feature service therefore costs one
// batched read per view.
//
//   OnlineStoreOptions options;
//   options.config = repo_config.online_store;   // {type: rocksdb, path: ...}
//   options.project = repo_config.project;
//   options.repo_root = repo_dir;
//   auto store = OnlineStore::Open(options);
//   if (!store.ok()) return store.status();
//   OnlineView view = OnlineView::FromFeatureView(feature_view);
//   auto summary = (*store)->Write(view, records);          // conditional
//   std::vector<OnlineReadResult> rows;
//   Status s = (*store)->MultiGet(view, entity_keys, &rows);
//
// Conditional writes: a record lands only if its (event_timestamp,
// created_timestamp, tie key) is greater than the stored record's, compared
// lexicographically, where the tie key is a hash of the record's values
// (docs/online-store.md, "The order of rows"); an equal triple (the same
// record) is skipped. So backfills and replays, in any order and any number
// of times, never move a value back in time and converge to the same state,
// the same row that training data takes. One
// exception: a stored record written under a different schema of the view
// (another OnlineView::fingerprint()) is always replaced, so re-materializing
// after a schema change works.
//
// Backends are created by the `online_store.type` name of feature_store.yaml
// ("rocksdb", "redis") from a registry of factories.
// docs/online-store.md describes the key and record encodings byte by byte.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/config.h"
#include "larder/definitions.h"
#include "larder/status.h"
#include "larder/types.h"
#include "larder/value.h"

namespace larder {

// The join-key values that identify an entity (or a tuple of entities), as in
// Feast's EntityKeyProto. Order does not matter: {a, b} and {b, a} are the
// same key.
// REQUIRES (checked, InvalidArgument otherwise): at least one join key; names
// distinct; values non-null scalars. Int32 and Int64 values of the same number
// are the same key (keys do not depend on the integer width a source used);
// otherwise the dtype is part of the key: String "1" is not Int64 1.
struct EntityKey {
  std::vector<std::string> join_keys;
  std::vector<Value> values;  // values[i] belongs to join_keys[i]
};

// A feature of an online view: its name and dtype.
struct OnlineFeature {
  std::string name;
  ValueType dtype;
  bool operator==(const OnlineFeature&) const = default;
};

// What an online store needs to know about a feature view: its name and its
// feature schema in order. Cheap to share; build it once per view, not per
// call (the constructor computes the schema fingerprint).
class OnlineView {
 public:
  OnlineView(std::string name, std::vector<OnlineFeature> features);
  // The view's name and `schema` (entity columns are not features).
  static OnlineView FromFeatureView(const FeatureView& view);

  const std::string& name() const { return name_; }
  const std::vector<OnlineFeature>& features() const { return features_; }
  // A 64-bit hash of the features' names and dtypes, in order (FNV-1a; see
  // docs/online-store.md). Stored in every record to detect schema changes.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  std::string name_;
  std::vector<OnlineFeature> features_;
  uint64_t fingerprint_;
};

// One record to write.
struct OnlineRecord {
  EntityKey entity_key;
  TimestampMicros event_timestamp = 0;
  TimestampMicros created_timestamp = 0;  // 0 when the source has none
  // One per view feature, in OnlineView::features() order. Each is null or
  // has exactly the feature's dtype (no implicit widening).
  std::vector<Value> values;
};

enum class OnlineRecordState {
  kFound,
  kNotFound,
  // A record exists but was written under another schema of the view; its
  // values cannot be used. Treat it like kNotFound (and re-materialize).
  kSchemaMismatch,
};

// The answer for one requested entity key.
struct OnlineReadResult {
  OnlineRecordState state = OnlineRecordState::kNotFound;
  // Set only when state == kFound.
  TimestampMicros event_timestamp = 0;
  TimestampMicros created_timestamp = 0;
  std::vector<Value> values;  // OnlineView::features() order
};

// What a Write did. written + skipped == the number of records given.
struct OnlineWriteSummary {
  // Records that were newer than the stored (or an earlier same-batch) record
  // and landed. A record later superseded within the same batch still counts.
  int64_t written = 0;
  // Records that were not newer and were dropped.
  int64_t skipped = 0;
};

// Per-call write settings.
struct OnlineWriteOptions {
  // Sync the backend's log to disk before returning (RocksDB: fsync the WAL).
  // Without it a process crash loses nothing, but a machine crash may lose the
  // last writes; rerunning an idempotent materialization restores them.
  // Default: false.
  bool sync = false;
};

// Where and how to open a store.
struct OnlineStoreOptions {
  // The `online_store:` section of feature_store.yaml: `type` picks the backend,
  // `options` are its settings (each backend validates its own and names bad
  // keys). Default: rocksdb at data/online_store.
  StoreConfig config{"rocksdb", {{"path", "data/online_store"}}};
  // REQUIRES: non-empty. Every key the store touches is scoped to this project.
  std::string project;
  // Relative paths in `config` resolve against this directory.
  // Default: "." (the working directory).
  std::string repo_root = ".";
};

// One view's part of OnlineStore::MultiGetViews. Pointers are not owned and
// must outlive the call.
struct OnlineViewRead {
  const OnlineView* view = nullptr;
  std::span<const EntityKey> keys;
  std::vector<OnlineReadResult>* results = nullptr;
};

// Aggregation views keep one opaque state per (view, entity key), which only
// read-modify-write changes (src/aggregation/tile_state.h: the entity's
// events and tiles). `update` is called with a key's stored state (nullptr
// when there is none) and sets `*out` to the new state, or clears it to
// delete the key. It may be called again for a key that another writer
// changed meanwhile (Redis updates optimistically), so it must not consume
// its input.
using OnlineStateUpdate =
    std::function<Status(size_t key_index, const std::string* stored, std::string* out)>;
// Called for each key that has a state; the bytes are valid only during the
// call. `version` is nonzero when the store vouches that, for as long as this
// store object lives, every visit with that version sees these same bytes
// (RocksDB's record cache numbers each value it holds), so a caller may
// keep what it derived from them under it; 0 when it cannot say.
using OnlineStateVisit =
    std::function<Status(size_t key_index, std::string_view stored, uint64_t version)>;

// The interface every backend implements.
//
// Thread safety: every method may be called from many threads at once on one
// store object. Concurrent conditional writes to the same key are safe: the
// newest record wins whatever the interleaving.
// Ownership: the store owns its connections or files; destroying it closes
// them. Callers keep ownership of everything they pass in.
class OnlineStore {
 public:
  // Opens the backend named by options.config.type. Errors: InvalidArgument
  // for an unknown type (the message lists the known ones) or a bad option
  // (naming `online_store.<key>`); Busy when the store is held by another
  // opener (RocksDB allows one process); IOError naming the path or address.
  [[nodiscard]] static Result<std::unique_ptr<OnlineStore>> Open(
      const OnlineStoreOptions& options);

  virtual ~OnlineStore() = default;
  OnlineStore(const OnlineStore&) = delete;
  OnlineStore& operator=(const OnlineStore&) = delete;

  // The backend's type name ("rocksdb").
  virtual std::string_view type() const = 0;

  // Conditionally writes `records` for one view (see the file comment).
  // Records for the same entity key within the batch are applied in order.
  // The batch is checked first: a record with a bad entity key, the wrong
  // number of values or a value of the wrong dtype fails the whole call with
  // InvalidArgument and nothing is written. Backend errors are IOError; then
  // some records may have landed (rerunning the batch is safe).
  [[nodiscard]] virtual Result<OnlineWriteSummary> Write(
      const OnlineView& view, std::span<const OnlineRecord> records,
      const OnlineWriteOptions& options = {}) = 0;

  // Reads the records of `keys` for one view in one batched round trip.
  // On OK, `*results` has exactly keys.size() entries, results[i] answering
  // keys[i]; a missing key gives state kNotFound (not an error). Duplicate keys
  // are allowed. Errors: InvalidArgument for a bad key, Corruption when a
  // stored record does not parse (naming the view and the store), IOError.
  // (MultiGetViews with one read.)
  [[nodiscard]] Status MultiGet(const OnlineView& view, std::span<const EntityKey> keys,
                                std::vector<OnlineReadResult>* results) {
    const OnlineViewRead read{&view, keys, results};
    return MultiGetViews(std::span<const OnlineViewRead>(&read, 1));
  }

  // MultiGet for several views at once (a feature service), in one batched
  // round trip where the backend allows it: RocksDB issues one MultiGet over
  // all keys; Redis can pipeline every view; DynamoDB can share BatchGetItem
  // calls. Each reads[i].results is filled exactly as MultiGet would fill it.
  // On error, the contents of the results are unspecified.
  [[nodiscard]] virtual Status MultiGetViews(std::span<const OnlineViewRead> reads) = 0;

  // Reorganizes stored data for reads after a bulk load (materialization
  // calls it once at the end). RocksDB compacts every level into the last
  // when level 0 holds 4 or more overlapping tables, so that a point lookup
  // probes a single table; other backends do nothing. Safe to call at any time, concurrently with reads and writes.
  [[nodiscard]] virtual Status Optimize() { return Status::OK(); }

  // Deletes the records of `keys` for one view, and their aggregation
  // states, so that reads of them give kNotFound (and empty windows). A key with no record is fine; duplicate keys are allowed. No
  // tombstone is kept: a later write of the key lands whatever its
  // timestamps, as if the key were new. The keys are checked first: a bad
  // key fails the call with InvalidArgument and nothing is deleted. Backend
  // errors are IOError; then some keys may be deleted (rerunning is safe).
  [[nodiscard]] virtual Status Delete(const OnlineView& view,
                                      std::span<const EntityKey> keys) = 0;

  // Whether this backend holds aggregation states (UpdateStates and
  // VisitStates). Backends without them refuse both with InvalidArgument.
  virtual bool SupportsStates() const { return false; }

  // For each key, atomically with respect to every other writer of it:
  // reads its state in `view_name`, calls `update`, and stores the result.
  // REQUIRES (InvalidArgument otherwise, nothing written): distinct keys.
  // An error from `update` fails the call with nothing written. Backend
  // errors are IOError; then some keys may be updated.
  [[nodiscard]] virtual Status UpdateStates(std::string_view view_name,
                                            std::span<const EntityKey> keys,
                                            const OnlineStateUpdate& update,
                                            const OnlineWriteOptions& options = {});

  // Reads the states of `keys` in `view_name` in one batched round trip and
  // calls `visit` for each key that has one.
  [[nodiscard]] virtual Status VisitStates(std::string_view view_name,
                                           std::span<const EntityKey> keys,
                                           const OnlineStateVisit& visit);

  // Deletes every record of the view `view_name` in this project, and its
  // aggregation states. Deleting a
  // view with no data is OK. Later writes land as if the view were new.
  [[nodiscard]] virtual Status DeleteView(std::string_view view_name) = 0;

  // Deletes every record of this project (for `larder teardown`). Other
  // projects sharing the backend are untouched.
  [[nodiscard]] virtual Status DeleteProject() = 0;

 protected:
  OnlineStore() = default;
};

// Creates a backend from options whose config.type names it.
using OnlineStoreFactory =
    std::function<Result<std::unique_ptr<OnlineStore>>(const OnlineStoreOptions&)>;

// Adds a backend type at run time (tests, plugins). The built-in types are
// declared in one table in src/online/online_store.cc. AlreadyExists when
// `type` is taken. Thread-safe.
[[nodiscard]] Status RegisterOnlineStoreType(std::string type, OnlineStoreFactory factory);

// Whether the built-in backend `type` holds aggregation states
// (OnlineStore::SupportsStates); false for other names.
bool OnlineStoreTypeHoldsStates(std::string_view type);

// The registered type names, sorted.
std::vector<std::string> OnlineStoreTypes();

}  // namespace larder
