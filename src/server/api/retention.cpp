#include "server/api/retention.hpp"

#include <exception>


namespace safelynx::server {

using nlohmann::json;

namespace {

constexpr std::size_t kBatch = 100;

TimePoint days_before(TimePoint now, int days) { return now - std::chrono::hours(24) * days; }

json optional_time_json(const std::optional<TimePoint>& time) { return time ? json(to_iso8601(*time)) : json(nullptr); }

}  // namespace

RetentionService::RetentionService(storage::Database& database, gallery::Gallery& gallery, AuditLog& audit, std::function<Settings()> settings, Log log,
                                   std::chrono::seconds interval)
    : database_(database), gallery_(gallery), audit_(audit), settings_(std::move(settings)), log_(std::move(log)), interval_(interval) {}

RetentionService::~RetentionService() { stop(); }

bool RetentionService::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::size_t RetentionService::delete_unseen(Classification classification, int days, TimePoint now) {
  if (days <= 0) return 0;
  const TimePoint cutoff = days_before(now, days);
  std::size_t deleted = 0;
  while (!stopping()) {
    const auto batch = database_.profiles().unseen_since(classification, cutoff, kBatch);
    std::size_t deleted_in_batch = 0;
    for (const Profile& candidate : batch) {
      if (stopping()) break;
      // Sighted or reclassified since the query: keep it.
      const auto current = database_.profiles().find(candidate.id);
      if (!current || current->classification != classification ||
          current->last_seen.value_or(current->created_at) >= cutoff)
        continue;
      const auto profile = gallery_.remove(candidate.id);
      if (!profile) continue;
      ++deleted;
      ++deleted_in_batch;
      // No name or notes: the point is that the person's data is gone.
      audit_.record(AuditActor::system(), "retention.delete", {"profile", profile->id.to_string()},
                            {{"classification", std::string(to_string(profile->classification))},
                             {"last_seen", optional_time_json(profile->last_seen)},
                             {"created_at", to_iso8601(profile->created_at)},
                             {"sighting_count", profile->sighting_count},
                             {"embedding_count", profile->embedding_count},
                             {"retention_days", days}});
    }
    // A short batch was the last; a batch where every profile was skipped
    // would come back the same, so stop there too.
    if (batch.size() < kBatch || deleted_in_batch == 0) break;
  }
  return deleted;
}

RetentionPass RetentionService::run_once(TimePoint now) {
  std::lock_guard pass(pass_mutex_);
  const Settings settings = settings_();
  RetentionPass result;
  result.profiles_deleted += delete_unseen(Classification::Unknown, settings.retention.unknown_profiles_days, now);
  result.profiles_deleted += delete_unseen(Classification::Known, settings.retention.known_profiles_days, now);
  result.profiles_deleted += delete_unseen(Classification::Trusted, settings.retention.known_profiles_days, now);
  if (settings.audit.retention_days > 0) {
    const TimePoint cutoff = days_before(now, settings.audit.retention_days);
    result.audit_entries_deleted = audit_.repository().remove_before(cutoff);
    if (result.audit_entries_deleted > 0)
      audit_.record(AuditActor::system(), "retention.delete", {"audit", ""},
                            {{"entries", result.audit_entries_deleted},
                             {"before", to_iso8601(cutoff)},
                             {"retention_days", settings.audit.retention_days}});
  }
  if (log_ && (result.profiles_deleted > 0 || result.audit_entries_deleted > 0))
    log_("retention deleted " + std::to_string(result.profiles_deleted) + " profiles and " +
         std::to_string(result.audit_entries_deleted) + " audit entries");
  return result;
}

void RetentionService::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void RetentionService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionService::run() {
  for (;;) {
    try {
      run_once(now_ms());
    } catch (const std::exception& error) {
      if (log_) log_(std::string("retention pass failed: ") + error.what());
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace safelynx::server
