// run and test: build the SQL models and run their data tests.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/handlers.h"
#include "cli/store_access.h"

namespace larder::cli {
namespace {

// "a,b c" -> {"a", "b", "c"}: --select takes one value holding one or more
// selectors separated by commas or spaces.
std::vector<std::string> SplitSelectors(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// 1031175 -> "1,031,175".
std::string WithCommas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

std::string Plural(int64_t n, const std::string& word) {
  return WithCommas(n) + " " + word + (n == 1 ? "" : "s");
}

std::string DescribeModel(const ModelRunResult& r) {
  if (r.materialization == "view") return "OK built view " + r.model + " in " + Seconds(r.seconds);
  std::string text;
  if (r.action == "created") {
    text = "OK built " + r.materialization + " " + r.model + " (" + Plural(r.rows, "row") + ")";
  } else {
    text = "OK " + r.action + " " + Plural(r.rows_inserted, "row") + " into incremental " +
           r.model;
    if (r.rows_deleted > 0) text += " (" + WithCommas(r.rows_deleted) + " replaced)";
    text += "; " + Plural(r.rows, "row") + " in all";
  }
  return text + " in " + Seconds(r.seconds);
}

std::string TestName(const DataTestResult& r) {
  return r.model + (r.column.empty() ? "" : "." + r.column) + " " + r.test;
}

}  // namespace

int RunCommand(const Invocation& inv, Output& o) {
  RunOptions options;
  options.select = SplitSelectors(inv.Flag("--select"));
  options.full_refresh = inv.Has("--full-refresh");
  options.on_model_done = [&o](const ModelRunResult& r) {
    o.out << DescribeModel(r) << "\n" << std::flush;
  };
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<RunReport> report = store->Run(options);
  if (!report.ok()) return ReportError(o, report.status());
  if (report->models.empty()) {
    o.out << "No SQL models to build.\n";
    return kExitOk;
  }
  o.out << "Built " << Plural(static_cast<int64_t>(report->models.size()), "model") << " in "
        << Seconds(report->seconds) << ".\n";
  return kExitOk;
}

int TestCommand(const Invocation& inv, Output& o) {
  TestOptions options;
  options.select = SplitSelectors(inv.Flag("--select"));
  options.on_test_done = [&o](const DataTestResult& r) {
    if (!r.error.empty()) {
      o.out << "ERROR " << TestName(r) << ": " << r.error << "\n";
    } else {
      o.out << (r.passed() ? "PASS " : "FAIL ") << TestName(r) << " ("
            << Plural(r.failing_rows, "failing row") << ")\n";
    }
    o.out << std::flush;
  };
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<TestReport> report = store->TestModels(options);
  if (!report.ok()) return ReportError(o, report.status());
  const int failed = report->failed();
  const int total = static_cast<int>(report->results.size());
  if (total == 0) {
    o.out << "No data tests to run.\n";
    return kExitOk;
  }
  if (failed == 0) {
    o.out << "All " << total << " data test(s) passed.\n";
    return kExitOk;
  }
  o.err << "Error: " << failed << " of " << total << " data test(s) failed:\n";
  for (const auto& r : report->results) {
    if (r.passed()) continue;
    o.err << "  model " << r.model << ", column " << (r.column.empty() ? "-" : r.column)
          << ", test " << r.test << ": "
          << (r.error.empty() ? Plural(r.failing_rows, "failing row") : r.error);
    if (!r.location.file.empty()) {
      o.err << " (" << r.location.file << ":" << r.location.line << ")";
    }
    o.err << "\n";
  }
  return kExitError;
}

}  // namespace larder::cli
