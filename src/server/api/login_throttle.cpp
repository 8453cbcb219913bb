#include "server/api/login_throttle.hpp"

#include <algorithm>
#include <cctype>

namespace safelynx::server {
namespace {

std::string address_key(const std::string& address) { return "a:" + address; }

std::string user_key(const std::string& username) {
  std::string key = "u:";
  key.reserve(2 + std::min<std::size_t>(username.size(), 256));
  for (char c : username.substr(0, 256)) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

int whole_seconds(LoginThrottle::Clock::duration duration) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  return static_cast<int>(std::max<long long>(1, (ms + 999) / 1000));
}

}  // namespace

LoginThrottle::LoginThrottle(LoginThrottleOptions options) : options_(options) {}

LoginThrottle::Permit::Permit(Permit&& other) noexcept : running_(other.running_) { other.running_ = nullptr; }

LoginThrottle::Permit::~Permit() {
  if (running_) running_->fetch_sub(1);
}

std::optional<LoginThrottle::Clock::duration> LoginThrottle::wait_left(const std::string& key, std::chrono::seconds cap,
                                                                       Clock::time_point now) const {
  const auto found = failures_.find(key);
  if (found == failures_.end()) return std::nullopt;
  const int over = found->second.count - options_.free_failures;
  if (over <= 0) return std::nullopt;
  // first_delay, doubled for every failure after that, up to the cap.
  const int doublings = std::min(over - 1, 30);
  const auto delay = std::min<Clock::duration>(options_.first_delay * (std::int64_t{1} << doublings), cap);
  const auto ready = found->second.last + delay;
  if (now >= ready) return std::nullopt;
  return ready - now;
}

std::variant<LoginThrottle::Permit, LoginThrottle::Refusal> LoginThrottle::admit(const std::string& address,
                                                                                 const std::string& username,
                                                                                 Clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    const auto by_address = wait_left(address_key(address), options_.max_address_delay, now);
    const auto by_user = wait_left(user_key(username), options_.max_user_delay, now);
    if (by_address || by_user) {
      const bool address_longer = by_address && (!by_user || *by_address >= *by_user);
      return Refusal{whole_seconds(address_longer ? *by_address : *by_user),
                     address_longer ? "too many failed logins from this address"
                                    : "too many failed logins for this username"};
    }
  }
  std::size_t running = running_.load();
  do {
    if (running >= std::max<std::size_t>(1, options_.max_concurrent_hashes))
      return Refusal{1, "too many logins at once"};
  } while (!running_.compare_exchange_weak(running, running + 1));
  return Permit(&running_);
}

void LoginThrottle::count_failure(const std::string& key, Clock::time_point now) {
  auto [entry, inserted] = failures_.try_emplace(key);
  if (!inserted && now - entry->second.last > options_.forget_after) entry->second.count = 0;
  entry->second.count += 1;
  entry->second.last = now;
}

void LoginThrottle::prune(Clock::time_point now) {
  std::erase_if(failures_, [&](const auto& entry) { return now - entry.second.last > options_.forget_after; });
  // Still too many (a flood of fresh keys): drop those with the fewest
  // failures first; they would have had the shortest delays.
  while (failures_.size() > options_.max_tracked_keys) {
    auto fewest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
      return a.second.count != b.second.count ? a.second.count < b.second.count : a.second.last < b.second.last;
    });
    failures_.erase(fewest);
  }
}

void LoginThrottle::record_failure(const std::string& address, const std::string& username, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  count_failure(address_key(address), now);
  count_failure(user_key(username), now);
  if (failures_.size() > options_.max_tracked_keys) prune(now);
}

void LoginThrottle::record_success(const std::string& address, const std::string& username) {
  std::lock_guard lock(mutex_);
  failures_.erase(address_key(address));
  failures_.erase(user_key(username));
}

std::size_t LoginThrottle::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return failures_.size();
}

}  // namespace safelynx::server
