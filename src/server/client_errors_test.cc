#include "server/client_errors.h"

#include <gtest/gtest.h>

namespace larder::server {
namespace {

TEST(ClientErrors, CutsAbsolutePathsAndLockHolders) {
  // DuckDB's text when another process holds the offline store.
  EXPECT_EQ(RedactForClient(
                "offline store: IO Error: Could not set lock on file "
                "\"/srv/repos/books/data/offline_store.duckdb\": Conflicting lock is held in "
                "/usr/local/bin/larder (PID 48213) by user alice. See also "
                "https://duckdb.org/docs/stable/connect/concurrency"),
            "offline store: IO Error: Could not set lock on file \"offline_store.duckdb\": "
            "Conflicting lock is held in larder. See also "
            "https://duckdb.org/docs/stable/connect/concurrency");
  // RocksDB's.
  EXPECT_EQ(RedactForClient("rocksdb online store /srv/r/data/online_store is already open "
                            "(IO error: While lock file: /srv/r/data/online_store/LOCK: "
                            "Resource temporarily unavailable)"),
            "rocksdb online store online_store is already open (IO error: While lock file: "
            "LOCK: Resource temporarily unavailable)");
  EXPECT_EQ(RedactForClient("cannot read '/etc/larder/' (pid=77)"), "cannot read 'larder'");
  // Relative paths, URLs and plain text stay.
  EXPECT_EQ(RedactForClient("df.x[0]: data/a.parquet and view:feature, 3/4 done"),
            "df.x[0]: data/a.parquet and view:feature, 3/4 done");
  EXPECT_EQ(RedactForClient("/"), "/");
}

TEST(ClientErrors, DiskFullIsNotARetryableBusy) {
  // DuckDB reports a failed commit as a transaction error, which Larder
  // maps to Busy (503); a full disk must not invite the retry.
  const Status full = Status::Busy(
      "TransactionContext Error: Failed to commit: Could not write file \"/d/x.duckdb.wal\": "
      "No space left on device");
  EXPECT_EQ(HttpStatusFor(full), 507);
  EXPECT_EQ(HttpStatusFor(Status::IOError("IO error: No space left on device")), 507);
  EXPECT_EQ(HttpStatusFor(Status::IOError("database or disk is full")), 507);
  EXPECT_EQ(HttpStatusFor(Status::Busy("Could not set lock on file")), 503);
  // The client's own text proves nothing about the disk.
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument(
                "df.x[0]: String(\"No space left on device\") cannot be read as Float64")),
            400);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("no view 'v'")), 404);
  EXPECT_EQ(HttpStatusFor(Status::FailedPrecondition("model not built")), 409);
  EXPECT_EQ(HttpStatusFor(Status::IOError("connection reset")), 500);
}

}  // namespace
}  // namespace larder::server
