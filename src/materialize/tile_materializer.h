// Materialization of an aggregation view: its events from the offline store
// into the online store's aggregation states (aggregation/online_tiles.h).
//
// The events read are those before `end` that a read at `now` or later can
// still see: event time in [window end at `now` - retention, end), every
// event before `end` for a view with a lifetime window. The window asked for does not
// narrow this: adding an event that a state already holds changes nothing,
// so each run makes the states whole, whatever ran before.
#pragma once

#include <string>

#include "larder/materialize.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "materialize/materializer.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"

namespace larder::materialize {

// Another engine's reading of the events (materializer.h): with `import`
// set, it fills `table` (ImportedRows::kEvents) and the states are built
// from there; the table is dropped when done.
struct TileImport {
  const ViewRowsImporter& import;
  std::string table;
};

// Rows are events read; written counts the entities whose state changed.
Status MaterializeTiles(duckdb::Connection& conn, const FeatureRepo& repo, const FeatureView& view,
                        const offline::TableExists& exists, const std::string& db_path,
                        OnlineStore& store, TimestampMicros end, TimestampMicros now,
                        const TileImport& import, MaterializedView* done);

}  // namespace larder::materialize
