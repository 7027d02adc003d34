#include "server/line_log.h"

namespace larder::server {

namespace {
constexpr size_t kFlushBytes = 64 * 1024;
}

LineLog::LineLog(std::ostream& out, std::chrono::milliseconds flush_interval)
    : out_(out), flush_interval_(flush_interval), thread_([this] { Run(); }) {}

LineLog::~LineLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  Flush();
}

void LineLog::Add(std::string_view line) {
  bool full = false;
  {
    std::lock_guard lock(mu_);
    pending_.append(line);
    pending_ += '\n';
    full = pending_.size() >= kFlushBytes;
  }
  if (full) wake_.notify_one();
}

void LineLog::WriteOut(std::unique_lock<std::mutex>& lock) {
  // Take the batch, then write it outside mu_ so that Add never waits on
  // the output; write_mu_ keeps batches in order.
  std::lock_guard writing(write_mu_);
  std::string batch;
  batch.swap(pending_);
  lock.unlock();
  if (!batch.empty()) out_.write(batch.data(), static_cast<std::streamsize>(batch.size())).flush();
  lock.lock();
}

void LineLog::Flush() {
  std::unique_lock lock(mu_);
  WriteOut(lock);
}

void LineLog::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, flush_interval_, [this] { return stop_ || pending_.size() >= kFlushBytes; });
    WriteOut(lock);
  }
}

}  // namespace larder::server
