// Book-keeping every EmbeddingIndex shares: which profile and embedding id
// live in which storage slot, and the checks on incoming vectors. Not
// thread-safe by itself: each index guards it with its own lock.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "index/embedding_index.hpp"

namespace safelynx::index {

// Throws EmbeddingIndexError naming the problem when `values` is not a finite
// vector of `dimension` numbers. `what` names it in the message ("query", ...).
void validate_embedding(std::span<const float> values, std::size_t dimension, const char* what);
// Checks every row of a batch, and that its ids are unique within it.
void validate_batch(const EmbeddingBatch& batch, std::size_t dimension);
// Copies `values` into `out`, normalised to unit length for Metric::Cosine
// (a zero vector has no direction: EmbeddingIndexError).
void prepare_embedding(std::span<const float> values, Metric metric, std::span<float> out);
// Checks a search's arguments and returns the query ready to compare
// (normalised for cosine). Errors name the query, k or max_distance.
std::vector<float> prepare_query(std::span<const float> query, std::size_t dimension, Metric metric, std::size_t k,
                                 float max_distance);

// What one std::unordered_map node costs beyond its key and value: the next
// pointer and the allocator's header and rounding (memory_bytes estimates).
inline constexpr std::size_t kHashNodeOverheadBytes = 2 * sizeof(void*) + 16;

class EmbeddingCatalog {
 public:
  using Slot = std::uint32_t;

  bool contains(EmbeddingId id) const { return slot_of_.count(id) != 0; }
  // Throws when `id` is already present.
  void require_new(EmbeddingId id) const;
  void insert(ProfileId profile, EmbeddingId id, Slot slot);
  // Throws "unknown embedding N".
  Slot slot_of(EmbeddingId id) const;
  // Throws "unknown profile N".
  const std::vector<EmbeddingId>& embeddings_of(ProfileId profile) const;
  bool has_profile(ProfileId profile) const { return by_profile_.count(profile) != 0; }

  ProfileId profile_at(Slot slot) const { return profile_at_[slot]; }
  EmbeddingId embedding_at(Slot slot) const { return embedding_at_[slot]; }

  // Forgets `id`; returns the slot it occupied (the caller frees it).
  Slot erase(EmbeddingId id);
  // The embedding stored at `from` now lives at `to` (compaction).
  void move_slot(Slot from, Slot to);
  // Gives every embedding of `from` to `into`; returns how many.
  std::size_t reassign(ProfileId from, ProfileId into);

  std::size_t size() const { return slot_of_.size(); }
  std::size_t profile_count() const { return by_profile_.size(); }
  std::size_t memory_bytes() const;

 private:
  std::unordered_map<EmbeddingId, Slot> slot_of_;
  std::unordered_map<ProfileId, std::vector<EmbeddingId>> by_profile_;
  std::vector<ProfileId> profile_at_;
  std::vector<EmbeddingId> embedding_at_;
};

}  // namespace safelynx::index
