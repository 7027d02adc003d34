// Shared pieces of the benchmarks: the example repo they run on, timing
// statistics and memory readings.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "larder/status.h"

namespace larder::bench {

// Makes `dir` hold the book-recommendation example ready to query: the
// template (when absent), data generated at `scale` (when absent), the
// definitions applied, and the five SQL models built (when the offline store
// does not hold them yet). Prints what it did.
[[nodiscard]] Status PrepareBookRecsRepo(double scale, const std::string& dir);

// "/tmp/larder_bench_s<scale>": the default repo directory of a scale.
std::string DefaultBenchDir(double scale);

// Peak resident set size of this process in MB (VmHWM).
double PeakRssMb();
// Resets VmHWM to the current RSS (Linux >= 4.0), so each phase's peak is its own.
void ResetPeakRss();

double Seconds(std::chrono::steady_clock::duration d);
double Micros(std::chrono::steady_clock::duration d);
double Median(std::vector<double> v);

// Prints "<what>  n=…  p50=… p99=… p999=… max=… us" for samples in microseconds.
void ReportLatency(const char* what, std::vector<double> micros);

// Prints `status` to stderr and returns 1 (for `return Fail(st);` in main).
int Fail(const Status& status);

}  // namespace larder::bench
