// "Who is this?": nearest known profiles to a face embedding.
//
// An EmbeddingIndex holds any number of embeddings per profile and answers
// with the best match per profile. Every implementation is safe to use from
// many threads: searches run concurrently with each other, and additions,
// merges and removals are atomic with respect to searches (a search sees an
// embedding entirely or not at all).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace safelynx::index {

using ProfileId = std::uint64_t;
// Chosen by the caller (the storage layer's row id), so the index and the
// database name an embedding the same way without a mapping table.
using EmbeddingId = std::uint64_t;

// One documented choice per model:
//  - L2: Euclidean distance. faceRecognitionNet (the dlib-compatible ResNet-34)
//    is trained for it; its usual match threshold is 0.6.
//  - Cosine: 1 - cos(a, b), in [0, 2]. For models whose embeddings are meant
//    to be L2-normalised (ArcFace-style); vectors are normalised on the way in.
enum class Metric { L2, Cosine };

const char* metric_name(Metric metric);

struct Match {
  ProfileId profile = 0;
  EmbeddingId embedding = 0;  // the profile's embedding nearest to the query
  float distance = 0;         // in the index's metric
};

// Many embeddings in one flat row-major block: what bulk loads, snapshots and
// rebuilds move around. values.size() == ids.size() * dimension.
struct EmbeddingBatch {
  std::vector<ProfileId> profiles;
  std::vector<EmbeddingId> ids;
  std::vector<float> values;

  std::size_t size() const { return ids.size(); }
  void reserve(std::size_t count, std::size_t dimension);
  void push_back(ProfileId profile, EmbeddingId id, std::span<const float> embedding);
  std::span<const float> row(std::size_t i, std::size_t dimension) const {
    return std::span<const float>(values).subspan(i * dimension, dimension);
  }
};

// Bad input: wrong dimension, NaN/Inf, unknown or duplicate ids, bad k.
// The index is unchanged when it is thrown.
class EmbeddingIndexError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class EmbeddingIndex {
 public:
  virtual ~EmbeddingIndex() = default;

  virtual std::size_t dimension() const = 0;
  virtual Metric metric() const = 0;

  // Adds one embedding; `id` must not be in the index yet.
  virtual void add(ProfileId profile, EmbeddingId id, std::span<const float> embedding) = 0;
  // Adds many at once (faster for bulk loads). All rows are checked before
  // any is added: on error nothing is added.
  virtual void add_batch(const EmbeddingBatch& batch) = 0;

  // Removes every embedding of `profile`; returns how many there were.
  virtual std::size_t remove_profile(ProfileId profile) = 0;
  virtual void remove_embedding(EmbeddingId id) = 0;
  // Moves every embedding of `from` to `into` (two profiles found to be the
  // same person); returns how many moved. `into` may be new to the index.
  virtual std::size_t merge_profiles(ProfileId from, ProfileId into) = 0;

  // Up to k profiles, nearest first, each with its nearest embedding, keeping
  // only those within max_distance.
  virtual std::vector<Match> search(std::span<const float> query, std::size_t k, float max_distance) const = 0;

  virtual std::size_t size() const = 0;  // embeddings
  virtual std::size_t profile_count() const = 0;
  virtual bool contains(EmbeddingId id) const = 0;
  // Bytes held by the index's own structures (vectors, graph, id maps).
  virtual std::size_t memory_bytes() const = 0;
  // A consistent copy of everything (for rebuilds and migrations).
  virtual EmbeddingBatch snapshot() const = 0;
};

}  // namespace safelynx::index
