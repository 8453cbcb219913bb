// Keeps the data dir within its quota: warns (StorageWarning event) when
// usage crosses the warning level, and when auto-cleanup is on and usage
// reaches the cleanup level, deletes the oldest finished recordings, then
// the oldest sighting snapshots, until usage is below the target level.
// Nothing younger than the minimum retention is deleted; every deletion is
// logged. Runs a check at start and then periodically on its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "domain/events.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::recording {

struct StoragePolicy {
  std::uint64_t quota_bytes = 100'000'000'000ull;
  bool auto_cleanup = true;
  int min_retention_days = 1;   // nothing newer is ever deleted
  double warn_ratio = 0.90;     // StorageWarning when usage crosses this
  double cleanup_ratio = 0.95;  // cleanup starts here...
  double target_ratio = 0.80;   // ...and stops below this
};

struct StorageCheck {
  std::uint64_t used_bytes = 0;   // database + thumbnails + snapshots + recordings
  std::uint64_t quota_bytes = 0;
  bool warned = false;            // a StorageWarning was published by this check
  std::uint64_t recordings_deleted = 0;
  std::uint64_t snapshots_deleted = 0;  // sightings whose snapshot files were deleted
  std::uint64_t bytes_freed = 0;
};

class StorageManager {
 public:
  // `log` receives one line per deletion and per warning (for the JSON log),
  // a summary line after a cleanup that reached its target, and the reason
  // when a check or a deletion fails.
  using Log = std::function<void(const std::string& message)>;

  StorageManager(storage::Database& database, storage::MediaStore& media, EventBus& events, StoragePolicy policy,
                 Log log, std::chrono::seconds interval = std::chrono::seconds(60));
  ~StorageManager();  // stop()
  StorageManager(const StorageManager&) = delete;
  StorageManager& operator=(const StorageManager&) = delete;

  void set_policy(const StoragePolicy& policy);  // e.g. after PUT /settings; a running thread checks at once
  // One pass now, on the caller's thread (also what the thread runs).
  // Storage errors propagate (the thread logs them and carries on). A quota
  // of 0 means no quota: nothing is checked.
  StorageCheck check_now();
  void start();  // checks now, then every interval
  void stop();   // idempotent

 private:
  storage::Database& database_;
  storage::MediaStore& media_;
  EventBus& events_;
  Log log_;
  const std::chrono::seconds interval_;
  mutable std::mutex mutex_;
  std::mutex check_mutex_;  // one check at a time
  std::condition_variable wake_;
  StoragePolicy policy_;
  bool warned_ = false;  // above the warning level at the last check: warn once per crossing
  // The "cleanup could not reach the target" warning was published; not
  // again until usage is below the cleanup level or a cleanup reaches the
  // target (otherwise every check would repeat it).
  bool cleanup_short_warned_ = false;
  bool stopping_ = false;
  bool recheck_ = false;  // set_policy() asks the thread for a check now
  bool interruptible_ = false;  // the running check is the thread's (stop() ends it); under check_mutex_
  std::thread thread_;

  void run();
  StorageCheck check(bool interruptible);
  bool stopping() const;  // stop() was called and this check is the thread's
  std::uint64_t usage();
  void warn(std::uint64_t used, std::uint64_t quota, const std::string& message, StorageCheck& result);
  void log(const std::string& message) const;
  // The cleanup passes; `used` is updated as files go. Each returns false
  // when stop() interrupted it.
  bool delete_recordings(TimePoint cutoff, double target, std::uint64_t& used, StorageCheck& result);
  bool delete_snapshots(TimePoint cutoff, double target, std::uint64_t& used, StorageCheck& result);
};

}  // namespace safelynx::recording
