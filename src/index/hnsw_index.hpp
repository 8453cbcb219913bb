// Approximate search on a hierarchical navigable small-world graph (Debian's
// libhnswlib), with the SIMD distance kernels. Removal marks graph nodes
// deleted (they stop appearing in answers but keep their memory until a
// rebuild: see TieredIndex, which rebuilds in the background).
#pragma once

#include <memory>

#include "index/embedding_catalog.hpp"
#include "index/embedding_index.hpp"
#include "index/shared_lock.hpp"

namespace safelynx::index {

// The beam an HNSW search uses when none is set: 64 up to 100k embeddings,
// growing as (size / 100k)^0.6 to 256 at 1M, capped at 512. Both ends are
// measured (docs/BENCHMARKS.md, clustered data): at 100k a beam of 64 has
// recall@1 0.999 in 0.19 ms (256 would cost 0.71 ms for nothing); at 1M
// recall@1 is 0.88 at 64, 0.96 at 128 and 0.998 at 256 (p99 0.57 ms).
std::size_t automatic_ef_search(std::size_t size);

struct HnswIndexOptions {
  std::size_t dimension = 128;
  Metric metric = Metric::L2;
  std::size_t m = 16;                 // links per node (2*m on the bottom layer)
  std::size_t ef_construction = 64;   // beam width while inserting
  // Beam width while searching (at least k is used); 0 = scale with the
  // gallery (automatic_ef_search).
  std::size_t ef_search = 0;
  std::size_t build_threads = 0;      // for add_batch; 0 = one per core
};

class HnswIndex final : public EmbeddingIndex {
 public:
  explicit HnswIndex(HnswIndexOptions options = {});
  ~HnswIndex() override;

  std::size_t dimension() const override;
  Metric metric() const override;
  const HnswIndexOptions& options() const { return options_; }

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

  // 0 = automatic_ef_search.
  void set_ef_search(std::size_t ef);
  // Graph nodes removed but still occupying memory.
  std::size_t deleted_count() const;

 private:
  struct Graph;
  HnswIndexOptions options_;
  mutable WriterPreferringSharedMutex mutex_;
  EmbeddingCatalog catalog_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace safelynx::index
