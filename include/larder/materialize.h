// Materialization (offline sources -> online store): the per-call option and
// report structs of FeatureStore::Materialize and MaterializeIncremental.
//
// Materialization semantics (as Feast's `materialize`): for each selected
// online feature view (online: true), the latest row per entity key whose
// event timestamp t satisfies start <= t < end is written to the online store;
// rows of equal t are ordered by the source's created timestamp (greatest
// wins; NULL loses). Writes are conditional (larder/online_store.h), so
// reruns, overlapping windows and interrupted runs converge to the same store.
//
// Watermarks: per (project, view) the end of the last window that fully
// landed is stored in the offline store database (table
// larder_materialization_watermarks). It moves only after every partition of
// the view's window has been written, and never backwards.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "larder/types.h"
#include "larder/value.h"

namespace larder {

// One view's progress, reported while it materializes.
struct MaterializeProgress {
  std::string view;
  int64_t rows_done = 0;   // rows written + skipped so far
  // Rows in the window (latest per entity).
  int64_t rows_total = 0;
  bool finished = false;   // the view's window has fully landed
  int view_number = 0;     // 1-based position of the view in this run
  int views_total = 0;     // views in this run
};

struct MaterializeOptions {
  // The feature views to materialize. Default: empty = every online view.
  // An unknown or offline-only view is NotFound / InvalidArgument.
  std::vector<std::string> views;
  // Parallel partitions per view, by hash of the join keys; each runs on its
  // own thread and DuckDB connection. REQUIRES: >= 0. Default: 0, which
  // means feature_store.yaml's batch_engine.partitions (itself 4 by default).
  int partitions = 0;
  // Rows read and written per batch: DuckDB computes a view's latest rows
  // once (into an in-memory table that spills to disk under memory
  // pressure), and the partitions read them in hash slices of about this size.
  // REQUIRES: >= 1. Default: 50000.
  int64_t chunk_rows = 50000;
  // Called from worker threads (serialised by a lock) as rows land, and once
  // per view with finished = true. May be empty.
  std::function<void(const MaterializeProgress&)> progress;
  // MaterializeIncremental only: each view starts this much before its
  // watermark, re-writing rows that landed late (newer-wins writes make
  // that safe). REQUIRES: >= 0. Default: 0.
  Duration lookback;
  // Now, for aggregation views: their online states drop the events that no
  // read at min(now, end) or later can see. Default 0: the end.
  // (FeatureStore sets it from its clock.)
  TimestampMicros now = 0;
};

// What one view's materialization did.
struct MaterializedView {
  std::string view;
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  int64_t rows = 0;     // rows in the window (latest per entity key)
  int64_t written = 0;  // records that landed (newer than the stored ones)
  int64_t skipped = 0;  // records that were not newer
  // The newest event time among the window's rows; 0 when it had none (or
  // for an aggregation view, whose events land as states).
  TimestampMicros newest_event = 0;
  double seconds = 0;
};

struct MaterializeReport {
  std::vector<MaterializedView> views;
  // Time spent in OnlineStore::Optimize after the views landed (called only
  // when some record was written).
  double optimize_seconds = 0;
};

}  // namespace larder
