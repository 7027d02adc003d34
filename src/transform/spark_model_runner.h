// Builds SQL models and runs their data tests on Spark (the spark offline
// store), with the DuckDB runner's semantics (model_runner.h) row for row.
//
// Tables live in the Spark database ModelDatabase(repo) (offline/spark/
// spark_sql.h: offline_store.database, default larder_<project>), created
// when missing, as parquet tables `<database>`.`<model>`. Spark runs no
// multi-statement transactions, so:
//   view         CREATE OR REPLACE VIEW (after dropping a table of that name).
//   table        CREATE TABLE `<model>__larder_build` USING parquet AS the
//                model's SELECT, then DROP the old relation and ALTER TABLE
//                ... RENAME the build into place. A failed build is dropped
//                and leaves the old table.
//   incremental  the first run, a run with full_refresh, or one where the
//                relation is not a table builds it as `table` does. Later
//                runs render with is_incremental() true into table
//                `<model>__larder_incoming`; `append` inserts it by column
//                name; `merge` (parquet tables have no DELETE or MERGE)
//                builds the old rows whose unique_key matches no incoming
//                row's (null-safe, <=>) UNION ALL the incoming rows into the
//                build table and swaps it in as `table` does.
// Every model's SQL is analysed (Spark's Schema) before anything changes, and
// runs as a subquery of the statement Larder writes, so it is one query.
//
// A crash between DROP and RENAME leaves the build table and no model table.
// Spark's CREATE TABLE ... AS registers the table only after its data is
// written, so a build table in the catalog is complete: the next run
// renames it into place when the model's table is missing, and drops it
// otherwise (the old table stayed), before building. A crash during an
// append's INSERT leaves what Spark's file commit left (Spark commits an
// insert's files at the job's end).
//
// The run history (larder_run_history) goes to `history`, Larder's local
// state file, through the same code as the DuckDB runner's.
#pragma once

#include "larder/repo.h"
#include "larder/transform.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::transform {

// As RunModels (model_runner.h), on Spark. REQUIRES: repo.root and
// repo.config.offline_store are the store's (file sources resolve against
// the root; the database comes from the store's options).
Result<RunReport> RunSparkModels(const FeatureRepo& repo,
                                 offline::spark::SparkConnectClient& client,
                                 duckdb::Connection& history, const RunOptions& options);

// As RunDataTests (model_runner.h), on Spark, with the same queries in Spark
// SQL (data_tests.h). A database that does not exist yet means no model has
// been built.
Result<TestReport> RunSparkDataTests(const FeatureRepo& repo,
                                     offline::spark::SparkConnectClient& client,
                                     const TestOptions& options);

}  // namespace larder::transform
