#include "offline/spark/spark_result_stream.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "offline/arrow_ipc/ipc_arrow_stream.h"
#include "offline/duckdb/arrow_stream.h"

namespace larder::offline::spark {
namespace {

// Spark's batches between the query's thread and the stream's reader.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  // From the query's thread: waits for room; false when the reader left.
  bool Push(std::string batch) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return abandoned_ || batches_.size() < capacity_; });
    if (abandoned_) return false;
    batches_.push_back(std::move(batch));
    ready_.notify_one();
    return true;
  }
  // From the query's thread, once: how the query ended.
  void Finish(Status status) {
    std::lock_guard lock(mu_);
    finished_ = true;
    status_ = std::move(status);
    ready_.notify_one();
  }
  // From the reader: the next batch, nullopt at a clean end, or the
  // query's error.
  Result<std::optional<std::string>> Pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !batches_.empty() || finished_; });
    if (!batches_.empty()) {
      std::string batch = std::move(batches_.front());
      batches_.pop_front();
      room_.notify_one();
      return std::optional<std::string>(std::move(batch));
    }
    if (!status_.ok()) return status_;
    return std::optional<std::string>();
  }
  // From the reader, when it stops reading: the query is cancelled.
  void Abandon() {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    room_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable room_;
  std::condition_variable ready_;
  std::deque<std::string> batches_;
  bool finished_ = false;
  bool abandoned_ = false;
  Status status_;
};

// The query's thread and its queue; joined when the reader's producer is
// destroyed (the stream's release).
class SparkQuery {
 public:
  SparkQuery(std::shared_ptr<SparkConnectClient> client, std::string sql, std::string what,
             size_t capacity)
      : queue_(capacity), what_(std::move(what)) {
    thread_ = std::thread([this, client = std::move(client), sql = std::move(sql)] {
      Status status = client->ExecuteSql(sql, [this](std::string_view ipc, int64_t) {
        if (!queue_.Push(std::string(ipc))) {
          return Status::Busy("the reader of the result stopped");  // ends the query
        }
        return Status::OK();
      });
      queue_.Finish(std::move(status));
    });
  }
  ~SparkQuery() {
    queue_.Abandon();
    thread_.join();
  }
  SparkQuery(const SparkQuery&) = delete;
  SparkQuery& operator=(const SparkQuery&) = delete;

  Result<std::optional<std::string>> Next() {
    Result<std::optional<std::string>> next = queue_.Pop();
    if (!next.ok()) return next.status().WithContext(what_);
    if (!next->has_value() && !seen_batch_) {
      return Status::Internal(what_ + ": Spark returned no batch, so no schema, for the query");
    }
    seen_batch_ = true;
    return next;
  }

 private:
  BatchQueue queue_;
  std::string what_;
  bool seen_batch_ = false;
  std::thread thread_;
};

}  // namespace

ArrowArrayStream SparkResultStream(std::shared_ptr<SparkConnectClient> client, std::string sql,
                                   std::string what, int queued_batches) {
  auto query = std::make_shared<SparkQuery>(std::move(client), std::move(sql), std::move(what),
                                            static_cast<size_t>(queued_batches));
  return arrow_ipc::MakeArrowStream([query]() { return query->Next(); });
}

Status ImportSparkResult(std::shared_ptr<SparkConnectClient> client, std::string sql,
                         duckdb::Connection& conn, const std::string& table,
                         const std::string& what) {
  ArrowArrayStream stream = SparkResultStream(std::move(client), std::move(sql), what);
  Status imported = duckdb::ImportArrowStream(conn, &stream, table, what);
  stream.release(&stream);
  return duckdb::WithoutSqlContext(imported);
}

}  // namespace larder::offline::spark
