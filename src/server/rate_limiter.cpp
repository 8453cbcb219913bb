// The per-client token bucket behind the HTTP server's 429 answers.
#include "server/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace safelynx::server::detail {

RateLimiter::RateLimiter(double rate, double burst)
    : rate_(rate), burst_(rate > 0 ? std::max(1.0, burst > 0 ? burst : rate) : 0) {}

int RateLimiter::acquire(const std::string& key) {
  if (rate_ <= 0) return 0;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxBuckets) evict(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = refilled(bucket, now);
  bucket.last = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - bucket.tokens) / rate_)));
}

double RateLimiter::refilled(const Bucket& bucket, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.last).count();
  return std::min(burst_, bucket.tokens + elapsed * rate_);
}

void RateLimiter::evict(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = refilled(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  // Still full: that many addresses are all active at once (a distributed
  // flood). Forgetting them is better than unbounded memory.
  if (buckets_.size() >= kMaxBuckets) buckets_.clear();
}

}  // namespace safelynx::server::detail
