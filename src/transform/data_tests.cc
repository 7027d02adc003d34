#include "transform/data_tests.h"

#include <algorithm>
#include <charconv>

#include "transform/model_graph.h"
#include "transform/model_run.h"

namespace larder::transform {
namespace {

std::string FormatNumber(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : "0";
}

}  // namespace

Result<std::string> DataTestSql(const FeatureRepo& repo, const SqlRelations& relations,
                                const std::string& model, const DataTest& test,
                                TimestampMicros now) {
  const SqlEngine e = relations.engine;
  const std::string t = relations.model_table(model);
  const std::string c = QuoteName(e, test.column);
  switch (test.kind) {
    case DataTestKind::kNotNull:
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NULL";
    case DataTestKind::kUnique:
      return "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM (SELECT count(*) AS n FROM " + t +
             " WHERE " + c + " IS NOT NULL GROUP BY " + c + " HAVING count(*) > 1)";
    case DataTestKind::kAcceptedValues: {
      if (test.values.empty()) return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL";
      std::string list;
      for (const auto& v : test.values) list += (list.empty() ? "" : ", ") + QuoteText(e, v);
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL AND CAST(" + c + " AS " +
             std::string(TextType(e)) + ") NOT IN (" + list + ")";
    }
    case DataTestKind::kAcceptedRange: {
      std::string cond;
      if (test.min_value) cond += c + " < " + FormatNumber(*test.min_value);
      if (test.max_value) {
        cond += std::string(cond.empty() ? "" : " OR ") + c + " > " + FormatNumber(*test.max_value);
      }
      if (cond.empty()) return std::string("SELECT 0");
      return "SELECT count(*) FROM " + t + " WHERE " + c + " IS NOT NULL AND (" + cond + ")";
    }
    case DataTestKind::kRelationships: {
      std::string target;
      if (repo.FindModel(test.to) != nullptr) {
        target = relations.model_table(test.to);
      } else if (const DataSource* ds = repo.FindDataSource(test.to); ds != nullptr) {
        LARDER_ASSIGN_OR_RETURN(target, relations.raw_source(*ds));
      } else {
        return Status::InvalidArgument("relationships: `to` names no model or data source '" +
                                       test.to + "'");
      }
      std::string f = QuoteName(e, test.field.empty() ? test.column : test.field);
      return "SELECT count(*) FROM " + t + " AS c WHERE c." + c + " IS NOT NULL AND NOT EXISTS " +
             "(SELECT 1 FROM " + target + " AS p WHERE p." + f + " = c." + c + ")";
    }
    case DataTestKind::kFreshness: {
      std::string cutoff = TimestampLiteral(e, now - test.max_age.micros);
      return "SELECT CASE WHEN max(" + c + ") IS NULL OR CAST(max(" + c + ") AS TIMESTAMP) < " +
             cutoff + " THEN 1 ELSE 0 END FROM " + t;
    }
  }
  return Status::Internal("unknown data test kind");
}

Result<TestReport> RunDataTestsOn(const FeatureRepo& repo, const DataTestEngine& engine,
                                  const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(ModelGraph graph, BuildModelGraph(repo));
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> chosen, SelectModels(graph, options.select));
  std::sort(chosen.begin(), chosen.end());
  const TimestampMicros now = ClockNow(options.clock);
  TestReport report;
  for (const auto& name : chosen) {
    const SqlModel* model = repo.FindModel(name);
    for (const DataTest& test : model->tests) {
      DataTestResult r;
      r.model = name;
      r.column = test.column;
      r.test = std::string(DataTestKindName(test.kind));
      r.location = test.location;
      std::string what =
          "data test " + r.test + " on " + name + (r.column.empty() ? "" : "." + r.column);
      if (!engine.built(name)) {
        r.error = "model " + name + " has not been built; run `larder run` first";
      } else {
        Result<std::string> sql = DataTestSql(repo, engine.relations, name, test, now);
        Result<int64_t> n = sql.ok() ? engine.count(*sql, what) : Result<int64_t>(sql.status());
        if (n.ok()) {
          r.failing_rows = *n;
        } else {
          r.error = n.status().message();
        }
      }
      if (options.on_test_done) options.on_test_done(r);
      report.results.push_back(std::move(r));
    }
  }
  return report;
}

}  // namespace larder::transform
