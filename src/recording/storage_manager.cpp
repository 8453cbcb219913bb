#include "recording/storage_manager.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

namespace safelynx::recording {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBatch = 64;  // rows fetched per query during a cleanup

std::string percent(std::uint64_t used, std::uint64_t quota) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * static_cast<double>(used) / static_cast<double>(quota));
  return text;
}

std::string usage_text(std::uint64_t used, std::uint64_t quota) {
  return percent(used, quota) + " of the quota (" + std::to_string(used) + " of " + std::to_string(quota) + " bytes)";
}

// Size of a file, 0 when absent or unreadable.
std::uint64_t size_of(const fs::path& file) {
  std::error_code error;
  const auto size = fs::file_size(file, error);
  return error ? 0 : static_cast<std::uint64_t>(size);
}

// Removes `file`; true when it is gone afterwards (absent counts as gone).
bool remove_file(const fs::path& file, std::string& reason) {
  std::error_code error;
  fs::remove(file, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    reason = error.message();
    return false;
  }
  return true;
}

}  // namespace

StorageManager::StorageManager(storage::Database& database, storage::MediaStore& media, EventBus& events,
                               StoragePolicy policy, Log log, std::chrono::seconds interval)
    : database_(database),
      media_(media),
      events_(events),
      log_(std::move(log)),
      interval_(std::max(interval, std::chrono::seconds(1))),
      policy_(policy) {}

StorageManager::~StorageManager() { stop(); }

void StorageManager::set_policy(const StoragePolicy& policy) {
  {
    std::lock_guard lock(mutex_);
    policy_ = policy;
    recheck_ = true;
  }
  wake_.notify_all();
}

void StorageManager::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  recheck_ = false;
  thread_ = std::thread([this] { run(); });
}

void StorageManager::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

bool StorageManager::stopping() const {
  if (!interruptible_) return false;
  std::lock_guard lock(mutex_);
  return stopping_;
}

void StorageManager::run() {
  for (;;) {
    try {
      check(true);
    } catch (const std::exception& e) {
      log(std::string("storage check failed: ") + e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, interval_, [this] { return stopping_ || recheck_; });
    if (stopping_) return;
    recheck_ = false;
  }
}

void StorageManager::log(const std::string& message) const {
  if (log_) log_(message);
}

std::uint64_t StorageManager::usage() {
  std::uint64_t used = database_.size_bytes();
  for (const auto& [kind, bytes] : media_.usage()) used += bytes;
  return used;
}

void StorageManager::warn(std::uint64_t used, std::uint64_t quota, const std::string& message, StorageCheck& result) {
  log(message);
  events_.publish(StorageWarning{used, quota, message});
  result.warned = true;
}

StorageCheck StorageManager::check_now() { return check(false); }

StorageCheck StorageManager::check(bool interruptible) {
  std::lock_guard check_lock(check_mutex_);
  interruptible_ = interruptible;
  StoragePolicy policy;
  {
    std::lock_guard lock(mutex_);
    policy = policy_;
  }
  StorageCheck result;
  result.quota_bytes = policy.quota_bytes;
  result.used_bytes = usage();
  if (policy.quota_bytes == 0) return result;

  const auto quota = static_cast<double>(policy.quota_bytes);
  const double warn_level = policy.warn_ratio * quota;
  const double cleanup_level = policy.cleanup_ratio * quota;
  const double target_level = policy.target_ratio * quota;
  std::uint64_t used = result.used_bytes;

  if (static_cast<double>(used) >= warn_level) {
    if (!warned_) {
      warn(used, policy.quota_bytes, "storage use is at " + usage_text(used, policy.quota_bytes), result);
      warned_ = true;
    }
  } else {
    warned_ = false;
  }
  if (static_cast<double>(used) < cleanup_level) cleanup_short_warned_ = false;

  if (policy.auto_cleanup && static_cast<double>(used) >= cleanup_level) {
    const TimePoint cutoff =
        now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours(24) *
                                                                         std::max(policy.min_retention_days, 0));
    // The running total is an estimate (files removed are subtracted); each
    // pass ends by measuring again, and only gives up when nothing is left.
    bool completed = delete_recordings(cutoff, target_level, used, result);
    if (completed) completed = delete_snapshots(cutoff, target_level, used, result);
    used = usage();
    result.used_bytes = used;
    if (!completed) {
      log("storage cleanup: interrupted by shutdown at " + usage_text(used, policy.quota_bytes));
    } else if (static_cast<double>(used) >= target_level) {
      if (!cleanup_short_warned_) {
        const std::string target = percent(static_cast<std::uint64_t>(target_level), policy.quota_bytes);
        warn(used, policy.quota_bytes,
             "storage cleanup could not get below " + target + ": use is at " + usage_text(used, policy.quota_bytes) +
                 "; what is left is newer than the minimum retention of " + std::to_string(policy.min_retention_days) +
                 " day(s), still being recorded, thumbnails or the database",
             result);
        cleanup_short_warned_ = true;
      }
    } else {
      cleanup_short_warned_ = false;
      log("storage cleanup: done, use is at " + usage_text(used, policy.quota_bytes) + ": " +
          std::to_string(result.recordings_deleted) + " recording(s) and the snapshots of " +
          std::to_string(result.snapshots_deleted) + " sighting(s) deleted, " + std::to_string(result.bytes_freed) +
          " bytes freed");
    }
    // Below the warning level again: the next crossing warns again.
    if (static_cast<double>(used) < warn_level) warned_ = false;
  }
  return result;
}

bool StorageManager::delete_recordings(TimePoint cutoff, double target, std::uint64_t& used, StorageCheck& result) {
  auto& recordings = database_.recordings();
  while (static_cast<double>(used) >= target) {
    const std::vector<Recording> batch = recordings.oldest_finished(cutoff, kBatch);
    if (batch.empty()) return true;
    for (const Recording& recording : batch) {
      if (stopping()) return false;
      if (static_cast<double>(used) < target) break;
      std::uint64_t bytes = 0;
      if (const auto file = media_.recording_path(recording.file)) {
        bytes = size_of(*file);
        std::string reason;
        if (!remove_file(*file, reason)) {
          // The row stays so the file is not lost track of; without this
          // recording the pass cannot go on in order.
          log("storage cleanup: cannot delete recording " + recording.id.to_string() + " file " + file->string() + ": " +
              reason);
          return true;
        }
      } else {
        log("storage cleanup: recording " + recording.id.to_string() + " names a file outside recordings/ ('" +
            recording.file + "'); removing only its row");
      }
      recordings.remove(recording.id);
      used -= std::min(used, bytes);
      ++result.recordings_deleted;
      result.bytes_freed += bytes;
      log("storage cleanup: deleted recording " + recording.id.to_string() + " (camera " +
          recording.camera_id.to_string() + ", " + to_iso8601(recording.start) + " to " +
          (recording.end ? to_iso8601(*recording.end) : std::string("?")) + ", file " + recording.file + "): " +
          std::to_string(bytes) + " bytes");
    }
    // Measure again rather than trust the estimate alone (the database's
    // WAL grows with the deletions).
    if (static_cast<double>(used) < target) used = usage();
  }
  return true;
}

bool StorageManager::delete_snapshots(TimePoint cutoff, double target, std::uint64_t& used, StorageCheck& result) {
  auto& sightings = database_.sightings();
  while (static_cast<double>(used) >= target) {
    const std::vector<Sighting> batch = sightings.oldest_with_snapshots(cutoff, kBatch);
    if (batch.empty()) return true;
    for (const Sighting& sighting : batch) {
      if (stopping()) return false;
      if (static_cast<double>(used) < target) break;
      std::uint64_t bytes = 0;
      for (const auto kind : {storage::MediaKind::FaceSnapshot, storage::MediaKind::FrameSnapshot}) {
        const fs::path file = media_.path(kind, sighting.id);
        const std::uint64_t size = size_of(file);
        std::string reason;
        if (!remove_file(file, reason)) {
          log("storage cleanup: cannot delete snapshot " + file.string() + ": " + reason);
          return true;
        }
        bytes += size;
      }
      sightings.clear_snapshots(sighting.id);
      used -= std::min(used, bytes);
      ++result.snapshots_deleted;
      result.bytes_freed += bytes;
      log("storage cleanup: deleted the snapshots of sighting " + sighting.id.to_string() + " (camera " +
          sighting.camera_id.to_string() + ", " + to_iso8601(sighting.time) + "): " + std::to_string(bytes) + " bytes");
    }
    if (static_cast<double>(used) < target) used = usage();
  }
  return true;
}

}  // namespace safelynx::recording
