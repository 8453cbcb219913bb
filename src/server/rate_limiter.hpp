// The HTTP server's per-client rate limit (HttpServerOptions::
// rate_limit_per_second and rate_limit_burst): a token bucket per client
// address. Internal to the server core; http_server.cpp holds one.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace safelynx::server::detail {

// A per-address token bucket. Memory is bounded: a bucket that has refilled
// completely is equivalent to no bucket, so such entries are dropped when the
// map grows large. Thread-safe.
class RateLimiter {
 public:
  // `rate` tokens a second, at most `burst` saved up (0: `rate`, at least
  // 1). A rate of 0 or less disables the limit.
  RateLimiter(double rate, double burst);

  // 0 when the request may proceed, else the seconds to wait (>= 1).
  int acquire(const std::string& key);

  // Addresses remembered at the most before the full buckets are forgotten.
  static constexpr std::size_t kMaxBuckets = 10000;

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };

  double refilled(const Bucket& bucket, std::chrono::steady_clock::time_point now) const;
  void evict(std::chrono::steady_clock::time_point now);

  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace safelynx::server::detail
