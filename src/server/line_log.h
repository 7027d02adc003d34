// LineLog: one line per event, written by a background thread in batches,
// so that a request does not pay a write(2) for its log line.
//
//   LineLog log(std::cerr);
//   log.Add("request_id=7 method=GET path=/health status=200 ms=0.01");
//
// Lines keep the order in which Add was called. They are written at least
// every `flush_interval`, when 64 KiB are waiting, and all of them by Flush()
// and the destructor. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace larder::server {

class LineLog {
 public:
  explicit LineLog(std::ostream& out,
                   std::chrono::milliseconds flush_interval = std::chrono::milliseconds(100));
  ~LineLog();  // writes what is waiting
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;

  // Queues `line` (without its newline).
  void Add(std::string_view line);
  // Writes everything queued so far before returning.
  void Flush();

 private:
  void Run();
  void WriteOut(std::unique_lock<std::mutex>& lock);

  std::ostream& out_;
  const std::chrono::milliseconds flush_interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::string pending_;
  bool stop_ = false;
  std::mutex write_mu_;  // one writer to out_ at a time
  std::thread thread_;
};

}  // namespace larder::server
