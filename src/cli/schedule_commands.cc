// `larder schedule`, `larder backfill` and `larder runs`: the scheduler, its
// backfills and its run history (docs/orchestration.md).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "cli/table_printer.h"
#include "orchestrate/schedule_runner.h"

namespace larder::cli {
namespace {

using orchestrate::ScheduleRunner;
using orchestrate::ScheduleRunnerOptions;

// Reads --concurrency / --parallel into *out (1..64).
bool ParseConcurrency(const Invocation& inv, Output& o, std::string_view flag, int* out) {
  if (!inv.Has(flag)) return true;
  if (!ParseInt(inv.Flag(flag), 1, 64, out)) {
    o.err << "larder: " << flag << " takes 1..64\n";
    return false;
  }
  return true;
}

std::string Seconds(TimestampMicros micros) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2fs", static_cast<double>(micros) / 1e6);
  return text;
}

void PrintReport(Output& o, const orchestrate::SchedulerReport& r) {
  o.out << r.succeeded << " interval(s) succeeded, " << r.failed << " failed, "
        << r.upstream_failed << " blocked by a failed upstream task, " << r.retried
        << " attempt(s) retried";
  if (r.already_done > 0) o.out << ", " << r.already_done << " already done";
  o.out << "\n";
}

}  // namespace

int ScheduleCommand(const Invocation& inv, Output& o) {
  ScheduleRunnerOptions options;
  options.select = SplitCommaList(inv.Flag("--select"));
  options.once = inv.Has("--once");
  if (!ParseConcurrency(inv, o, "--concurrency", &options.concurrency)) return kExitUsage;
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;

  // SIGINT and SIGTERM let running tasks finish, then stop.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::mutex log_mu;
  options.log = [&o, &log_mu](const std::string& line) {
    std::lock_guard lock(log_mu);
    o.err << "larder schedule: " << line << "\n" << std::flush;
  };
  Result<std::unique_ptr<ScheduleRunner>> runner = ScheduleRunner::Start(*store, options);
  if (!runner.ok()) return ReportError(o, runner.status());
  std::thread signals;
  if (!options.once) {
    o.out << "Scheduling " << store->config().project
          << "; stop with Ctrl-C or SIGTERM (running tasks finish first)\n"
          << std::flush;
    signals = std::thread([&stop_signals, &runner, &options] {
      int signal_number = 0;
      sigwait(&stop_signals, &signal_number);
      if (signal_number != 0) {
        options.log("signal " + std::to_string(signal_number) + ", finishing running tasks");
        (*runner)->Stop();
      }
    });
  }
  Result<orchestrate::SchedulerReport> report = (*runner)->Wait();
  if (signals.joinable()) {
    // Wake the signal thread when the runner ended by itself (--once).
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
  }
  if (!report.ok()) return ReportError(o, report.status());
  PrintReport(o, *report);
  return report->failed + report->upstream_failed > 0 ? kExitError : kExitOk;
}

int BackfillCommand(const Invocation& inv, Output& o) {
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  if (!inv.Has("--start") || !inv.Has("--end")) {
    o.err << "larder: backfill needs --start and --end\n";
    return kExitUsage;
  }
  if (!ParseTimeFlag(inv, o, "--start", &start) || !ParseTimeFlag(inv, o, "--end", &end)) {
    return kExitUsage;
  }
  if (start >= end) {
    o.err << "larder: --start must be before --end\n";
    return kExitUsage;
  }
  ScheduleRunnerOptions options;
  options.select = SplitCommaList(inv.Flag("--select"));
  options.backfill = schedule::Interval{start, end};
  if (!ParseConcurrency(inv, o, "--parallel", &options.concurrency)) return kExitUsage;
  std::mutex log_mu;
  options.log = [&o, &log_mu](const std::string& line) {
    std::lock_guard lock(log_mu);
    o.err << "larder backfill: " << line << "\n" << std::flush;
  };
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<std::unique_ptr<ScheduleRunner>> runner = ScheduleRunner::Start(*store, options);
  if (!runner.ok()) return ReportError(o, runner.status());
  Result<orchestrate::SchedulerReport> report = (*runner)->Wait();
  if (!report.ok()) return ReportError(o, report.status());
  PrintReport(o, *report);
  return report->failed + report->upstream_failed > 0 ? kExitError : kExitOk;
}

int RunsCommand(const Invocation& inv, Output& o) {
  RunQuery query;
  query.task = inv.Flag("--task");
  if (inv.Has("--view")) query.task = "view:" + inv.Flag("--view");
  if (inv.Has("--model")) query.task = "model:" + inv.Flag("--model");
  if (inv.Has("--failed")) query.status = RunStatus::kFailed;
  if (inv.Has("--status")) {
    query.status = ParseRunStatus(inv.Flag("--status"));
    if (!query.status) {
      o.err << "larder: --status takes running, success, up_for_retry, failed, "
               "upstream_failed or abandoned\n";
      return kExitUsage;
    }
  }
  if (!ParseTimeFlag(inv, o, "--since", &query.interval_end_from) ||
      !ParseTimeFlag(inv, o, "--until", &query.interval_end_to)) {
    return kExitUsage;
  }
  query.limit = 50;
  if (inv.Has("--limit") && !ParseInt<int64_t>(inv.Flag("--limit"), 0, int64_t{1} << 40,
                                               &query.limit)) {
    o.err << "larder: --limit takes a whole number (0 = all)\n";
    return kExitUsage;
  }
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<std::vector<RunRecord>> runs = store->Runs(query);
  if (!runs.ok()) return ReportError(o, runs.status());
  TablePrinter table({"TASK", "INTERVAL START", "INTERVAL END", "ATTEMPT", "STATUS", "TRIGGER",
                      "STARTED", "TOOK", "ROWS"});
  for (const RunRecord& r : *runs) {
    table.AddRow({r.task, FormatIsoTimestamp(r.interval_start), FormatIsoTimestamp(r.interval_end),
                  std::to_string(r.attempt), std::string(RunStatusName(r.status)), r.trigger,
                  FormatIsoTimestamp(r.started), r.ended > 0 ? Seconds(r.ended - r.started) : "-",
                  std::to_string(r.rows)});
  }
  table.Print(o.out);
  if (inv.Has("--failed") || query.status == RunStatus::kUpForRetry ||
      query.status == RunStatus::kUpstreamFailed || query.status == RunStatus::kAbandoned) {
    for (const RunRecord& r : *runs) {
      if (!r.error.empty()) {
        o.out << "\n" << r.task << " " << FormatIsoTimestamp(r.interval_end) << " attempt "
              << r.attempt << ": " << r.error << "\n";
      }
    }
  }
  if (runs->empty()) o.out << "(no runs)\n";
  return kExitOk;
}

}  // namespace larder::cli
