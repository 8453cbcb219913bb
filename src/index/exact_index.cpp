#include "index/exact_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <string>

#include "index/distance_kernels.hpp"
#include "index/top_profiles.hpp"

namespace safelynx::index {
namespace {

constexpr std::size_t kAlignment = 64;  // a cache line: rows never straddle one needlessly

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

template <typename T>
std::unique_ptr<T[], FreeDeleter> allocate_aligned(std::size_t count) {
  if (count == 0) return nullptr;
  void* memory = std::aligned_alloc(kAlignment, round_up(count * sizeof(T), kAlignment));
  if (!memory) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(memory));
}

// Shared by the query and the stored rows: value ~= code * scale, with the
// largest magnitude mapped to 127 (symmetric, per vector).
float quantise(const float* values, std::size_t dimension, std::int8_t* codes) {
  float largest = 0;
  for (std::size_t i = 0; i < dimension; ++i) largest = std::max(largest, std::fabs(values[i]));
  const float scale = largest > 0 ? largest / 127.0f : 1.0f;
  for (std::size_t i = 0; i < dimension; ++i)
    codes[i] = static_cast<std::int8_t>(std::lround(std::clamp(values[i] / scale, -127.0f, 127.0f)));
  return scale;
}

}  // namespace

// Rows 0..rows-1 are live; removal moves the last row into the hole.
struct ExactIndex::Matrix {
  std::size_t dimension;
  std::size_t stride;       // floats per row, padded to a whole number of cache lines
  std::size_t code_stride;  // int8 codes per row (int8 storage only)
  bool quantised;
  std::size_t rows = 0;
  std::size_t capacity = 0;
  std::unique_ptr<float[], FreeDeleter> values;
  std::unique_ptr<std::int8_t[], FreeDeleter> codes;
  std::vector<float> code_scales;    // per row
  std::vector<float> squared_norms;  // per row, of the float32 values

  Matrix(std::size_t dim, bool int8)
      : dimension(dim),
        stride(round_up(dim, kAlignment / sizeof(float))),
        code_stride(round_up(dim, kAlignment)),
        quantised(int8) {}

  float* row(std::size_t r) { return values.get() + r * stride; }
  const float* row(std::size_t r) const { return values.get() + r * stride; }
  std::int8_t* code_row(std::size_t r) { return codes.get() + r * code_stride; }
  const std::int8_t* code_row(std::size_t r) const { return codes.get() + r * code_stride; }

  void reserve(std::size_t wanted) {
    if (wanted <= capacity) return;
    const std::size_t new_capacity = std::max({wanted, capacity * 2, std::size_t(64)});
    auto new_values = allocate_aligned<float>(new_capacity * stride);
    std::memset(new_values.get(), 0, new_capacity * stride * sizeof(float));
    if (rows) std::memcpy(new_values.get(), values.get(), rows * stride * sizeof(float));
    if (quantised) {
      auto new_codes = allocate_aligned<std::int8_t>(new_capacity * code_stride);
      std::memset(new_codes.get(), 0, new_capacity * code_stride);
      if (rows) std::memcpy(new_codes.get(), codes.get(), rows * code_stride);
      codes = std::move(new_codes);
      code_scales.reserve(new_capacity);
      squared_norms.reserve(new_capacity);
    }
    values = std::move(new_values);
    capacity = new_capacity;
  }

  // `embedding` is already prepared (normalised for cosine).
  void append(const float* embedding) {
    reserve(rows + 1);
    std::memcpy(row(rows), embedding, dimension * sizeof(float));
    if (quantised) {
      code_scales.push_back(quantise(embedding, dimension, code_row(rows)));
      squared_norms.push_back(scalar_kernels().dot(embedding, embedding, dimension));
    }
    ++rows;
  }

  void move_row(std::size_t from, std::size_t to) {
    std::memcpy(row(to), row(from), stride * sizeof(float));
    if (quantised) {
      std::memcpy(code_row(to), code_row(from), code_stride);
      code_scales[to] = code_scales[from];
      squared_norms[to] = squared_norms[from];
    }
  }

  void pop_back() {
    --rows;
    if (quantised) {
      code_scales.pop_back();
      squared_norms.pop_back();
    }
  }

  std::size_t memory_bytes() const {
    std::size_t bytes = capacity * stride * sizeof(float);
    if (quantised)
      bytes += capacity * code_stride + (code_scales.capacity() + squared_norms.capacity()) * sizeof(float);
    return bytes;
  }
};

ExactIndex::ExactIndex(ExactIndexOptions options) : options_(options) {
  if (options_.dimension == 0) throw EmbeddingIndexError("an index needs a dimension of at least 1");
  matrix_ = std::make_unique<Matrix>(options_.dimension, options_.storage == ExactStorage::Int8);
}

ExactIndex::~ExactIndex() = default;

void ExactIndex::append_unlocked(ProfileId profile, EmbeddingId id, std::span<const float> embedding) {
  catalog_.require_new(id);
  std::vector<float> prepared(options_.dimension);
  prepare_embedding(embedding, options_.metric, prepared);
  matrix_->append(prepared.data());
  catalog_.insert(profile, id, static_cast<EmbeddingCatalog::Slot>(matrix_->rows - 1));
}

void ExactIndex::add(ProfileId profile, EmbeddingId id, std::span<const float> embedding) {
  validate_embedding(embedding, options_.dimension, "embedding");
  std::unique_lock lock(mutex_);
  append_unlocked(profile, id, embedding);
}

void ExactIndex::add_batch(const EmbeddingBatch& batch) {
  validate_batch(batch, options_.dimension);
  // Normalising can fail (a zero vector for cosine): do it before anything is added.
  std::vector<float> prepared(batch.values.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    prepare_embedding(batch.row(i, options_.dimension), options_.metric,
                      std::span<float>(prepared).subspan(i * options_.dimension, options_.dimension));
  std::unique_lock lock(mutex_);
  for (EmbeddingId id : batch.ids) catalog_.require_new(id);
  matrix_->reserve(matrix_->rows + batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    matrix_->append(prepared.data() + i * options_.dimension);
    catalog_.insert(batch.profiles[i], batch.ids[i], static_cast<EmbeddingCatalog::Slot>(matrix_->rows - 1));
  }
}

void ExactIndex::erase_unlocked(EmbeddingId id) {
  const EmbeddingCatalog::Slot slot = catalog_.erase(id);
  const auto last = static_cast<EmbeddingCatalog::Slot>(matrix_->rows - 1);
  if (slot != last) {
    matrix_->move_row(last, slot);
    catalog_.move_slot(last, slot);
  }
  matrix_->pop_back();
}

std::size_t ExactIndex::remove_profile(ProfileId profile) {
  std::unique_lock lock(mutex_);
  const std::vector<EmbeddingId> ids = catalog_.embeddings_of(profile);
  for (EmbeddingId id : ids) erase_unlocked(id);
  return ids.size();
}

void ExactIndex::remove_embedding(EmbeddingId id) {
  std::unique_lock lock(mutex_);
  erase_unlocked(id);
}

std::size_t ExactIndex::merge_profiles(ProfileId from, ProfileId into) {
  std::unique_lock lock(mutex_);
  return catalog_.reassign(from, into);
}

std::vector<Match> ExactIndex::search(std::span<const float> query, std::size_t k, float max_distance) const {
  const std::vector<float> prepared = prepare_query(query, options_.dimension, options_.metric, k, max_distance);
  std::shared_lock lock(mutex_);
  return matrix_->quantised ? search_int8_unlocked(prepared.data(), k, max_distance)
                            : search_float_unlocked(prepared.data(), k, max_distance);
}

namespace {

// Scores are what the scan compares: squared L2, or 1 - dot for cosine.
float score_bound(Metric metric, float max_distance) {
  return metric == Metric::L2 ? max_distance * max_distance : max_distance;
}

float distance_from_score(Metric metric, float score) {
  return metric == Metric::L2 ? std::sqrt(std::max(score, 0.0f)) : score;
}

}  // namespace

std::vector<Match> ExactIndex::search_float_unlocked(const float* query, std::size_t k, float max_distance) const {
  const DistanceKernels& kernels = best_kernels();
  const std::size_t dimension = options_.dimension;
  const bool l2 = options_.metric == Metric::L2;
  const float bound = score_bound(options_.metric, max_distance);
  TopProfiles top(k);
  float threshold = bound;
  for (std::size_t r = 0; r < matrix_->rows; ++r) {
    const float* row = matrix_->row(r);
    const float score = l2 ? kernels.squared_l2(query, row, dimension) : 1.0f - kernels.dot(query, row, dimension);
    if (score > threshold) continue;
    top.offer(catalog_.profile_at(static_cast<EmbeddingCatalog::Slot>(r)), static_cast<EmbeddingCatalog::Slot>(r),
              score);
    threshold = std::min(bound, top.threshold());
  }
  std::vector<Match> matches;
  for (const auto& c : std::move(top).sorted())
    matches.push_back({c.profile, catalog_.embedding_at(c.slot), distance_from_score(options_.metric, c.score)});
  return matches;
}

std::vector<Match> ExactIndex::search_int8_unlocked(const float* query, std::size_t k, float max_distance) const {
  const DistanceKernels& kernels = best_kernels();
  const std::size_t dimension = options_.dimension;
  const bool l2 = options_.metric == Metric::L2;
  std::vector<std::int8_t> query_codes(matrix_->code_stride, 0);
  const float query_scale = quantise(query, dimension, query_codes.data());
  const float query_norm = kernels.dot(query, query, dimension);

  // The quantised scan only nominates profiles; max_distance is applied after
  // re-ranking because approximate scores can be off either way.
  TopProfiles nominees(std::max(k, options_.rerank_profiles));
  float threshold = std::numeric_limits<float>::infinity();
  for (std::size_t r = 0; r < matrix_->rows; ++r) {
    const float dot =
        query_scale * matrix_->code_scales[r] * float(kernels.int8_dot(query_codes.data(), matrix_->code_row(r), dimension));
    const float score = l2 ? query_norm + matrix_->squared_norms[r] - 2 * dot : 1.0f - dot;
    if (score > threshold) continue;
    nominees.offer(catalog_.profile_at(static_cast<EmbeddingCatalog::Slot>(r)), static_cast<EmbeddingCatalog::Slot>(r),
                   score);
    threshold = nominees.threshold();
  }

  // Re-rank: each nominee's every embedding, in float32.
  const float bound = score_bound(options_.metric, max_distance);
  TopProfiles top(k);
  for (const auto& nominee : std::move(nominees).sorted()) {
    for (EmbeddingId id : catalog_.embeddings_of(nominee.profile)) {
      const EmbeddingCatalog::Slot slot = catalog_.slot_of(id);
      const float* row = matrix_->row(slot);
      const float score = l2 ? kernels.squared_l2(query, row, dimension) : 1.0f - kernels.dot(query, row, dimension);
      if (score <= bound) top.offer(nominee.profile, slot, score);
    }
  }
  std::vector<Match> matches;
  for (const auto& c : std::move(top).sorted())
    matches.push_back({c.profile, catalog_.embedding_at(c.slot), distance_from_score(options_.metric, c.score)});
  return matches;
}

std::size_t ExactIndex::size() const {
  std::shared_lock lock(mutex_);
  return catalog_.size();
}

std::size_t ExactIndex::profile_count() const {
  std::shared_lock lock(mutex_);
  return catalog_.profile_count();
}

bool ExactIndex::contains(EmbeddingId id) const {
  std::shared_lock lock(mutex_);
  return catalog_.contains(id);
}

std::size_t ExactIndex::memory_bytes() const {
  std::shared_lock lock(mutex_);
  return matrix_->memory_bytes() + catalog_.memory_bytes();
}

EmbeddingBatch ExactIndex::snapshot() const {
  std::shared_lock lock(mutex_);
  EmbeddingBatch batch;
  batch.reserve(matrix_->rows, options_.dimension);
  for (std::size_t r = 0; r < matrix_->rows; ++r) {
    const auto slot = static_cast<EmbeddingCatalog::Slot>(r);
    batch.push_back(catalog_.profile_at(slot), catalog_.embedding_at(slot),
                    std::span<const float>(matrix_->row(r), options_.dimension));
  }
  return batch;
}

}  // namespace safelynx::index
