// Shared by the index tests: deterministic random embeddings, error capture,
// sizes for ThreadSanitizer.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "index/embedding_index.hpp"

namespace safelynx::index::testing {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// ThreadSanitizer checks every vector load and lock, and its deadlock
// detector slows down with every lock it has seen (hnswlib has one per graph
// node): a 3000-node build takes minutes there. Smaller galleries keep the
// tests within a minute while still running the threaded paths.
constexpr std::size_t sized(std::size_t normal, std::size_t under_thread_sanitizer) {
  return kThreadSanitizer ? under_thread_sanitizer : normal;
}

inline std::vector<float> random_unit_vector(std::mt19937_64& rng, std::size_t dimension) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(dimension);
  double norm = 0;
  for (float& x : v) {
    x = normal(rng);
    norm += double(x) * x;
  }
  for (float& x : v) x = float(x / std::sqrt(norm));
  return v;
}

// `count` embeddings, one profile each (profile = id = row + first_id).
inline EmbeddingBatch random_batch(std::mt19937_64& rng, std::size_t count, std::size_t dimension,
                                   std::uint64_t first_id = 0) {
  EmbeddingBatch batch;
  batch.reserve(count, dimension);
  for (std::size_t i = 0; i < count; ++i) batch.push_back(first_id + i, first_id + i, random_unit_vector(rng, dimension));
  return batch;
}

// The message of the EmbeddingIndexError `action` throws.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const EmbeddingIndexError& e) {
    return e.what();
  }
  return "(no EmbeddingIndexError)";
}

inline float true_l2(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += double(a[i] - b[i]) * (a[i] - b[i]);
  return float(std::sqrt(sum));
}

}  // namespace safelynx::index::testing
