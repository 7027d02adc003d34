#include "offline/duckdb/duckdb_connection.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace larder::duckdb {
namespace {

// A fresh directory under the test temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "larder_duckdb_XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Connection> OpenMemory() {
  auto conn = Connection::Open(":memory:");
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return std::move(conn).value();
}

TEST(DuckDbConnection, OpensInMemoryWithUtcTimeZone) {
  auto conn = OpenMemory();
  EXPECT_TRUE(conn->time_zone_is_utc());
  auto tz = conn->QueryScalar("SELECT current_setting('TimeZone')", "tz");
  ASSERT_TRUE(tz.ok()) << tz.status().ToString();
  EXPECT_EQ(tz->value_or(""), "UTC");
  auto ts = conn->QueryScalar(
      "SELECT TIMESTAMPTZ '2020-01-01 05:00:00+05'", "ts");
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->value_or(""), "2020-01-01 00:00:00+00");
}

TEST(DuckDbConnection, OpenCreatesParentDirectoryAndPersists) {
  TempDir dir;
  std::string path = dir.path() + "/a/b/store.duckdb";
  {
    auto conn = Connection::Open(path);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE((*conn)->Execute("CREATE TABLE t AS SELECT 42 AS x", "setup")
                    .ok());
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  auto conn = Connection::Open(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto x = (*conn)->QueryScalar("SELECT x FROM t", "check");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->value_or(""), "42");
}

// Two instances of one file in one process would both write it: a second
// Open shares the first's database, and so sees its writes at once.
TEST(DuckDbConnection, OpensOfOneFileInOneProcessShareItsDatabase) {
  TempDir dir;
  const std::string path = dir.path() + "/store.duckdb";
  auto first = Connection::Open(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Connection::Open(dir.path() + "/./store.duckdb");  // the same file
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE((*first)->Execute("CREATE TABLE t AS SELECT 7 AS x", "setup").ok());
  auto x = (*second)->QueryScalar("SELECT x FROM t", "check");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->value_or(""), "7");
  // Closed by its last connection, the file opens afresh, from many threads at once.
  first->reset();
  second->reset();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 20; ++round) {
        auto conn = Connection::Open(path);
        if (!conn.ok()) return;
        if (!(*conn)->Execute("INSERT INTO t VALUES (" + std::to_string(i) + ")", "insert").ok()) {
          return;
        }
      }
      ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  auto n = Connection::Open(path);
  ASSERT_TRUE(n.ok());
  auto count = (*n)->QueryScalar("SELECT count(*) FROM t", "count");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->value_or(""), "161");
}

TEST(DuckDbConnection, OpenFailsWhenParentIsAFile) {
  TempDir dir;
  std::string file = dir.path() + "/plain";
  std::ofstream(file) << "not a directory";
  auto conn = Connection::Open(file + "/db.duckdb");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kIOError);
  EXPECT_NE(conn.status().message().find(file), std::string::npos)
      << conn.status().ToString();
}

TEST(DuckDbConnection, ErrorsNameTheObjectAndMapToCodes) {
  auto conn = OpenMemory();

  Status parse = conn->Execute("SELEC 1", "model agg_book_features");
  EXPECT_EQ(parse.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse.message().rfind("model agg_book_features: Parser Error", 0),
            0u)
      << parse.message();
  // DuckDB repeats the "LINE 1:" context of parser errors; we keep one.
  auto first = parse.message().find("LINE 1:");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(parse.message().find("LINE 1:", first + 1), std::string::npos)
      << parse.message();

  Status catalog = conn->Execute("SELECT * FROM nosuch", "model m");
  EXPECT_EQ(catalog.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(catalog.message().find("model m: Catalog Error"),
            std::string::npos);

  Status binder = conn->Execute("SELECT nosuchcol FROM range(3)", "model m");
  EXPECT_EQ(binder.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(binder.message().find("Binder Error"), std::string::npos);

  Status io = conn->Execute(
      "SELECT * FROM read_parquet('/nonexistent/larder/x.parquet')",
      "file /nonexistent/larder/x.parquet");
  EXPECT_EQ(io.code(), StatusCode::kIOError);
  EXPECT_EQ(io.message().rfind("file /nonexistent/larder/x.parquet: IO Error",
                               0),
            0u)
      << io.message();

  auto q = conn->Query("SELECT CAST('abc' AS INTEGER)", "check");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("Conversion Error"), std::string::npos);
}

TEST(DuckDbConnection, ExecuteRunsSeveralStatements) {
  auto conn = OpenMemory();
  ASSERT_TRUE(conn->Execute("CREATE TABLE t(x BIGINT); INSERT INTO t VALUES "
                            "(1), (2); INSERT INTO t VALUES (3);",
                            "script")
                  .ok());
  auto sum = conn->QueryScalar("SELECT sum(x) FROM t", "sum");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->value_or(""), "6");
}

TEST(DuckDbConnection, QueryRendersColumnsTypesAndValues) {
  auto conn = OpenMemory();
  auto r = conn->Query(
      "SELECT 1::BIGINT AS i, 'x''y' AS s, NULL::VARCHAR AS n, 1.0::DOUBLE AS "
      "d, 0.1::FLOAT AS f, true AS b, 12.30::DECIMAL(10,2) AS dec, "
      "(-0.05)::DECIMAL(3,2) AS neg, DATE '2020-02-29' AS dt, "
      "TIMESTAMP '2020-01-01 00:00:00.5' AS ts, "
      "TIMESTAMPTZ '2021-06-01 12:30:00+00' AS tstz, "
      "TIMESTAMP_NS '2020-01-01 00:00:00.123456789' AS tsns, "
      "TIME '01:02:03.25' AS tm, "
      "INTERVAL '1 year 2 months 3 days 01:02:03.5' AS iv, "
      "[1, 2, NULL] AS l, {'a': 1, 'b': 'x'} AS st, MAP {'k': 1} AS m, "
      "'\\x01a'::BLOB AS bl, '00000000-0000-0000-0000-000000000001'::UUID AS "
      "u, (-170141183460469231731687303715884105728)::HUGEINT AS h, "
      "'x'::ENUM('x', 'y') AS e, [1, 2]::INTEGER[2] AS arr, "
      "DATE '0001-01-01' - 1 AS bc, 'infinity'::TIMESTAMP AS inf",
      "render");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  auto value = [&](std::string_view name) {
    int c = r->ColumnIndex(name);
    EXPECT_GE(c, 0) << name;
    return c < 0 ? std::optional<std::string>()
                 : r->rows[0][static_cast<size_t>(c)];
  };
  auto type = [&](std::string_view name) {
    int c = r->ColumnIndex(name);
    return c < 0 ? std::string() : r->column_types[static_cast<size_t>(c)];
  };
  EXPECT_EQ(value("i"), "1");
  EXPECT_EQ(type("i"), "BIGINT");
  EXPECT_EQ(value("s"), "x'y");
  EXPECT_EQ(type("s"), "VARCHAR");
  EXPECT_EQ(value("n"), std::nullopt);
  EXPECT_EQ(value("d"), "1.0");
  EXPECT_EQ(value("f"), "0.1");
  EXPECT_EQ(value("b"), "true");
  EXPECT_EQ(value("dec"), "12.30");
  EXPECT_EQ(type("dec"), "DECIMAL(10,2)");
  EXPECT_EQ(value("neg"), "-0.05");
  EXPECT_EQ(value("dt"), "2020-02-29");
  EXPECT_EQ(value("ts"), "2020-01-01 00:00:00.5");
  EXPECT_EQ(value("tstz"), "2021-06-01 12:30:00+00");
  EXPECT_EQ(type("tstz"), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(value("tsns"), "2020-01-01 00:00:00.123456789");
  EXPECT_EQ(value("tm"), "01:02:03.25");
  EXPECT_EQ(value("iv"), "1 year 2 months 3 days 01:02:03.5");
  EXPECT_EQ(value("l"), "[1, 2, NULL]");
  EXPECT_EQ(type("l"), "INTEGER[]");
  EXPECT_EQ(value("st"), "{'a': 1, 'b': x}");
  EXPECT_EQ(type("st"), "STRUCT(a INTEGER, b VARCHAR)");
  EXPECT_EQ(value("m"), "{k=1}");
  EXPECT_EQ(type("m"), "MAP(VARCHAR, INTEGER)");
  EXPECT_EQ(value("bl"), "\\x01a");
  EXPECT_EQ(value("u"), "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(value("h"), "-170141183460469231731687303715884105728");
  EXPECT_EQ(value("e"), "x");
  EXPECT_EQ(value("arr"), "[1, 2]");
  EXPECT_EQ(type("arr"), "INTEGER[2]");
  EXPECT_EQ(value("bc"), "0001-12-31 (BC)");
  EXPECT_EQ(value("inf"), "infinity");
}

TEST(DuckDbConnection, QueryRendersLikeDuckDbVarcharCast) {
  // Our renderer and DuckDB's own cast agree on the common scalar types.
  auto conn = OpenMemory();
  auto r = conn->Query(
      "WITH v AS (SELECT * FROM (VALUES "
      "(1.5::DOUBLE, TIMESTAMPTZ '1969-12-31 23:59:59.999+00', "
      "INTERVAL '-1 day 3 hours', DATE '1900-02-28'), "
      "(1e20, TIMESTAMPTZ '2020-01-01 00:00:00+00', INTERVAL '30 hours', "
      "DATE '2000-01-01'), "
      "(1e-7, TIMESTAMPTZ '0044-03-15 00:00:00+00', INTERVAL '0 seconds', "
      "DATE '9999-12-31')) t(d, ts, iv, dt)) "
      "SELECT d, d::VARCHAR, ts, ts::VARCHAR, iv, iv::VARCHAR, dt, "
      "dt::VARCHAR FROM v",
      "compare");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 3u);
  for (const auto& row : r->rows) {
    for (size_t c = 0; c < row.size(); c += 2) {
      EXPECT_EQ(row[c], row[c + 1]) << "column " << r->column_names[c];
    }
  }
}

TEST(DuckDbConnection, QueryHandlesManyChunks) {
  auto conn = OpenMemory();
  auto r = conn->Query("SELECT range AS x FROM range(5000)", "range");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows.size(), 5000u);
  EXPECT_EQ(r->rows[4999][0], "4999");
}

TEST(DuckDbConnection, QueryScalarWantsOneRow) {
  auto conn = OpenMemory();
  auto none = conn->QueryScalar("SELECT 1 WHERE false", "probe");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("probe"), std::string::npos);
  auto null = conn->QueryScalar("SELECT NULL", "probe");
  ASSERT_TRUE(null.ok());
  EXPECT_EQ(*null, std::nullopt);
}

TEST(DuckDbConnection, AppenderInsertsRows) {
  auto conn = OpenMemory();
  ASSERT_TRUE(conn->Execute("CREATE TABLE t(b BOOLEAN, i INTEGER, l BIGINT, "
                            "d DOUBLE, s VARCHAR, ts TIMESTAMP, "
                            "tz TIMESTAMPTZ)",
                            "setup")
                  .ok());
  auto app = conn->CreateAppender("t");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  for (int i = 0; i < 3000; ++i) {
    (*app)->AppendBool(i % 2 == 0);
    (*app)->AppendInt32(i);
    (*app)->AppendInt64(int64_t{i} * 1'000'000'000'000);
    (*app)->AppendDouble(i / 2.0);
    if (i % 3 == 0) {
      (*app)->AppendNull();
    } else {
      (*app)->AppendVarchar(std::string_view("abc\0def", 7).substr(0, 3));
    }
    (*app)->AppendTimestamp(1'577'836'800'000'000 + i);
    (*app)->AppendTimestampTz(1'577'836'800'000'000 + i);
    ASSERT_TRUE((*app)->EndRow().ok());
  }
  ASSERT_TRUE((*app)->Close().ok());
  ASSERT_TRUE((*app)->Close().ok());  // idempotent
  auto r = conn->Query(
      "SELECT count(*), count(s), sum(i), min(tz), max(ts), "
      "count(*) FILTER (WHERE tz::TIMESTAMP = ts) FROM t",
      "check");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows[0][0], "3000");
  EXPECT_EQ(r->rows[0][1], "2000");
  EXPECT_EQ(r->rows[0][2], "4498500");
  EXPECT_EQ(r->rows[0][3], "2020-01-01 00:00:00+00");
  EXPECT_EQ(r->rows[0][4], "2020-01-01 00:00:00.002999");
  EXPECT_EQ(r->rows[0][5], "3000");
}

TEST(DuckDbConnection, AppenderReportsErrors) {
  auto conn = OpenMemory();
  auto missing = conn->CreateAppender("nosuch");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("table nosuch"),
            std::string::npos)
      << missing.status().ToString();

  ASSERT_TRUE(conn->Execute("CREATE TABLE t(a BIGINT, b BIGINT)", "s").ok());
  auto app = conn->CreateAppender("t");
  ASSERT_TRUE(app.ok());
  (*app)->AppendInt64(1);
  Status short_row = (*app)->EndRow();
  EXPECT_FALSE(short_row.ok());
  EXPECT_NE(short_row.message().find("table t"), std::string::npos)
      << short_row.ToString();
  // The appender stays failed.
  (*app)->AppendInt64(2);
  EXPECT_FALSE((*app)->EndRow().ok());
}

TEST(DuckDbConnection, NewConnectionSharesTheDatabase) {
  auto conn = OpenMemory();
  ASSERT_TRUE(conn->Execute("CREATE TABLE t AS SELECT 7 AS x", "s").ok());
  auto other = conn->NewConnection();
  ASSERT_TRUE(other.ok());
  conn.reset();  // the database stays open for `other`
  auto x = (*other)->QueryScalar("SELECT x FROM t", "check");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->value_or(""), "7");
}

TEST(DuckDbConnection, InterruptStopsALongQuery) {
  auto conn = OpenMemory();
  std::atomic<bool> done{false};
  // Interrupt until the query has stopped: an interrupt that arrives before
  // the query starts is forgotten.
  std::thread stopper([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      conn->Interrupt();
    }
  });
  Status st = conn->Execute(
      "SELECT count(*) FROM range(1000000000000) a, range(10) b WHERE a.range "
      "% 7 = b.range",
      "long query");
  done.store(true);
  stopper.join();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("long query"), std::string::npos);
}

TEST(DuckDbConnection, QuoteHelpers) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  auto conn = OpenMemory();
  auto v = conn->QueryScalar("SELECT " + QuoteLiteral("'; DROP TABLE x; --"),
                             "quote");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "'; DROP TABLE x; --");
  EXPECT_EQ(FormatTimestampMicros(1'577'836'800'500'000),
            "2020-01-01 00:00:00.5");
  EXPECT_EQ(FormatTimestampMicros(-1), "1969-12-31 23:59:59.999999");
}

TEST(DuckDbConnection, QueryValuesReadsTypedColumns) {
  auto conn = Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::vector<ValueType> types = {ValueType{ScalarType::kInt64},
                                        ValueType{ScalarType::kString},
                                        ValueType{ScalarType::kFloat64, true}};
  auto rows = (*conn)->QueryValues(
      "SELECT * FROM (VALUES (1::BIGINT, 'a', [1.5, 2.0]::DOUBLE[]), (NULL, NULL, NULL)) t(a, b, c)",
      "typed", types);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], Value::Int64(1));
  EXPECT_EQ((*rows)[0][1], Value::String("a"));
  EXPECT_EQ((*rows)[0][2], Value::Float64Array({1.5, 2.0}));
  for (const Value& v : (*rows)[1]) EXPECT_TRUE(v.is_null());
}

TEST(DuckDbConnection, QueryValuesNamesAMismatchedColumnAndANullElement) {
  auto conn = Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::vector<ValueType> ints = {ValueType{ScalarType::kInt64}};
  auto wrong = (*conn)->QueryValues("SELECT 'x' AS name", "typed", ints);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("column \"name\" is VARCHAR, not a column of Int64"),
            std::string::npos)
      << wrong.status().message();
  const std::vector<ValueType> list = {ValueType{ScalarType::kInt64, true}};
  auto null_element = (*conn)->QueryValues("SELECT [1, NULL]::BIGINT[] AS xs", "typed", list);
  ASSERT_FALSE(null_element.ok());
  EXPECT_NE(null_element.status().message().find("column \"xs\", row 1: a NULL array element"),
            std::string::npos)
      << null_element.status().message();
}

// Whether `text` contains `part`; for EXPECT_TRUE with the text in the message.
bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DuckDbConnection, PrepareOneAcceptsExactlyOneStatementOfTheKind) {
  auto conn = OpenMemory();
  ASSERT_TRUE(conn->Execute("CREATE TABLE t AS SELECT 1 AS x", "setup").ok());
  for (const char* sql : {"SELECT x FROM t", "FROM t", "VALUES (1)", "SELECT 1;",
                          "SELECT 1 -- no newline after this comment", "WITH a AS (SELECT 1) "
                          "SELECT * FROM a;  -- x\n"}) {
    auto p = conn->PrepareOne(sql, "q", StatementKind::kSelect);
    EXPECT_TRUE(p.ok()) << sql << ": " << p.status().ToString();
  }
  struct Refused {
    const char* sql;
    const char* message;
  };
  for (const Refused& r : std::vector<Refused>{
           {"SELECT 1; DROP TABLE t", "q: holds 2 statements; give only one SELECT statement"},
           {"DROP TABLE t", "q: is a DROP statement; give one SELECT statement"},
           {"COPY t TO 'x.csv'", "q: is a COPY statement"},
           {"ATTACH 'x.duckdb' AS x", "q: is a ATTACH statement"},
           {"SET threads = 1", "q: is a SET statement"},
           {"  -- only a comment", "q: holds no SQL statement"}}) {
    bool wrong_shape = false;
    auto p = conn->PrepareOne(r.sql, "q", StatementKind::kSelect, &wrong_shape);
    ASSERT_FALSE(p.ok()) << r.sql;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Has(p.status().message(), r.message)) << p.status().message();
    EXPECT_TRUE(wrong_shape) << r.sql;
  }
  bool wrong_shape = true;
  auto bad = conn->PrepareOne("SELECT nope FROM t", "q", StatementKind::kSelect, &wrong_shape);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(wrong_shape);
  EXPECT_TRUE(Has(bad.status().message(), "q: Binder Error")) << bad.status().message();
  // Preparing runs nothing; executing runs the one statement.
  auto create = conn->PrepareOne("CREATE TABLE u AS SELECT 2 AS y", "c", StatementKind::kCreate);
  ASSERT_TRUE(create.ok()) << create.status().ToString();
  EXPECT_EQ(conn->QueryScalar("SELECT count(*) FROM information_schema.tables WHERE "
                              "table_name = 'u'", "n")->value_or(""), "0");
  ASSERT_TRUE((*create)->Execute().ok());
  EXPECT_EQ(conn->QueryScalar("SELECT y FROM u", "u")->value_or(""), "2");
}

TEST(DuckDbConnection, ReadOnlyOpenRefusesWrites) {
  TempDir dir;
  std::string path = dir.path() + "/store.duckdb";
  {
    auto conn = Connection::Open(path);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Execute("CREATE TABLE t AS SELECT 1 AS x", "setup").ok());
  }
  OpenOptions read_only;
  read_only.read_only = true;
  auto conn = Connection::Open(path, read_only);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ((*conn)->QueryScalar("SELECT x FROM t", "t")->value_or(""), "1");
  EXPECT_FALSE((*conn)->Execute("DROP TABLE t", "drop").ok());
  EXPECT_FALSE((*conn)->Execute("INSERT INTO t VALUES (2)", "insert").ok());
  EXPECT_FALSE(Connection::Open(dir.path() + "/missing.duckdb", read_only).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/missing.duckdb"));
  auto memory = Connection::Open(":memory:", read_only);
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().code(), StatusCode::kInvalidArgument);
}

TEST(DuckDbConnection, WithoutSqlContextDropsTheQuotedSql) {
  auto conn = OpenMemory();
  Status st = conn->Execute("SELECT CAST('nope' AS INTEGER) AS secret_internal_name", "q");
  ASSERT_FALSE(st.ok());
  ASSERT_TRUE(Has(st.message(), "LINE 1")) << st.message();
  Status clean = WithoutSqlContext(st);
  EXPECT_EQ(clean.code(), st.code());
  EXPECT_FALSE(Has(clean.message(), "LINE")) << clean.message();
  EXPECT_FALSE(Has(clean.message(), "secret_internal_name")) << clean.message();
  EXPECT_TRUE(Has(clean.message(), "q: Conversion Error")) << clean.message();
  EXPECT_EQ(WithoutSqlContext("plain message"), "plain message");
}

}  // namespace
}  // namespace larder::duckdb
