// Data tests (models' YAML `tests:`), whatever the engine: their SQL, written
// once in each engine's dialect (sql_dialect.h), and their run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "larder/repo.h"
#include "larder/status.h"
#include "larder/transform.h"
#include "transform/sql_dialect.h"

namespace larder::transform {

// The SQL of one data test in `relations.engine`'s dialect: a query whose
// single value is the number of failing rows. `now` is for freshness.
// Failing rows per test:
//   not_null         rows where the column is NULL
//   unique           rows whose non-NULL value appears more than once
//   accepted_values  non-NULL rows whose value, as text, is not listed
//   accepted_range   non-NULL rows below min_value or above max_value
//   relationships    non-NULL rows whose value is not in `to`.`field`
//                    (`to`: a model's table, or a data source's raw rows)
//   freshness        1 when max(column) is NULL or older than now - max_age,
//                    else 0
Result<std::string> DataTestSql(const FeatureRepo& repo, const SqlRelations& relations,
                                const std::string& model, const DataTest& test,
                                TimestampMicros now);

// What RunDataTestsOn needs of an engine.
struct DataTestEngine {
  SqlRelations relations;
  // Whether model `model`'s table or view exists. REQUIRED.
  std::function<bool(std::string_view model)> built;
  // The single integer value of query `sql`; errors prefixed with `what`.
  // REQUIRED.
  std::function<Result<int64_t>(const std::string& sql, const std::string& what)> count;
};

// Runs the data tests of the models `options.select` chooses, by model name
// then declaration order. A test that cannot run (its model not built, an
// error of its query) is reported with its error and counts as failed.
Result<TestReport> RunDataTestsOn(const FeatureRepo& repo, const DataTestEngine& engine,
                                  const TestOptions& options);

}  // namespace larder::transform
