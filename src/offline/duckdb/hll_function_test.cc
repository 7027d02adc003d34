#include "offline/duckdb/hll_function.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "aggregation/event.h"
#include "aggregation/hll.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/tie_key_function.h"

namespace larder::duckdb {
namespace {

using aggregation::DistinctHash;
using aggregation::Hll;

std::unique_ptr<Connection> OpenWithFunctions() {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(":memory:");
  EXPECT_TRUE(conn.ok());
  EXPECT_TRUE(RegisterTieKeyFunction(**conn).ok());
  EXPECT_TRUE(RegisterHllCountFunction(**conn).ok());
  return std::move(*conn);
}

int64_t QueryInt(Connection& conn, const std::string& sql) {
  Result<std::optional<std::string>> v = conn.QueryScalar(sql, "test");
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() && v->has_value() ? std::stoll(**v) : -1;
}

TEST(HllCountFunction, NoInputGivesZero) {
  auto conn = OpenWithFunctions();
  EXPECT_EQ(QueryInt(*conn, "SELECT larder_hll_count(NULL::UBIGINT)"), 0);
  EXPECT_EQ(QueryInt(*conn, "SELECT larder_hll_count(x) FROM (SELECT 1::UBIGINT AS x) WHERE false"),
            0);
  // Registering twice on one database is fine.
  EXPECT_TRUE(RegisterHllCountFunction(*conn).ok());
}

TEST(HllCountFunction, EqualsTheSketchOfDistinctHashes) {
  auto conn = OpenWithFunctions();
  ASSERT_TRUE(conn->Execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE "
                            "(i % 5000)::BIGINT END AS n, 'book-' || (i % 3000) AS s, "
                            "CASE i % 4 WHEN 0 THEN '-0.0'::DOUBLE WHEN 2 THEN 0.0::DOUBLE "
                            "ELSE (i % 900) / 4.0 END AS d "
                            "FROM range(40000) r(i)",
                            "data")
                  .ok());
  Hll ints, strings, doubles;
  for (int64_t i = 0; i < 40000; ++i) {
    if (i % 7 != 0) ints.Add(DistinctHash(Value::Int64(i % 5000)));
    strings.Add(DistinctHash(Value::String("book-" + std::to_string(i % 3000))));
    // -0.0 counts as 0.0: the SQL adds 0.0 first.
    doubles.Add(DistinctHash(Value::Float64(i % 2 == 0 ? 0.0 : (i % 900) / 4.0)));
  }
  const ValueType int64{ScalarType::kInt64, false};
  const ValueType str{ScalarType::kString, false};
  const ValueType f64{ScalarType::kFloat64, false};
  auto hll_sql = [](const std::string& column, const ValueType& t) {
    const std::vector<std::string> cols{column};
    const std::vector<ValueType> types{t};
    return "SELECT larder_hll_count(" + TieKeySql(cols, types) + ") FILTER (WHERE " + column +
           " IS NOT NULL) FROM t";
  };
  EXPECT_EQ(QueryInt(*conn, hll_sql("n", int64)), ints.Estimate());
  EXPECT_EQ(QueryInt(*conn, hll_sql("s", str)), strings.Estimate());
  EXPECT_EQ(QueryInt(*conn, hll_sql("d + 0.0", f64)), doubles.Estimate());
  // Without it, -0.0 is a value of its own.
  EXPECT_EQ(QueryInt(*conn, hll_sql("d", f64)), doubles.Estimate() + 1);
  // A grouped aggregation merges partial sketches: still the same estimates.
  Hll groups[3];
  for (int64_t i = 0; i < 40000; ++i) {
    groups[i % 3].Add(DistinctHash(Value::String("book-" + std::to_string(i % 3000))));
  }
  Result<std::vector<std::vector<Value>>> grouped = conn->QueryValues(
      "SELECT i % 3, larder_hll_count(" +
          TieKeySql(std::vector<std::string>{"s"}, std::vector<ValueType>{str}) +
          ") FROM t GROUP BY ALL ORDER BY 1",
      "grouped", std::vector<ValueType>{int64, int64});
  ASSERT_TRUE(grouped.ok()) << grouped.status().ToString();
  ASSERT_EQ(grouped->size(), 3u);
  for (int g = 0; g < 3; ++g) EXPECT_EQ((*grouped)[g][1].int64_value(), groups[g].Estimate());
}

TEST(HllCountFunction, WorksAsAWindowAggregateOverRangeFrames) {
  auto conn = OpenWithFunctions();
  // Events of 3 keys at random times, with repeated and NULL values.
  std::mt19937_64 rng(3);
  struct Row {
    int key;
    int64_t t;
    std::optional<int64_t> v;
  };
  std::vector<Row> rows;
  std::string values;
  for (int i = 0; i < 3000; ++i) {
    Row r{static_cast<int>(rng() % 3), static_cast<int64_t>(rng() % 100000),
          rng() % 10 == 0 ? std::nullopt : std::optional<int64_t>(rng() % 700)};
    values += std::string(values.empty() ? "" : ", ") + "(" + std::to_string(i) + ", " +
              std::to_string(r.key) + ", " + std::to_string(r.t) + ", " +
              (r.v ? std::to_string(*r.v) : "NULL") + ")";
    rows.push_back(r);
  }
  ASSERT_TRUE(conn->Execute("CREATE TABLE e (id BIGINT, k INTEGER, t BIGINT, v BIGINT); "
                            "INSERT INTO e VALUES " + values,
                            "data")
                  .ok());
  const ValueType int64{ScalarType::kInt64, false};
  Result<std::vector<std::vector<Value>>> got = conn->QueryValues(
      "SELECT id, larder_hll_count(" +
          TieKeySql(std::vector<std::string>{"v"}, std::vector<ValueType>{int64}) +
          ") FILTER (WHERE v IS NOT NULL) OVER (PARTITION BY k ORDER BY t RANGE BETWEEN 20000 "
          "PRECEDING AND 1 PRECEDING) FROM e ORDER BY id",
      "window", std::vector<ValueType>{int64, int64});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    Hll want;
    for (const Row& r : rows) {
      if (r.key == rows[i].key && r.v && r.t >= rows[i].t - 20000 && r.t < rows[i].t) {
        want.Add(DistinctHash(Value::Int64(*r.v)));
      }
    }
    ASSERT_EQ((*got)[i][1].int64_value(), want.Estimate()) << "row " << i;
  }
}

}  // namespace
}  // namespace larder::duckdb
