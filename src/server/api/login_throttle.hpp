// Slows password guessing without slowing the rest of the API: failed logins
// are counted per client address and per username, and after a few, each
// further attempt must wait a delay that doubles with every failure (up to a
// cap); an attempt that comes too early is answered 429 at once, without
// hashing. And at most `max_concurrent_hashes` argon2id hashes run at once:
// each takes ~0.1 s of a core and 64 MiB, and 16 parallel ones had taken
// authenticated GETs from 3 ms to seconds (they held every I/O thread). A
// login that finds no free slot gets 429 too, never a wait that would hold
// an I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

namespace safelynx::server {

struct LoginThrottleOptions {
  int free_failures = 3;  // failures before the delays start
  std::chrono::seconds first_delay{1};
  std::chrono::seconds max_address_delay{300};
  // Lower than the address cap: anyone can fail logins for a username, and
  // its owner must not be locked out for long.
  std::chrono::seconds max_user_delay{60};
  std::chrono::minutes forget_after{15};  // a key with no failure for this long starts over
  std::size_t max_concurrent_hashes = 1;
  std::size_t max_tracked_keys = 10'000;  // bounds memory under a flood of random usernames
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(LoginThrottleOptions options = {});

  // A hash slot, released when destroyed.
  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&&) = delete;
    ~Permit();

   private:
    friend class LoginThrottle;
    explicit Permit(std::atomic<std::size_t>* running) : running_(running) {}
    std::atomic<std::size_t>* running_;
  };

  struct Refusal {
    int retry_after_s;
    std::string reason;  // for the log and the 429's message
  };

  // A permit to check the password now, or why not and for how long.
  // `username` is compared case-insensitively.
  std::variant<Permit, Refusal> admit(const std::string& address, const std::string& username,
                                      Clock::time_point now = Clock::now());
  void record_failure(const std::string& address, const std::string& username, Clock::time_point now = Clock::now());
  // A correct password clears both counters.
  void record_success(const std::string& address, const std::string& username);

  std::size_t tracked_keys() const;

 private:
  struct Failures {
    int count = 0;
    Clock::time_point last;
  };
  std::optional<Clock::duration> wait_left(const std::string& key, std::chrono::seconds cap, Clock::time_point now) const;
  void count_failure(const std::string& key, Clock::time_point now);
  void prune(Clock::time_point now);

  const LoginThrottleOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Failures> failures_;
  std::atomic<std::size_t> running_{0};
};

}  // namespace safelynx::server
