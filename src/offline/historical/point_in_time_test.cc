// Point-in-time correctness: Larder's historical retrieval against a
// brute-force reference in plain C++, over randomly generated sources and
// entity tables; plus one test per kind of bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "larder/repo.h"
#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "support/test_util.h"

namespace larder::offline {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using Value = std::optional<std::string>;  // a cell as text; nullopt is NULL

constexpr int64_t kMinute = 60'000'000;
// 2024-01-01 00:00:00 UTC.
constexpr TimestampMicros kBase = 1'704'067'200'000'000;

// One generated feature row, under the names the view sees (after
// field_mapping).
struct SourceRow {
  std::optional<int64_t> user_id;
  std::optional<std::string> isbn;
  TimestampMicros ts = 0;
  std::optional<TimestampMicros> created;
  std::vector<Value> features;
};

// A generated view: its definition pieces and rows.
struct GenView {
  std::string name;
  std::vector<std::string> entities;  // "user", "book"
  std::vector<std::string> features;
  std::vector<std::string> feature_types;  // DuckDB types
  Duration ttl;
  bool has_created = false;
  bool mapped = false;  // raw columns are renamed via field_mapping
  bool tz_timestamps = false;
  FileFormat format = FileFormat::kParquet;
  std::vector<SourceRow> rows;
};

struct EntityRow {
  std::optional<int64_t> user_id;
  std::optional<std::string> isbn;
  TimestampMicros ts = 0;
  int64_t label = 0;
};

std::string Lit(const Value& v) {
  return v.has_value() ? duckdb::QuoteLiteral(*v) : std::string("NULL");
}

std::string TsLit(TimestampMicros us, bool tz) {
  return "make_timestamp(" + std::to_string(us) + ")" + (tz ? "::TIMESTAMPTZ" : "");
}

// Writes a view's rows as its source file (raw column names) and returns the
// DataSource describing it.
DataSource WriteSource(duckdb::Connection& conn, const GenView& v, const std::string& dir) {
  DataSource s;
  s.name = v.name + "_source";
  s.kind = DataSourceKind::kFile;
  s.file_format = v.format;
  s.path = dir + "/" + v.name + (v.format == FileFormat::kCsv ? ".csv" : ".parquet");
  auto raw = [&](const std::string& name) { return v.mapped ? "raw_" + name : name; };
  s.timestamp_field = raw("ts");
  if (v.has_created) s.created_timestamp_column = raw("created");
  if (v.mapped) {
    s.field_mapping[raw("ts")] = "ts";
    if (v.has_created) s.field_mapping[raw("created")] = "created";
    for (const auto& e : v.entities) {
      std::string key = e == "user" ? "user_id" : "isbn";
      s.field_mapping[raw(key)] = key;
    }
    for (const auto& f : v.features) s.field_mapping[raw(f)] = f;
  }
  std::string ts_type = v.tz_timestamps ? "TIMESTAMPTZ" : "TIMESTAMP";
  std::string cols;
  for (const auto& e : v.entities) {
    cols += e == "user" ? raw("user_id") + " BIGINT, " : raw("isbn") + " VARCHAR, ";
  }
  cols += raw("ts") + " " + ts_type;
  if (v.has_created) cols += ", " + raw("created") + " " + ts_type;
  for (size_t f = 0; f < v.features.size(); ++f) {
    cols += ", " + raw(v.features[f]) + " " + v.feature_types[f];
  }
  std::string sql = "CREATE OR REPLACE TABLE gen (" + cols + ");";
  if (!v.rows.empty()) {
    sql += " INSERT INTO gen VALUES ";
    for (size_t i = 0; i < v.rows.size(); ++i) {
      const SourceRow& r = v.rows[i];
      std::string row;
      for (const auto& e : v.entities) {
        if (e == "user") {
          row += (r.user_id ? std::to_string(*r.user_id) : "NULL") + ", ";
        } else {
          row += Lit(r.isbn) + ", ";
        }
      }
      row += TsLit(r.ts, v.tz_timestamps);
      if (v.has_created) row += ", " + TsLit(*r.created, v.tz_timestamps);
      for (const auto& f : r.features) row += ", " + Lit(f);
      sql += (i ? ", (" : "(") + row + ")";
    }
    sql += ";";
  }
  sql += " COPY gen TO " + duckdb::QuoteLiteral(s.path) +
         (v.format == FileFormat::kCsv ? " (FORMAT csv, HEADER true)" : " (FORMAT parquet)");
  EXPECT_TRUE(conn.Execute(sql, "write " + v.name).ok());
  return s;
}

FeatureRepo BaseRepo(const std::string& root) {
  FeatureRepo repo;
  repo.root = root;
  repo.config.project = "pit";
  repo.config.offline_store.options["path"] = root + "/offline.duckdb";
  Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  user.value_type = {ScalarType::kInt64, false};
  Entity book;
  book.name = "book";
  book.join_keys = {"isbn"};
  book.value_type = {ScalarType::kString, false};
  repo.entities = {book, user};
  return repo;
}

void AddView(FeatureRepo& repo, const GenView& v, DataSource source) {
  FeatureView fv;
  fv.name = v.name;
  fv.entities = v.entities;
  fv.ttl = v.ttl;
  fv.source = source.name;
  for (size_t f = 0; f < v.features.size(); ++f) {
    Field field;
    field.name = v.features[f];
    fv.schema.push_back(field);
  }
  repo.data_sources.push_back(std::move(source));
  repo.feature_views.push_back(std::move(fv));
}

// FeatureRepo's look-ups expect each list sorted by name, as the loader
// leaves it.
void SortRepo(FeatureRepo& repo) {
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(repo.data_sources.begin(), repo.data_sources.end(), by_name);
  std::sort(repo.feature_views.begin(), repo.feature_views.end(), by_name);
  std::sort(repo.feature_services.begin(), repo.feature_services.end(), by_name);
}

// The brute-force reference: the acceptable feature tuples of `v` for `e`
// (several when rows tie on timestamp and created timestamp); one all-NULL
// tuple when no row qualifies.
std::vector<std::vector<Value>> Expected(const GenView& v, const EntityRow& e) {
  const SourceRow* best = nullptr;
  std::vector<const SourceRow*> ties;
  for (const auto& r : v.rows) {
    bool keys = true;
    for (const auto& ent : v.entities) {
      if (ent == "user") keys = keys && r.user_id && e.user_id && *r.user_id == *e.user_id;
      if (ent == "book") keys = keys && r.isbn && e.isbn && *r.isbn == *e.isbn;
    }
    if (!keys || r.ts > e.ts) continue;
    if (v.ttl.micros != 0 && r.ts < e.ts - v.ttl.micros) continue;
    auto better = [&](const SourceRow* a, const SourceRow* b) {  // a > b?
      if (a->ts != b->ts) return a->ts > b->ts;
      if (v.has_created) return *a->created > *b->created;
      return false;
    };
    if (best == nullptr || better(&r, best)) {
      best = &r;
      ties = {&r};
    } else if (!better(best, &r)) {
      ties.push_back(&r);
    }
  }
  if (best == nullptr) return {std::vector<Value>(v.features.size())};
  std::vector<std::vector<Value>> out;
  for (const SourceRow* r : ties) out.push_back(r->features);
  return out;
}

// Text of a generated value as DuckDB renders it back from the output.
Value RandomValue(std::mt19937_64& rng, const std::string& type) {
  if (rng() % 6 == 0) return std::nullopt;
  if (type == "BIGINT") return std::to_string(static_cast<int64_t>(rng() % 1000) - 500);
  if (type == "DOUBLE") return std::to_string(static_cast<int>(rng() % 200)) + ".5";
  return "s" + std::to_string(rng() % 50);
}

struct Scenario {
  std::vector<GenView> views;
  std::vector<EntityRow> entities;
};

Scenario Generate(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const Duration ttls[] = {{0}, {5 * kMinute}, {20 * kMinute}, {90 * kMinute}};
  Scenario sc;
  sc.views = {
      {"user_stats", {"user"}, {"u_count", "u_name"}, {"BIGINT", "VARCHAR"}, {}, false,
       false, false, FileFormat::kParquet, {}},
      {"book_stats", {"book"}, {"b_avg"}, {"DOUBLE"}, {}, false, false, false,
       FileFormat::kParquet, {}},
      {"user_mapped", {"user"}, {"score", "tag"}, {"BIGINT", "VARCHAR"}, {}, false, true,
       false, FileFormat::kParquet, {}},
      {"user_book", {"user", "book"}, {"pair_score"}, {"BIGINT"}, {}, false, false, false,
       FileFormat::kParquet, {}},
  };
  for (auto& v : sc.views) {
    v.ttl = ttls[pick(4)];
    v.has_created = pick(2) == 0;
    v.tz_timestamps = pick(3) == 0;
    int n = pick(40);  // sometimes very few rows
    // CSV types are sniffed from the rows, so only files with a few rows.
    v.format = n >= 5 && pick(3) == 0 ? FileFormat::kCsv : FileFormat::kParquet;
    for (int i = 0; i < n; ++i) {
      SourceRow r;
      // A few rows without a key: they never match.
      if (pick(25) != 0) r.user_id = 1 + pick(6);
      if (pick(25) != 0) r.isbn = "b" + std::to_string(1 + pick(5));
      // Coarse timestamps and created timestamps force ties.
      r.ts = kBase + (10 + pick(60)) * kMinute;
      if (v.has_created) r.created = r.ts + pick(3) * kMinute;
      for (const auto& t : v.feature_types) r.features.push_back(RandomValue(rng, t));
      v.rows.push_back(std::move(r));
    }
  }
  int n = 1 + pick(40);
  for (int i = 0; i < n; ++i) {
    EntityRow e;
    if (i > 0 && pick(6) == 0) {
      e = sc.entities[static_cast<size_t>(pick(i))];  // a duplicate row
    } else {
      // Users 7-8 and books b6-b7 are never seen; times start before all
      // feature rows.
      if (pick(15) != 0) e.user_id = 1 + pick(8);
      if (pick(15) != 0) e.isbn = "b" + std::to_string(1 + pick(7));
      e.ts = kBase + pick(100) * kMinute + (pick(4) == 0 ? 0 : pick(60) * 1'000'000);
    }
    e.label = i;
    sc.entities.push_back(e);
  }
  return sc;
}

// Writes the entity rows as parquet (naive or tz timestamps) or as CSV whose
// timestamps carry a +02:00 offset (the same instants).
std::string WriteEntities(duckdb::Connection& conn, const Scenario& sc, int kind,
                          const std::string& dir) {
  if (kind == 2) {
    std::string path = dir + "/entities.csv";
    std::ofstream out(path);
    out << "user_id,isbn,event_timestamp,label\n";
    for (const auto& e : sc.entities) {
      out << (e.user_id ? std::to_string(*e.user_id) : "") << ","
          << (e.isbn ? *e.isbn : "") << ","
          << duckdb::FormatTimestampMicros(e.ts + 120 * kMinute) << "+02:00," << e.label
          << "\n";
    }
    return path;
  }
  bool tz = kind == 1;
  std::string sql = "CREATE OR REPLACE TABLE ents (user_id BIGINT, isbn VARCHAR, event_timestamp " +
                    std::string(tz ? "TIMESTAMPTZ" : "TIMESTAMP") +
                    ", label BIGINT); INSERT INTO ents VALUES ";
  for (size_t i = 0; i < sc.entities.size(); ++i) {
    const EntityRow& e = sc.entities[i];
    sql += std::string(i ? ", (" : "(") + (e.user_id ? std::to_string(*e.user_id) : "NULL") +
           ", " + Lit(e.isbn) + ", " + TsLit(e.ts, tz) + ", " + std::to_string(e.label) + ")";
  }
  std::string path = dir + "/entities.parquet";
  sql += "; COPY ents TO " + duckdb::QuoteLiteral(path) + " (FORMAT parquet)";
  EXPECT_TRUE(conn.Execute(sql, "write entities").ok());
  return path;
}

bool SameValue(const Value& got, const Value& want, const std::string& type) {
  if (got.has_value() != want.has_value()) return false;
  if (!got.has_value()) return true;
  if (type == "DOUBLE") return std::stod(*got) == std::stod(*want);
  return *got == *want;
}

void RunSeed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Scenario sc = Generate(seed);
  FeatureRepo repo = BaseRepo(tmp.path());
  for (const auto& v : sc.views) AddView(repo, v, WriteSource(**conn, v, tmp.path()));

  std::mt19937_64 rng(seed * 7919 + 1);
  HistoricalFeaturesRequest request;
  int entity_kind = static_cast<int>(rng() % 3);
  if (entity_kind == 2 && sc.entities.size() < 5) entity_kind = 0;
  request.entity_path = WriteEntities(**conn, sc, entity_kind, tmp.path());
  request.full_feature_names = rng() % 2 == 0;
  // The requested (view, feature) pairs, in output order.
  std::vector<std::pair<size_t, size_t>> wanted;
  if (rng() % 2 == 0) {
    FeatureService service;
    service.name = "svc";
    for (size_t v = 0; v < sc.views.size(); ++v) {
      if (rng() % 4 == 0) continue;
      service.features.push_back({sc.views[v].name, {}});
      for (size_t f = 0; f < sc.views[v].features.size(); ++f) wanted.push_back({v, f});
    }
    if (wanted.empty()) {
      service.features.push_back({sc.views[0].name, {}});
      wanted = {{0, 0}, {0, 1}};
    }
    repo.feature_services.push_back(service);
    request.feature_service = "svc";
  } else {
    for (size_t v = sc.views.size(); v-- > 0;) {  // reverse order on purpose
      for (size_t f = 0; f < sc.views[v].features.size(); ++f) {
        if (rng() % 3 == 0) continue;
        wanted.push_back({v, f});
        request.features.push_back(sc.views[v].name + ":" + sc.views[v].features[f]);
      }
    }
    if (wanted.empty()) {
      wanted = {{1, 0}};
      request.features = {"book_stats:b_avg"};
    }
  }

  SortRepo(repo);
  auto job = PrepareHistoricalRetrieval(repo, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::string out = tmp.Join("out.parquet");
  auto rows = (*job)->WriteToFile(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString() << "\n" << (*job)->sql();
  ASSERT_EQ(*rows, static_cast<int64_t>(sc.entities.size()));
  auto got = (*conn)->Query("SELECT * FROM read_parquet(" + duckdb::QuoteLiteral(out) + ")",
                            "output");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->column_names.size(), 4 + wanted.size());
  EXPECT_EQ(got->column_types[2], "TIMESTAMP WITH TIME ZONE");
  for (size_t w = 0; w < wanted.size(); ++w) {
    const GenView& v = sc.views[wanted[w].first];
    std::string name = v.features[wanted[w].second];
    if (request.full_feature_names) name = v.name + "__" + name;
    EXPECT_EQ(got->column_names[4 + w], name);
  }
  ASSERT_EQ(got->rows.size(), sc.entities.size());
  int mismatches = 0;
  for (size_t i = 0; i < sc.entities.size(); ++i) {
    const EntityRow& e = sc.entities[i];
    const auto& row = got->rows[i];
    // Input order, own columns kept, timestamp in UTC.
    EXPECT_EQ(row[3], std::to_string(e.label));
    EXPECT_EQ(row[0], e.user_id ? Value(std::to_string(*e.user_id)) : std::nullopt);
    EXPECT_EQ(row[1], e.isbn);
    EXPECT_EQ(row[2], duckdb::FormatTimestampMicros(e.ts) + "+00");
    // Per view: the output's features must be one acceptable tuple.
    for (size_t v = 0; v < sc.views.size(); ++v) {
      std::vector<size_t> cols;
      std::vector<size_t> feats;
      for (size_t w = 0; w < wanted.size(); ++w) {
        if (wanted[w].first == v) {
          cols.push_back(4 + w);
          feats.push_back(wanted[w].second);
        }
      }
      if (cols.empty()) continue;
      bool matched = false;
      auto options = Expected(sc.views[v], e);
      for (const auto& tuple : options) {
        bool all = true;
        for (size_t k = 0; k < cols.size(); ++k) {
          all = all && SameValue(row[cols[k]], tuple[feats[k]],
                                 sc.views[v].feature_types[feats[k]]);
        }
        matched = matched || all;
      }
      if (!matched && ++mismatches <= 5) {
        ADD_FAILURE() << "row " << i << " view " << sc.views[v].name << ": got "
                      << row[cols[0]].value_or("NULL") << ", expected e.g. "
                      << options[0][feats[0]].value_or("NULL") << "\n"
                      << (*job)->sql();
      }
    }
  }
}

TEST(PointInTime, MatchesBruteForceReference) {
  for (uint64_t seed = 1; seed <= 50; ++seed) RunSeed(seed);
}

// ---- Arrow export -----------------------------------------------------------

TEST(PointInTime, ExportsArrowStream) {
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Scenario sc = Generate(3);
  FeatureRepo repo = BaseRepo(tmp.path());
  for (const auto& v : sc.views) AddView(repo, v, WriteSource(**conn, v, tmp.path()));
  HistoricalFeaturesRequest request;
  request.entity_path = WriteEntities(**conn, sc, 0, tmp.path());
  request.features = {"user_stats:u_count", "book_stats:b_avg"};
  SortRepo(repo);
  ArrowArrayStream stream;
  {
    auto job = PrepareHistoricalRetrieval(repo, request);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    ASSERT_TRUE((*job)->ExportArrowStream(&stream).ok());
  }  // the stream outlives the job
  ArrowSchema schema;
  ASSERT_EQ(stream.get_schema(&stream, &schema), 0);
  ASSERT_EQ(schema.n_children, 6);
  EXPECT_STREQ(schema.children[4]->name, "u_count");
  EXPECT_STREQ(schema.children[4]->format, "l");  // int64
  EXPECT_STREQ(schema.children[5]->format, "g");  // float64
  schema.release(&schema);
  int64_t total = 0;
  while (true) {
    ArrowArray array;
    ASSERT_EQ(stream.get_next(&stream, &array), 0);
    if (array.release == nullptr) break;
    EXPECT_EQ(array.n_children, 6);
    total += array.length;
    array.release(&array);
  }
  stream.release(&stream);
  EXPECT_EQ(total, static_cast<int64_t>(sc.entities.size()));
}

// The entity rows of an Arrow C stream (the Python SDK's DataFrames) give the
// same result as the same rows from a file, and the job can run twice.
TEST(PointInTime, EntityRowsFromArrowStream) {
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Scenario sc = Generate(5);
  FeatureRepo repo = BaseRepo(tmp.path());
  for (const auto& v : sc.views) AddView(repo, v, WriteSource(**conn, v, tmp.path()));
  SortRepo(repo);
  HistoricalFeaturesRequest from_file;
  from_file.entity_path = WriteEntities(**conn, sc, 0, tmp.path());
  from_file.features = {"user_stats:u_count", "book_stats:b_avg"};
  auto file_job = PrepareHistoricalRetrieval(repo, from_file);
  ASSERT_TRUE(file_job.ok()) << file_job.status().ToString();
  ASSERT_TRUE((*file_job)->WriteToFile(tmp.Join("file.parquet")).ok());

  std::shared_ptr<duckdb::Connection> reader = std::move(conn).value();
  ArrowArrayStream entities;
  ASSERT_TRUE(duckdb::ExportArrowStream(reader,
                                        "SELECT * FROM read_parquet(" +
                                            duckdb::QuoteLiteral(from_file.entity_path) + ")",
                                        "entities", &entities)
                  .ok());
  HistoricalFeaturesRequest from_stream = from_file;
  from_stream.entity_path.clear();
  from_stream.entity_arrow_stream = &entities;
  auto stream_job = PrepareHistoricalRetrieval(repo, from_stream);
  entities.release(&entities);  // the job copied the rows
  ASSERT_TRUE(stream_job.ok()) << stream_job.status().ToString();
  ASSERT_TRUE((*stream_job)->WriteToFile(tmp.Join("stream.parquet")).ok());
  ASSERT_TRUE((*stream_job)->WriteToFile(tmp.Join("stream2.parquet")).ok());

  auto check = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(check.ok());
  auto read = [&](const std::string& name) {
    auto r = (*check)->Query("SELECT * FROM read_parquet(" + duckdb::QuoteLiteral(tmp.Join(name)) +
                                 ")",
                             name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : duckdb::QueryResult{};
  };
  duckdb::QueryResult expected = read("file.parquet");
  ASSERT_EQ(expected.rows.size(), sc.entities.size());
  for (const char* name : {"stream.parquet", "stream2.parquet"}) {
    duckdb::QueryResult got = read(name);
    EXPECT_EQ(got.column_names, expected.column_names) << name;
    EXPECT_EQ(got.column_types, expected.column_types) << name;
    EXPECT_EQ(got.rows, expected.rows) << name;
  }

  // Two entity sources are refused.
  HistoricalFeaturesRequest both = from_file;
  ArrowArrayStream unused{};
  both.entity_arrow_stream = &unused;
  auto refused = PrepareHistoricalRetrieval(repo, both);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("not several"));
}

// ---- Bad input ----------------------------------------------------------------

class PointInTimeErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(conn).value();
    repo_ = BaseRepo(tmp_.path());
    GenView users{"user_stats", {"user"}, {"u_count"}, {"BIGINT"}, {}, false, false, false,
                  FileFormat::kParquet, {}};
    users.rows.push_back({1, std::nullopt, kBase, std::nullopt, {Value("5")}});
    GenView books{"book_stats", {"book"}, {"u_count"}, {"BIGINT"}, {}, false, false, false,
                  FileFormat::kParquet, {}};  // same feature name as user_stats
    books.rows.push_back({std::nullopt, "b1", kBase, std::nullopt, {Value("7")}});
    AddView(repo_, users, WriteSource(*conn_, users, tmp_.path()));
    AddView(repo_, books, WriteSource(*conn_, books, tmp_.path()));
    DataSource model_source;
    model_source.name = "agg_source";
    model_source.kind = DataSourceKind::kModel;
    model_source.model = "agg";
    model_source.timestamp_field = "ts";
    FeatureView model_view;
    model_view.name = "agg_view";
    model_view.entities = {"user"};
    model_view.source = "agg_source";
    model_view.schema.push_back(Field{"agg_value", {}, "", {}, {}});
    repo_.data_sources.push_back(model_source);
    repo_.feature_views.push_back(model_view);
    SortRepo(repo_);
  }

  // Writes an entity parquet file from a SELECT and returns its path.
  std::string Entities(const std::string& name, const std::string& select) {
    std::string path = tmp_.Join(name);
    EXPECT_TRUE(conn_->Execute("COPY (" + select + ") TO " + duckdb::QuoteLiteral(path) +
                                   " (FORMAT parquet)",
                               "entities")
                    .ok());
    return path;
  }

  Status Try(HistoricalFeaturesRequest request) {
    auto job = PrepareHistoricalRetrieval(repo_, request);
    if (!job.ok()) return job.status();
    return (*job)->WriteToFile(tmp_.Join("out.parquet")).status();
  }

  HistoricalFeaturesRequest Request(const std::string& path,
                                    std::vector<std::string> features = {"user_stats:u_count"}) {
    HistoricalFeaturesRequest r;
    r.entity_path = path;
    r.features = std::move(features);
    return r;
  }

  TempDir tmp_;
  std::unique_ptr<duckdb::Connection> conn_;
  FeatureRepo repo_;
};

TEST_F(PointInTimeErrors, MissingJoinKeyNamesColumnAndFile) {
  std::string path = Entities("nokey.parquet", "SELECT TIMESTAMP '2024-01-02' AS event_timestamp");
  Status st = Try(Request(path));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("no join key column `user_id`"));
  EXPECT_THAT(st.message(), HasSubstr(path));
}

TEST_F(PointInTimeErrors, MissingEventTimestampNamesFile) {
  std::string path = Entities("nots.parquet", "SELECT 1::BIGINT AS user_id");
  Status st = Try(Request(path));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("no `event_timestamp` column"));
  EXPECT_THAT(st.message(), HasSubstr(path));
  path = Entities("twots.parquet",
                  "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS a, "
                  "TIMESTAMP '2024-01-03' AS b");
  st = Try(Request(path));
  EXPECT_THAT(st.message(), HasSubstr("several timestamp columns"));
}

TEST_F(PointInTimeErrors, SingleTimestampColumnIsUsed) {
  std::string path = Entities("onets.parquet",
                              "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS asked_at");
  auto job = PrepareHistoricalRetrieval(repo_, Request(path));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::string out = tmp_.Join("one.csv");
  ASSERT_TRUE((*job)->WriteToFile(out).ok());
  auto got = conn_->Query("SELECT asked_at, u_count FROM read_csv_auto(" +
                              duckdb::QuoteLiteral(out) + ")",
                          "out");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->rows.size(), 1u);
  EXPECT_EQ(got->rows[0][1], "5");
}

TEST_F(PointInTimeErrors, JoinKeyOfWrongType) {
  std::string path = Entities("badtype.parquet",
                              "SELECT '1' AS user_id, TIMESTAMP '2024-01-02' AS event_timestamp");
  Status st = Try(Request(path));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("join key column `user_id` has type VARCHAR"));
  EXPECT_THAT(st.message(), HasSubstr("Int64"));
  EXPECT_THAT(st.message(), HasSubstr(path));
}

TEST_F(PointInTimeErrors, UnknownViewFeatureOrService) {
  std::string path = Entities("ok.parquet",
                              "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS event_timestamp");
  Status st = Try(Request(path, {"nope:u_count"}));
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("unknown feature view 'nope'"));
  st = Try(Request(path, {"user_stats:nope"}));
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("feature view 'user_stats' has no feature 'nope'"));
  st = Try(Request(path, {"user_stats.u_count"}));
  EXPECT_THAT(st.message(), HasSubstr("write it as view:feature"));
  HistoricalFeaturesRequest r = Request(path, {});
  r.feature_service = "nope";
  st = Try(r);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("unknown feature service 'nope'"));
}

TEST_F(PointInTimeErrors, NameCollisionNeedsFullNames) {
  std::string path = Entities(
      "both.parquet",
      "SELECT 1::BIGINT AS user_id, 'b1' AS isbn, TIMESTAMP '2024-01-02' AS event_timestamp");
  HistoricalFeaturesRequest r = Request(path, {"user_stats:u_count", "book_stats:u_count"});
  Status st = Try(r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("'user_stats'"));
  EXPECT_THAT(st.message(), HasSubstr("'book_stats'"));
  r.full_feature_names = true;
  auto job = PrepareHistoricalRetrieval(repo_, r);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_THAT((*job)->column_names(),
              ::testing::ElementsAre("user_id", "isbn", "event_timestamp", "user_stats__u_count",
                                     "book_stats__u_count"));
}

TEST_F(PointInTimeErrors, ModelNotRunYet) {
  std::string path = Entities("ok2.parquet",
                              "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS event_timestamp");
  Status st = Try(Request(path, {"agg_view:agg_value"}));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("run `larder run` first"));
}

TEST_F(PointInTimeErrors, BadEntitySourceOrOutput) {
  HistoricalFeaturesRequest r = Request(tmp_.Join("missing.parquet"));
  EXPECT_EQ(Try(r).code(), StatusCode::kNotFound);
  r.entity_path = tmp_.Join("entities.json");
  EXPECT_THAT(Try(r).message(), HasSubstr("use a .parquet or .csv file"));
  r.entity_sql = "SELECT 1";
  EXPECT_THAT(Try(r).message(), HasSubstr("not several"));
  r.entity_path.clear();
  r.entity_sql = "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS event_timestamp";
  auto job = PrepareHistoricalRetrieval(repo_, r);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_THAT((*job)->WriteToFile(tmp_.Join("out.txt")).status().message(),
              HasSubstr("use a .parquet or .csv extension"));
}

}  // namespace
}  // namespace larder::offline
