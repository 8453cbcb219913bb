// The per-client token bucket on its own: the burst, the wait it names, one
// bucket per key, and bounded memory under a flood of addresses.
#include "server/rate_limiter.hpp"

#include <string>

#include <gtest/gtest.h>

namespace safelynx::server::detail {
namespace {

TEST(RateLimiter, ARateOfZeroNeverLimits) {
  RateLimiter limiter(0, 5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.acquire("10.0.0.1"), 0);
}

TEST(RateLimiter, TheBurstPassesThenTheWaitIsNamedInWholeSeconds) {
  RateLimiter limiter(0.5, 2);  // a token every 2 s
  EXPECT_EQ(limiter.acquire("10.0.0.1"), 0);
  EXPECT_EQ(limiter.acquire("10.0.0.1"), 0);
  EXPECT_EQ(limiter.acquire("10.0.0.1"), 2);
}

TEST(RateLimiter, WithoutABurstTheRateIsTheBurstAndAtLeastOne) {
  RateLimiter fast(3, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fast.acquire("a"), 0);
  EXPECT_GE(fast.acquire("a"), 1);
  RateLimiter slow(0.1, 0);
  EXPECT_EQ(slow.acquire("a"), 0);
  EXPECT_EQ(slow.acquire("a"), 10);
}

TEST(RateLimiter, EachKeyHasItsOwnBucket) {
  RateLimiter limiter(0.01, 1);
  EXPECT_EQ(limiter.acquire("10.0.0.1"), 0);
  EXPECT_GT(limiter.acquire("10.0.0.1"), 0);
  EXPECT_EQ(limiter.acquire("10.0.0.2"), 0);
}

TEST(RateLimiter, AFloodOfActiveAddressesIsForgottenRatherThanKept) {
  RateLimiter limiter(0.001, 1);  // nothing refills during the test
  for (std::size_t i = 0; i < RateLimiter::kMaxBuckets; ++i) ASSERT_EQ(limiter.acquire(std::to_string(i)), 0);
  EXPECT_GT(limiter.acquire("0"), 0);
  // One more address: every bucket is in use, so all are dropped.
  EXPECT_EQ(limiter.acquire("another"), 0);
  EXPECT_EQ(limiter.acquire("0"), 0);
}

}  // namespace
}  // namespace safelynx::server::detail
