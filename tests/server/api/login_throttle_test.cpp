#include "server/api/login_throttle.hpp"

#include <gtest/gtest.h>

namespace safelynx::server {
namespace {

using namespace std::chrono_literals;
using Clock = LoginThrottle::Clock;

// The refusal, or nullopt when admitted (the permit is released at once).
std::optional<LoginThrottle::Refusal> refusal(LoginThrottle& throttle, const std::string& address,
                                              const std::string& user, Clock::time_point now) {
  auto admitted = throttle.admit(address, user, now);
  if (auto* refused = std::get_if<LoginThrottle::Refusal>(&admitted)) return *refused;
  return std::nullopt;
}

TEST(LoginThrottle, DelaysDoubleAfterTheFreeFailuresUpToTheCap) {
  LoginThrottleOptions options;
  options.max_address_delay = 8s;
  options.max_user_delay = 8s;
  LoginThrottle throttle(options);
  Clock::time_point now{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(refusal(throttle, "10.0.0.1", "admin", now)) << i;
    throttle.record_failure("10.0.0.1", "admin", now);
  }
  EXPECT_FALSE(refusal(throttle, "10.0.0.1", "admin", now));  // three are free
  int expected_wait = 1;
  for (int failure = 4; failure <= 8; ++failure) {
    throttle.record_failure("10.0.0.1", "admin", now);
    const auto refused = refusal(throttle, "10.0.0.1", "admin", now);
    ASSERT_TRUE(refused) << failure;
    EXPECT_EQ(refused->retry_after_s, expected_wait) << failure;
    now += std::chrono::seconds(expected_wait) - 1ms;
    EXPECT_TRUE(refusal(throttle, "10.0.0.1", "admin", now)) << "one millisecond early, failure " << failure;
    now += 1ms;
    EXPECT_FALSE(refusal(throttle, "10.0.0.1", "admin", now)) << failure;
    expected_wait = std::min(expected_wait * 2, 8);
  }
}

TEST(LoginThrottle, AddressAndUsernameAreCountedApart) {
  LoginThrottle throttle;
  const Clock::time_point now{};
  for (int i = 0; i < 4; ++i) throttle.record_failure("10.0.0.1", "admin", now);
  // The username is throttled from any address, in any case...
  const auto by_user = refusal(throttle, "10.0.0.2", "ADMIN", now);
  ASSERT_TRUE(by_user);
  EXPECT_NE(by_user->reason.find("username"), std::string::npos);
  // ...and the address for any username.
  const auto by_address = refusal(throttle, "10.0.0.1", "alice", now);
  ASSERT_TRUE(by_address);
  EXPECT_NE(by_address->reason.find("address"), std::string::npos);
  EXPECT_FALSE(refusal(throttle, "10.0.0.2", "alice", now));
}

TEST(LoginThrottle, TheUsernameCapIsLowerThanTheAddressCap) {
  LoginThrottle throttle;  // defaults: 300 s per address, 60 s per username
  const Clock::time_point now{};
  for (int i = 0; i < 20; ++i) throttle.record_failure("10.0.0.1", "admin", now);
  EXPECT_EQ(refusal(throttle, "10.0.0.9", "admin", now)->retry_after_s, 60);
  EXPECT_EQ(refusal(throttle, "10.0.0.1", "bob", now)->retry_after_s, 300);
}

TEST(LoginThrottle, SuccessClearsAndOldFailuresAreForgotten) {
  LoginThrottle throttle;
  Clock::time_point now{};
  for (int i = 0; i < 5; ++i) throttle.record_failure("10.0.0.1", "admin", now);
  throttle.record_success("10.0.0.1", "Admin");
  EXPECT_FALSE(refusal(throttle, "10.0.0.1", "admin", now));
  EXPECT_EQ(throttle.tracked_keys(), 0u);

  for (int i = 0; i < 5; ++i) throttle.record_failure("10.0.0.3", "carol", now);
  now += 16min;  // past forget_after (15 min): the next failure counts from one
  throttle.record_failure("10.0.0.3", "carol", now);
  EXPECT_FALSE(refusal(throttle, "10.0.0.3", "carol", now));
}

TEST(LoginThrottle, OnlyAsManyPasswordsAsAllowedAreHashedAtOnce) {
  LoginThrottleOptions options;
  options.max_concurrent_hashes = 2;
  LoginThrottle throttle(options);
  auto first = throttle.admit("10.0.0.1", "a");
  auto second = throttle.admit("10.0.0.2", "b");
  ASSERT_TRUE(std::holds_alternative<LoginThrottle::Permit>(first));
  ASSERT_TRUE(std::holds_alternative<LoginThrottle::Permit>(second));
  auto third = throttle.admit("10.0.0.3", "c");
  ASSERT_TRUE(std::holds_alternative<LoginThrottle::Refusal>(third));
  EXPECT_EQ(std::get<LoginThrottle::Refusal>(third).retry_after_s, 1);
  first = LoginThrottle::Refusal{0, "released"};  // destroys the first permit
  EXPECT_TRUE(std::holds_alternative<LoginThrottle::Permit>(throttle.admit("10.0.0.3", "c")));
}

TEST(LoginThrottle, AFloodOfUsernamesIsBounded) {
  LoginThrottleOptions options;
  options.max_tracked_keys = 100;
  LoginThrottle throttle(options);
  const Clock::time_point now{};
  for (int i = 0; i < 5; ++i) throttle.record_failure("10.0.0.1", "admin", now);
  for (int i = 0; i < 1000; ++i) throttle.record_failure("10.0.0.2", "user" + std::to_string(i), now);
  EXPECT_LE(throttle.tracked_keys(), 100u);
  // The ones with the most failures are kept: still throttled.
  EXPECT_TRUE(refusal(throttle, "10.0.0.3", "admin", now));
  EXPECT_TRUE(refusal(throttle, "10.0.0.2", "someone", now));
}

}  // namespace
}  // namespace safelynx::server
