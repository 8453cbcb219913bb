#include "index/embedding_catalog.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

namespace safelynx::index {

const char* metric_name(Metric metric) {
  return metric == Metric::L2 ? "l2" : "cosine";
}

void EmbeddingBatch::reserve(std::size_t count, std::size_t dimension) {
  profiles.reserve(count);
  ids.reserve(count);
  values.reserve(count * dimension);
}

void EmbeddingBatch::push_back(ProfileId profile, EmbeddingId id, std::span<const float> embedding) {
  profiles.push_back(profile);
  ids.push_back(id);
  values.insert(values.end(), embedding.begin(), embedding.end());
}

void validate_embedding(std::span<const float> values, std::size_t dimension, const char* what) {
  if (values.size() != dimension)
    throw EmbeddingIndexError(std::string(what) + " has " + std::to_string(values.size()) +
                              " values; this index holds " + std::to_string(dimension) + "-d embeddings");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) throw EmbeddingIndexError(std::string(what) + " value " + std::to_string(i) + " is NaN");
    if (std::isinf(values[i]))
      throw EmbeddingIndexError(std::string(what) + " value " + std::to_string(i) + " is infinite");
  }
}

void validate_batch(const EmbeddingBatch& batch, std::size_t dimension) {
  if (batch.profiles.size() != batch.ids.size() || batch.values.size() != batch.ids.size() * dimension)
    throw EmbeddingIndexError("embedding batch is inconsistent: " + std::to_string(batch.ids.size()) + " ids, " +
                              std::to_string(batch.profiles.size()) + " profiles, " +
                              std::to_string(batch.values.size()) + " values for " + std::to_string(dimension) +
                              "-d embeddings");
  std::unordered_set<EmbeddingId> seen;
  seen.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::string what = "embedding " + std::to_string(batch.ids[i]);
    validate_embedding(batch.row(i, dimension), dimension, what.c_str());
    if (!seen.insert(batch.ids[i]).second)
      throw EmbeddingIndexError("embedding " + std::to_string(batch.ids[i]) + " appears twice in the batch");
  }
}

void prepare_embedding(std::span<const float> values, Metric metric, std::span<float> out) {
  std::copy(values.begin(), values.end(), out.begin());
  if (metric != Metric::Cosine) return;
  double norm = 0;
  for (float v : values) norm += double(v) * v;
  norm = std::sqrt(norm);
  if (!(norm > 0)) throw EmbeddingIndexError("embedding is all zeros: it has no direction for cosine distance");
  for (float& v : out) v = float(v / norm);
}

std::vector<float> prepare_query(std::span<const float> query, std::size_t dimension, Metric metric, std::size_t k,
                                 float max_distance) {
  validate_embedding(query, dimension, "query");
  if (k == 0) throw EmbeddingIndexError("k must be at least 1");
  if (std::isnan(max_distance) || max_distance < 0)
    throw EmbeddingIndexError("max_distance must be a non-negative number, got " + std::to_string(max_distance));
  if (metric == Metric::Cosine && std::all_of(query.begin(), query.end(), [](float v) { return v == 0; }))
    throw EmbeddingIndexError("query is all zeros: it has no direction for cosine distance");
  std::vector<float> prepared(dimension);
  prepare_embedding(query, metric, prepared);
  return prepared;
}

void EmbeddingCatalog::require_new(EmbeddingId id) const {
  const auto it = slot_of_.find(id);
  if (it != slot_of_.end())
    throw EmbeddingIndexError("embedding " + std::to_string(id) + " is already in the index (profile " +
                              std::to_string(profile_at_[it->second]) + ")");
}

void EmbeddingCatalog::insert(ProfileId profile, EmbeddingId id, Slot slot) {
  require_new(id);
  if (slot >= profile_at_.size()) {
    profile_at_.resize(std::size_t(slot) + 1);
    embedding_at_.resize(std::size_t(slot) + 1);
  }
  profile_at_[slot] = profile;
  embedding_at_[slot] = id;
  slot_of_.emplace(id, slot);
  by_profile_[profile].push_back(id);
}

EmbeddingCatalog::Slot EmbeddingCatalog::slot_of(EmbeddingId id) const {
  const auto it = slot_of_.find(id);
  if (it == slot_of_.end()) throw EmbeddingIndexError("unknown embedding " + std::to_string(id));
  return it->second;
}

const std::vector<EmbeddingId>& EmbeddingCatalog::embeddings_of(ProfileId profile) const {
  const auto it = by_profile_.find(profile);
  if (it == by_profile_.end()) throw EmbeddingIndexError("unknown profile " + std::to_string(profile));
  return it->second;
}

EmbeddingCatalog::Slot EmbeddingCatalog::erase(EmbeddingId id) {
  const Slot slot = slot_of(id);
  const auto profile_it = by_profile_.find(profile_at_[slot]);
  auto& ids = profile_it->second;
  ids.erase(std::find(ids.begin(), ids.end(), id));
  if (ids.empty()) by_profile_.erase(profile_it);
  slot_of_.erase(id);
  return slot;
}

void EmbeddingCatalog::move_slot(Slot from, Slot to) {
  profile_at_[to] = profile_at_[from];
  embedding_at_[to] = embedding_at_[from];
  slot_of_[embedding_at_[to]] = to;
}

std::size_t EmbeddingCatalog::reassign(ProfileId from, ProfileId into) {
  std::vector<EmbeddingId> moved = embeddings_of(from);
  if (from == into) return moved.size();
  for (EmbeddingId id : moved) profile_at_[slot_of_.at(id)] = into;
  auto& target = by_profile_[into];
  target.insert(target.end(), moved.begin(), moved.end());
  by_profile_.erase(from);
  return moved.size();
}

std::size_t EmbeddingCatalog::memory_bytes() const {
  // Node-based maps: one allocation per entry plus one bucket pointer.
  std::size_t bytes = slot_of_.size() * (sizeof(EmbeddingId) + sizeof(Slot) + kHashNodeOverheadBytes) +
                      slot_of_.bucket_count() * sizeof(void*);
  bytes += by_profile_.size() * (sizeof(ProfileId) + sizeof(std::vector<EmbeddingId>) + kHashNodeOverheadBytes) +
           by_profile_.bucket_count() * sizeof(void*);
  for (const auto& [profile, ids] : by_profile_) bytes += ids.capacity() * sizeof(EmbeddingId) + 16;
  bytes += profile_at_.capacity() * sizeof(ProfileId) + embedding_at_.capacity() * sizeof(EmbeddingId);
  return bytes;
}

}  // namespace safelynx::index
