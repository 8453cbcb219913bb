// Exact search: every embedding in one contiguous, 64-byte aligned float32
// matrix, scanned with the SIMD distance kernels. With int8 storage the scan
// reads a 4x smaller int8 copy and the best candidates are re-ranked with
// their float32 values, so answers stay exact for the top profiles.
#pragma once

#include <memory>
#include <shared_mutex>

#include "index/embedding_catalog.hpp"
#include "index/embedding_index.hpp"
#include "index/shared_lock.hpp"

namespace safelynx::index {

enum class ExactStorage { Float32, Int8 };

struct ExactIndexOptions {
  std::size_t dimension = 128;
  Metric metric = Metric::L2;
  ExactStorage storage = ExactStorage::Float32;
  // Int8 only: how many profiles the quantised scan hands to the float32
  // re-ranking (at least k). More costs a little time and gains recall.
  std::size_t rerank_profiles = 32;
};

class ExactIndex final : public EmbeddingIndex {
 public:
  explicit ExactIndex(ExactIndexOptions options = {});
  ~ExactIndex() override;

  std::size_t dimension() const override { return options_.dimension; }
  Metric metric() const override { return options_.metric; }
  ExactStorage storage() const { return options_.storage; }

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

 private:
  struct Matrix;
  void append_unlocked(ProfileId profile, EmbeddingId id, std::span<const float> embedding);
  void erase_unlocked(EmbeddingId id);
  std::vector<Match> search_float_unlocked(const float* query, std::size_t k, float max_distance) const;
  std::vector<Match> search_int8_unlocked(const float* query, std::size_t k, float max_distance) const;

  ExactIndexOptions options_;
  mutable WriterPreferringSharedMutex mutex_;
  EmbeddingCatalog catalog_;
  std::unique_ptr<Matrix> matrix_;
};

}  // namespace safelynx::index
