#include "server/request_memory.h"

#include <algorithm>

namespace larder::server {

RequestMemory::Grant RequestMemory::Take(size_t bytes) {
  if (bytes > cap_ - held_) return Grant::kTooLarge;
  size_t used = pool_->load(std::memory_order_relaxed);
  do {
    if (bytes > pool_limit_ - std::min(used, pool_limit_)) return Grant::kBusy;
  } while (!pool_->compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  held_ += bytes;
  return Grant::kGranted;
}

void RequestMemory::ReleaseAll() {
  if (held_ == 0) return;
  pool_->fetch_sub(held_, std::memory_order_relaxed);
  held_ = 0;
}

}  // namespace larder::server
