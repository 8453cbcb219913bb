#include "index/tiered_index.hpp"

#include <cmath>
#include <optional>

namespace safelynx::index {
namespace {

// A rebuild for a handful of removed nodes would cost more than it saves.
constexpr std::size_t kMinDeletedForRebuild = 256;
// Changes replayed under the change lock at the very end of a build; larger
// backlogs are first drained without it.
constexpr std::size_t kFinalReplayBacklog = 64;

}  // namespace

TieredIndex::TieredIndex(TieredIndexOptions options) : options_(std::move(options)) {
  if (options_.dimension == 0) throw EmbeddingIndexError("an index needs a dimension of at least 1");
  if (!(options_.rebuild_deleted_fraction > 0))
    throw EmbeddingIndexError("rebuild_deleted_fraction must be above 0");
  options_.hnsw.dimension = options_.dimension;
  options_.hnsw.metric = options_.metric;
  active_target_ = options_.exact_up_to == 0 ? Target::Hnsw : Target::Exact;
  active_ = make(active_target_);
}

TieredIndex::~TieredIndex() {
  std::unique_lock lock(change_mutex_);
  migration_done_.wait(lock, [this] { return !migrating_; });
  lock.unlock();
  if (worker_.joinable()) worker_.join();
}

std::unique_ptr<EmbeddingIndex> TieredIndex::make(Target target) const {
  if (target == Target::Hnsw) return std::make_unique<HnswIndex>(options_.hnsw);
  ExactIndexOptions exact;
  exact.dimension = options_.dimension;
  exact.metric = options_.metric;
  exact.storage = options_.exact_storage;
  return std::make_unique<ExactIndex>(exact);
}

std::shared_ptr<EmbeddingIndex> TieredIndex::current() const {
  std::shared_lock lock(active_mutex_);
  return active_;
}

void TieredIndex::record_locked(Change change) {
  if (migrating_) pending_changes_.push_back(std::move(change));
  maybe_start_migration_locked();
}

void TieredIndex::add(ProfileId profile, EmbeddingId id, std::span<const float> embedding) {
  std::lock_guard lock(change_mutex_);
  active_->add(profile, id, embedding);
  record_locked([profile, id, values = std::vector<float>(embedding.begin(), embedding.end())](EmbeddingIndex& index) {
    index.add(profile, id, values);
  });
}

void TieredIndex::add_batch(const EmbeddingBatch& batch) {
  std::lock_guard lock(change_mutex_);
  active_->add_batch(batch);
  if (migrating_) {
    record_locked([copy = std::make_shared<const EmbeddingBatch>(batch)](EmbeddingIndex& index) {
      index.add_batch(*copy);
    });
  } else {
    maybe_start_migration_locked();
  }
}

std::size_t TieredIndex::remove_profile(ProfileId profile) {
  std::lock_guard lock(change_mutex_);
  const std::size_t removed = active_->remove_profile(profile);
  record_locked([profile](EmbeddingIndex& index) { index.remove_profile(profile); });
  return removed;
}

void TieredIndex::remove_embedding(EmbeddingId id) {
  std::lock_guard lock(change_mutex_);
  active_->remove_embedding(id);
  record_locked([id](EmbeddingIndex& index) { index.remove_embedding(id); });
}

std::size_t TieredIndex::merge_profiles(ProfileId from, ProfileId into) {
  std::lock_guard lock(change_mutex_);
  const std::size_t moved = active_->merge_profiles(from, into);
  record_locked([from, into](EmbeddingIndex& index) { index.merge_profiles(from, into); });
  return moved;
}

std::optional<TieredIndex::Target> TieredIndex::needed_migration_locked() const {
  const std::size_t size = active_->size();
  if (!last_error_.empty()) {
    // Retry a failed build only once the gallery has changed noticeably.
    const double moved = std::fabs(double(size) - double(size_at_last_error_));
    if (moved < 0.1 * double(size_at_last_error_)) return std::nullopt;
  }
  if (active_target_ == Target::Exact) {
    if (size > options_.exact_up_to) return Target::Hnsw;
    return std::nullopt;
  }
  if (size < options_.exact_up_to / 2) return Target::Exact;
  const std::size_t deleted = static_cast<const HnswIndex&>(*active_).deleted_count();
  if (deleted >= kMinDeletedForRebuild && double(deleted) >= options_.rebuild_deleted_fraction * double(size))
    return Target::Hnsw;
  return std::nullopt;
}

void TieredIndex::maybe_start_migration_locked() {
  if (migrating_) return;
  const std::optional<Target> target = needed_migration_locked();
  if (!target) return;
  if (worker_.joinable()) worker_.join();  // the previous worker has finished: migrating_ was false
  migrating_ = true;
  worker_ = std::thread([this, first = *target] { run_migrations(first); });
}

void TieredIndex::run_migrations(Target target) {
  for (;;) {
    migrate(target);
    // Changes made during that build may call for another (the gallery shrank
    // past the threshold while a rebuild ran, say).
    std::lock_guard lock(change_mutex_);
    const std::optional<Target> next = needed_migration_locked();
    if (!next) {
      migrating_ = false;
      migration_done_.notify_all();
      return;
    }
    target = *next;
  }
}

void TieredIndex::migrate(Target target) {
  try {
    EmbeddingBatch contents;
    {
      std::lock_guard lock(change_mutex_);
      contents = active_->snapshot();
      pending_changes_.clear();  // everything so far is in the snapshot
    }
    std::shared_ptr<EmbeddingIndex> fresh = make(target);
    fresh->add_batch(contents);
    contents = {};

    // Catch up without holding the change lock while the backlog is large...
    for (;;) {
      std::vector<Change> backlog;
      {
        std::lock_guard lock(change_mutex_);
        if (pending_changes_.size() <= kFinalReplayBacklog) break;
        backlog.swap(pending_changes_);
      }
      for (const Change& change : backlog) change(*fresh);
    }
    // ...then the last few under it, and take over.
    std::lock_guard lock(change_mutex_);
    for (const Change& change : pending_changes_) change(*fresh);
    pending_changes_.clear();
    {
      std::unique_lock swap_lock(active_mutex_);
      active_ = std::move(fresh);
      active_target_ = target;
    }
    ++completed_migrations_;
    last_error_.clear();
  } catch (const std::exception& e) {
    std::lock_guard lock(change_mutex_);
    pending_changes_.clear();
    last_error_ = std::string("building the ") + (target == Target::Hnsw ? "HNSW" : "exact") +
                  " index in the background failed: " + e.what();
    size_at_last_error_ = active_->size();
  }
}

std::vector<Match> TieredIndex::search(std::span<const float> query, std::size_t k, float max_distance) const {
  // The structure stays alive for this search even if a new one takes over.
  return current()->search(query, k, max_distance);
}

std::size_t TieredIndex::size() const { return current()->size(); }
std::size_t TieredIndex::profile_count() const { return current()->profile_count(); }
bool TieredIndex::contains(EmbeddingId id) const { return current()->contains(id); }
std::size_t TieredIndex::memory_bytes() const { return current()->memory_bytes(); }
EmbeddingBatch TieredIndex::snapshot() const { return current()->snapshot(); }

const char* TieredIndex::active_kind() const {
  std::shared_lock lock(active_mutex_);
  return active_target_ == Target::Hnsw ? "hnsw" : "exact";
}

bool TieredIndex::background_work_running() const {
  std::lock_guard lock(change_mutex_);
  return migrating_;
}

void TieredIndex::wait_for_background_work() const {
  std::unique_lock lock(change_mutex_);
  migration_done_.wait(lock, [this] { return !migrating_; });
}

std::size_t TieredIndex::completed_migrations() const {
  std::lock_guard lock(change_mutex_);
  return completed_migrations_;
}

std::string TieredIndex::last_background_error() const {
  std::lock_guard lock(change_mutex_);
  return last_error_;
}

}  // namespace safelynx::index
