// RequestMemory: one request's share of a server-wide budget of memory for
// request bodies and what they are parsed into. The HttpServer takes a
// body's length before reading it; parsers (server/request_parsers.h) take
// their estimate as they go; a refusal answers 413 or 503.
#pragma once

#include <atomic>
#include <cstddef>

namespace larder::server {

// The memory one request holds of the server's budget for request bodies and
// their parsed forms (HttpServerOptions::max_inflight_bytes): its body, taken
// by the server before the body is read, plus what the handler takes while
// parsing. All of it is given back after the handler returns. Used on one
// thread at a time (the request's).
class RequestMemory {
 public:
  enum class Grant {
    kGranted,   // taken
    kTooLarge,  // this request would hold more than its cap: 413
    kBusy,      // the server's budget is used up by other requests now: 503
  };
  // `pool` counts the bytes held by every request; `cap` bounds this one's.
  RequestMemory(std::atomic<size_t>* pool, size_t pool_limit, size_t cap)
      : pool_(pool), pool_limit_(pool_limit), cap_(cap) {}
  ~RequestMemory() { ReleaseAll(); }
  RequestMemory(const RequestMemory&) = delete;
  RequestMemory& operator=(const RequestMemory&) = delete;

  // Takes `bytes` more; on kTooLarge or kBusy nothing is taken.
  Grant Take(size_t bytes);
  // Gives back everything taken.
  void ReleaseAll();
  size_t held() const { return held_; }
  size_t cap() const { return cap_; }
  size_t pool_limit() const { return pool_limit_; }

 private:
  std::atomic<size_t>* pool_;
  size_t pool_limit_;
  size_t cap_;
  size_t held_ = 0;
};

}  // namespace larder::server
