// The index Safelynx runs: exact search while the gallery is small, HNSW once
// it is large, switching (with hysteresis) as it grows or shrinks. Switches
// and HNSW rebuilds (after many removals) are built in a background thread
// from a snapshot while the current structure keeps answering; changes made
// meanwhile are replayed onto the new one before it takes over, so nothing is
// lost and searches never wait for a build.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "index/embedding_index.hpp"
#include "index/exact_index.hpp"
#include "index/hnsw_index.hpp"
#include "index/shared_lock.hpp"

namespace safelynx::index {

struct TieredIndexOptions {
  std::size_t dimension = 128;
  Metric metric = Metric::L2;
  // Above this many embeddings HNSW serves; below half of it, exact search
  // again. docs/BENCHMARKS.md: on the 2-core machine exact search's p99 is
  // 0.35-0.5 ms at 10k embeddings, half the 1 ms budget, while HNSW answers
  // in 0.1-0.2 ms (at 100k: 3.4-5.9 ms against 0.25-0.36 ms).
  std::size_t exact_up_to = 10'000;
  ExactStorage exact_storage = ExactStorage::Float32;
  HnswIndexOptions hnsw;  // dimension and metric are taken from above
  // Rebuild the HNSW graph once removed nodes exceed this share of live ones.
  double rebuild_deleted_fraction = 0.25;
};

class TieredIndex final : public EmbeddingIndex {
 public:
  explicit TieredIndex(TieredIndexOptions options = {});
  ~TieredIndex() override;  // waits for a background build to finish

  std::size_t dimension() const override { return options_.dimension; }
  Metric metric() const override { return options_.metric; }

  void add(ProfileId profile, EmbeddingId id, std::span<const float> embedding) override;
  void add_batch(const EmbeddingBatch& batch) override;
  std::size_t remove_profile(ProfileId profile) override;
  void remove_embedding(EmbeddingId id) override;
  std::size_t merge_profiles(ProfileId from, ProfileId into) override;
  std::vector<Match> search(std::span<const float> query, std::size_t k, float max_distance) const override;
  std::size_t size() const override;
  std::size_t profile_count() const override;
  bool contains(EmbeddingId id) const override;
  std::size_t memory_bytes() const override;
  EmbeddingBatch snapshot() const override;

  // "exact" or "hnsw": the structure answering searches now.
  const char* active_kind() const;
  bool background_work_running() const;
  // Blocks until no background build is running (tests, benchmarks, shutdown).
  void wait_for_background_work() const;
  // How many switches and rebuilds have completed.
  std::size_t completed_migrations() const;
  // Why the last background build failed ("" when none did). The current
  // structure keeps serving; the build is retried once the size has moved on.
  std::string last_background_error() const;

 private:
  enum class Target { Exact, Hnsw };
  // A change already applied to the current structure, kept to be replayed
  // onto the one being built.
  using Change = std::function<void(EmbeddingIndex&)>;

  std::unique_ptr<EmbeddingIndex> make(Target target) const;
  std::shared_ptr<EmbeddingIndex> current() const;
  void record_locked(Change change);
  std::optional<Target> needed_migration_locked() const;
  void maybe_start_migration_locked();
  void run_migrations(Target first);
  void migrate(Target target);

  TieredIndexOptions options_;
  // Held shared by searches, exclusively only for the instant a new structure
  // takes over.
  mutable WriterPreferringSharedMutex active_mutex_;
  std::shared_ptr<EmbeddingIndex> active_;
  Target active_target_ = Target::Exact;

  // Serialises changes, and guards the log of changes made during a build.
  mutable std::mutex change_mutex_;
  mutable std::condition_variable migration_done_;
  bool migrating_ = false;
  std::vector<Change> pending_changes_;
  std::size_t completed_migrations_ = 0;
  std::string last_error_;
  std::size_t size_at_last_error_ = 0;
  std::thread worker_;
};

}  // namespace safelynx::index
