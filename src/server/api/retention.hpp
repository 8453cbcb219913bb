// The retention of personal data and of the audit log: profiles not sighted
// for the configured number of days (per classification, settings
// "retention.*") are deleted with their photos, embeddings, index entries and
// sightings; audit entries older than "audit.retention_days" are deleted.
// Each deletion is recorded in the audit log as "retention.delete" by
// "system". Runs once at start, then periodically on its own thread;
// run_once(now) is the whole pass, for tests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "domain/settings.hpp"
#include "server/api/audit.hpp"
#include "gallery/gallery.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

struct RetentionPass {
  std::size_t profiles_deleted = 0;
  std::size_t audit_entries_deleted = 0;
};

class RetentionService {
 public:
  // `log` gets one line per pass that deleted something, and the reason
  // when a pass fails.
  using Log = std::function<void(const std::string& message)>;

  // `settings` gives the current settings at each pass (they change at run time).
  RetentionService(storage::Database& database, gallery::Gallery& gallery, AuditLog& audit, std::function<Settings()> settings, Log log,
                   std::chrono::seconds interval = std::chrono::hours(1));
  ~RetentionService();  // stop()
  RetentionService(const RetentionService&) = delete;
  RetentionService& operator=(const RetentionService&) = delete;

  // One pass with the current settings, as if the time were `now`; on the
  // caller's thread. Storage errors propagate.
  RetentionPass run_once(TimePoint now);
  void start();  // a pass now, then every interval
  void stop();   // idempotent; ends a running pass between two deletions

 private:
  storage::Database& database_;
  gallery::Gallery& gallery_;
  AuditLog& audit_;
  std::function<Settings()> settings_;
  Log log_;
  const std::chrono::seconds interval_;
  std::mutex mutex_;
  std::mutex pass_mutex_;  // one pass at a time
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;

  void run();
  bool stopping();
  std::size_t delete_unseen(Classification classification, int days, TimePoint now);
};

}  // namespace safelynx::server
