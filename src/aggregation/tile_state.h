// The online state of one entity of an aggregation view: its events, and the
// tiles of every rollup level built from them.
//
// The events are the truth: a state is a function of its set of events
// (event.h), and merging adds events to the set. Adding an event twice, or
// in any order, or through a push and then a materialization, gives the same
// bytes. The tiles are derived: a merge rebuilds those that hold an incoming
// or a pruned event and keeps the stored bytes of the others (which are what
// rebuilding would give). Reads use only the tiles (and, for continuous
// views, the events at the window's edges), so a read costs a few binary
// searches and the partials of about a hundred tiles at most, whatever the
// number of events. A merge still reads and rewrites the entity's whole
// state: its cost grows with the events kept (docs/BENCHMARKS.md).
//
// Layout (all integers little-endian):
//   0   u8       format version, 0x01
//   1   fixed64  TileLayout::columns_fingerprint()
//   9   fixed64  TileLayout::tiles_fingerprint()
//   17  fixed32  offset of the events section
//   21  fixed32  offset of each level's section, level 1 first
//   level section:  fixed32 n, n x fixed64 tile start, (n + 1) x fixed32 end
//                   offsets of each tile's payload (relative to the payload
//                   start, the first being 0), then the payloads: per slot
//                   in order, EncodePartial
//   events section: fixed32 n, n x fixed64 time, (n + 1) x fixed32 offsets,
//                   then per event: fixed64 tie key and its values
//                   (online/value_codec.h), one per column
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aggregation/event.h"
#include "aggregation/tile_layout.h"
#include "larder/status.h"

namespace larder::aggregation {

// Adds `incoming` to the events of `stored` (nullptr or empty when there is
// no state), drops events that no read at `now` or later can see (older than
// the window end at `now` minus layout.retention()), and writes the new state
// to `*out`, or clears it when no event remains. Events stored under other
// columns (another columns_fingerprint) are dropped; stored tiles of another
// layout are rebuilt. `*changed` tells whether the state differs from
// `stored`. Corruption when `stored` does not parse.
Status MergeEvents(const TileLayout& layout, const std::string* stored,
                   std::vector<Event> incoming, TimestampMicros now, std::string* out,
                   bool* changed);

// The value of every aggregation (layout.aggregations() order) at instant
// `t` (see TileLayout::WindowEnd): counts 0 and nulls for an empty or absent
// (`stored` empty) state, or one stored under other aggregated columns. A
// state stored under other tiles (the view's aggregations changed, not its
// columns) is read through tiles rebuilt from its events. Corruption when `stored` does not parse;
// InvalidArgument when an integer sum leaves Int64.
Status Evaluate(const TileLayout& layout, std::string_view stored, TimestampMicros t,
                std::vector<Value>* values);

// The events of a state, in order (for tests and inspection).
Result<std::vector<Event>> DecodeEvents(const TileLayout& layout, std::string_view stored);

// The tiles a state keeps, over all levels (for tests and inspection): 0
// for a state of at most 32 events, which is read from its events alone.
Result<size_t> CountTiles(const TileLayout& layout, std::string_view stored);

}  // namespace larder::aggregation
