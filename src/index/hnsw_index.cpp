#include "index/hnsw_index.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <shared_mutex>
#include <string>
#include <thread>

#include "index/distance_kernels.hpp"
#include "index/top_profiles.hpp"

namespace safelynx::index {
namespace {

constexpr std::size_t kInitialCapacity = 1024;
// Below this many rows per thread, starting threads costs more than it saves.
constexpr std::size_t kMinRowsPerBuildThread = 64;
constexpr std::size_t kMaxM = 10'000;  // hnswlib caps M here (link counts are 16-bit)

// hnswlib passes this to the distance functions as their third argument. Its
// own helpers (getDataByLabel) read the dimension from the front.
struct KernelParameters {
  std::size_t dimension;
  FloatDistanceFn kernel;
};

// Squared L2: the graph only compares distances, so the square root is taken
// once per answer instead of once per visited node.
float squared_l2_distance(const void* a, const void* b, const void* parameters) {
  const auto* p = static_cast<const KernelParameters*>(parameters);
  return p->kernel(static_cast<const float*>(a), static_cast<const float*>(b), p->dimension);
}

// Vectors are unit length (prepare_embedding), so 1 - dot is 1 - cos.
float cosine_distance(const void* a, const void* b, const void* parameters) {
  const auto* p = static_cast<const KernelParameters*>(parameters);
  return 1.0f - p->kernel(static_cast<const float*>(a), static_cast<const float*>(b), p->dimension);
}

// Our SIMD kernels instead of hnswlib's compile-time-chosen ones; the kernel
// is picked once here rather than looked up on every distance.
class KernelSpace final : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(std::size_t dimension, Metric metric)
      : parameters_{dimension, metric == Metric::L2 ? best_kernels().squared_l2 : best_kernels().dot},
        distance_(metric == Metric::L2 ? squared_l2_distance : cosine_distance) {}

  std::size_t get_data_size() override { return parameters_.dimension * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &parameters_; }

 private:
  KernelParameters parameters_;
  hnswlib::DISTFUNC<float> distance_;
};

std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace

struct HnswIndex::Graph {
  // Declared before `hnsw`, which points into it, so it is destroyed after.
  KernelSpace space;
  hnswlib::HierarchicalNSW<float> hnsw;
  // Labels handed to hnswlib: catalog slots, never reused. hnswlib treats an
  // existing label as an update of that node, deleted or not.
  std::size_t next_slot = 0;
  // hnswlib keeps one visited list (max_elements shorts) per thread that ever
  // searched at the same time, and starts over with one on resizeIndex.
  std::atomic<std::size_t> searching{0};
  std::atomic<std::size_t> visited_lists{1};

  explicit Graph(const HnswIndexOptions& options)
      : space(options.dimension, options.metric),
        hnsw(&space, kInitialCapacity, options.m, options.ef_construction) {
    // The beam is passed with each search (as its k), so hnswlib's shared
    // setting stays at its floor.
    hnsw.setEf(1);
  }

  void note_concurrent_users(std::size_t users) {
    std::size_t seen = visited_lists.load(std::memory_order_relaxed);
    while (users > seen && !visited_lists.compare_exchange_weak(seen, users, std::memory_order_relaxed)) {
    }
  }

  // A node's links above the bottom layer. hnswlib allocates one byte past
  // them, but searchBaseLayer prefetches one index past a full list, reading
  // four (AddressSanitizer): the spare room here covers that read.
  std::size_t upper_links_bytes(int level) const {
    return hnsw.size_links_per_element_ * std::size_t(level) + sizeof(hnswlib::tableint);
  }

  // Room for `count` more nodes; doubling keeps the copies amortised.
  void reserve(std::size_t count) {
    const std::size_t needed = hnsw.cur_element_count + count;
    if (needed <= hnsw.max_elements_) return;
    hnsw.resizeIndex(std::max(needed, 2 * hnsw.max_elements_));
    visited_lists.store(1, std::memory_order_relaxed);
  }

  // Inserts rows[0..count) as labels first..first+count, `threads` at a time.
  void insert(const float* rows, std::size_t dimension, std::size_t first, std::size_t count,
              std::size_t threads) {
    // Drawn here, in row order, so the shared generator is never used by two
    // threads at once.
    std::vector<int> levels(count);
    for (int& level : levels) level = hnsw.getRandomLevel(hnsw.mult_);
    threads = std::min(threads, count / kMinRowsPerBuildThread);
    if (threads <= 1) {
      for (std::size_t i = 0; i < count; ++i) insert_node(rows + i * dimension, first + i, levels[i]);
      return;
    }
    note_concurrent_users(threads);
    std::atomic<std::size_t> next_row{0};
    std::atomic<bool> failed{false};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    {
      std::vector<std::jthread> workers;
      workers.reserve(threads);
      for (std::size_t t = 0; t < threads; ++t)
        workers.emplace_back([&] {
          while (!failed.load(std::memory_order_relaxed)) {
            const std::size_t i = next_row.fetch_add(1, std::memory_order_relaxed);
            if (i >= count) return;
            try {
              insert_node(rows + i * dimension, first + i, levels[i]);
            } catch (...) {
              std::lock_guard lock(failure_mutex);
              if (!failure) failure = std::current_exception();
              failed.store(true, std::memory_order_relaxed);
            }
          }
        });
    }
    if (failure) std::rethrow_exception(failure);
  }

  // hnswlib's addPoint for a new label, made safe to run on several threads
  // at once. hnswlib 0.6.2's own is not (ThreadSanitizer): it draws the level
  // from the shared generator unguarded, reads the entry point after letting
  // go of `global`, takes `global` while holding the new node's lock (the
  // reverse of the order the inserter of a new top level uses), and lets a
  // second thread make node 0 the entry point before node 0 is written. Here
  // `global` always comes first and the entry point is read under it.
  // Capacity must have been reserved.
  void insert_node(const float* values, hnswlib::labeltype label, int level) {
    auto& h = hnsw;
    hnswlib::tableint node;
    {
      std::lock_guard count_lock(h.cur_element_count_guard_);
      node = static_cast<hnswlib::tableint>(h.cur_element_count++);
      h.label_lookup_[label] = node;
    }
    // Whoever raises the top level keeps `global` until linked in, so that
    // nobody enters the graph through a half-linked node.
    std::unique_lock top_lock(h.global);
    const int top_level = h.maxlevel_;
    const hnswlib::tableint entry = h.enterpoint_node_;
    if (level <= top_level) top_lock.unlock();
    // Held until every layer is linked: others wait on it before reading or
    // extending this node's links.
    std::lock_guard node_lock(h.link_list_locks_[node]);

    h.element_levels_[node] = level;
    std::memset(h.data_level0_memory_ + node * h.size_data_per_element_ + h.offsetLevel0_, 0,
                h.size_data_per_element_);
    std::memcpy(h.getExternalLabeLp(node), &label, sizeof label);
    std::memcpy(h.getDataByInternalId(node), values, h.data_size_);
    h.linkLists_[node] = nullptr;
    if (level > 0) {
      h.linkLists_[node] = static_cast<char*>(std::calloc(upper_links_bytes(level), 1));
      if (!h.linkLists_[node]) throw std::bad_alloc();
    }
    if (top_level < 0) {  // the first node
      h.enterpoint_node_ = node;
      h.maxlevel_ = level;
      return;
    }

    auto distance_to = [&](hnswlib::tableint other) {
      return h.fstdistfunc_(values, h.getDataByInternalId(other), h.dist_func_param_);
    };
    // Greedy descent through the layers above this node's top.
    hnswlib::tableint nearest = entry;
    float nearest_distance = distance_to(nearest);
    for (int layer = top_level; layer > level; --layer) {
      for (bool moved = true; moved;) {
        moved = false;
        std::lock_guard links_lock(h.link_list_locks_[nearest]);
        hnswlib::linklistsizeint* links = h.get_linklist(nearest, layer);
        const auto* neighbours = reinterpret_cast<const hnswlib::tableint*>(links + 1);
        for (std::size_t i = 0, n = h.getListCount(links); i < n; ++i)
          if (const float d = distance_to(neighbours[i]); d < nearest_distance) {
            nearest_distance = d;
            nearest = neighbours[i];
            moved = true;
          }
      }
    }
    // A removed entry point is skipped by the layer search but still a valid
    // neighbour; hnswlib adds it so the candidate list is never empty.
    const bool entry_removed = h.isMarkedDeleted(entry);
    for (int layer = std::min(level, top_level); layer >= 0; --layer) {
      auto candidates = h.searchBaseLayer(nearest, values, layer);
      if (entry_removed) {
        candidates.emplace(distance_to(entry), entry);
        if (candidates.size() > h.ef_construction_) candidates.pop();
      }
      nearest = h.mutuallyConnectNewElement(values, node, candidates, layer, false);
    }
    if (level > top_level) {
      h.enterpoint_node_ = node;
      h.maxlevel_ = level;
    }
  }

  // After a failed insertion: the labels that reached the graph stay there
  // (hnswlib cannot take nodes out) but are never returned.
  void abandon(std::size_t first, std::size_t count) {
    for (std::size_t label = first; label < first + count; ++label) {
      const auto it = hnsw.label_lookup_.find(label);
      if (it != hnsw.label_lookup_.end() && !hnsw.isMarkedDeleted(it->second)) hnsw.markDeletedInternal(it->second);
    }
  }

  // Adds prepared rows whose ids `catalog` has checked. All or nothing: on
  // failure (out of memory) the catalog entries are taken back and the graph
  // nodes abandoned.
  void add(EmbeddingCatalog& catalog, const ProfileId* profiles, const EmbeddingId* ids, const float* rows,
           std::size_t dimension, std::size_t count, std::size_t threads) {
    if (count > std::size_t(std::numeric_limits<EmbeddingCatalog::Slot>::max()) + 1 - next_slot)
      throw EmbeddingIndexError("the HNSW index has no slots left for " + std::to_string(count) +
                                " more embeddings: rebuild it");
    reserve(count);
    const std::size_t first = next_slot;
    next_slot += count;
    try {
      for (std::size_t i = 0; i < count; ++i)
        catalog.insert(profiles[i], ids[i], static_cast<EmbeddingCatalog::Slot>(first + i));
      insert(rows, dimension, first, count, threads);
    } catch (...) {
      for (std::size_t i = 0; i < count; ++i)
        if (catalog.contains(ids[i])) catalog.erase(ids[i]);
      abandon(first, count);
      throw;
    }
  }

  // Counts the searches running at once, for the visited lists hnswlib keeps.
  class SearchInFlight {
   public:
    explicit SearchInFlight(Graph& graph) : graph_(graph) {
      graph_.note_concurrent_users(graph_.searching.fetch_add(1, std::memory_order_relaxed) + 1);
    }
    ~SearchInFlight() { graph_.searching.fetch_sub(1, std::memory_order_relaxed); }
    SearchInFlight(const SearchInFlight&) = delete;
    SearchInFlight& operator=(const SearchInFlight&) = delete;

   private:
    Graph& graph_;
  };
};

std::size_t automatic_ef_search(std::size_t size) {
  constexpr double kSmall = 100'000;
  if (double(size) <= kSmall) return 64;
  const double ef = 64.0 * std::pow(double(size) / kSmall, 0.6);
  return std::min<std::size_t>(512, (std::size_t(ef) + 15) / 16 * 16);
}

HnswIndex::HnswIndex(HnswIndexOptions options) : options_(options) {
  if (options_.dimension == 0) throw EmbeddingIndexError("an index needs a dimension of at least 1");
  if (options_.m < 2 || options_.m > kMaxM)
    throw EmbeddingIndexError("HNSW m must be between 2 and " + std::to_string(kMaxM) + ", got " +
                              std::to_string(options_.m));
  if (options_.build_threads == 0) options_.build_threads = std::max(1u, std::thread::hardware_concurrency());
  graph_ = std::make_unique<Graph>(options_);
}

HnswIndex::~HnswIndex() = default;

std::size_t HnswIndex::dimension() const { return options_.dimension; }
Metric HnswIndex::metric() const { return options_.metric; }

void HnswIndex::add(ProfileId profile, EmbeddingId id, std::span<const float> embedding) {
  validate_embedding(embedding, options_.dimension, "embedding");
  std::vector<float> prepared(options_.dimension);
  prepare_embedding(embedding, options_.metric, prepared);
  std::unique_lock lock(mutex_);
  catalog_.require_new(id);
  graph_->add(catalog_, &profile, &id, prepared.data(), options_.dimension, 1, 1);
}

void HnswIndex::add_batch(const EmbeddingBatch& batch) {
  validate_batch(batch, options_.dimension);
  // Normalising can fail (a zero vector for cosine): do it before anything is added.
  std::vector<float> prepared(batch.values.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    prepare_embedding(batch.row(i, options_.dimension), options_.metric,
                      std::span<float>(prepared).subspan(i * options_.dimension, options_.dimension));
  std::unique_lock lock(mutex_);
  for (EmbeddingId id : batch.ids) catalog_.require_new(id);
  graph_->add(catalog_, batch.profiles.data(), batch.ids.data(), prepared.data(), options_.dimension, batch.size(),
              options_.build_threads);
}

std::size_t HnswIndex::remove_profile(ProfileId profile) {
  std::unique_lock lock(mutex_);
  const std::vector<EmbeddingId> ids = catalog_.embeddings_of(profile);
  for (EmbeddingId id : ids) graph_->hnsw.markDelete(catalog_.erase(id));
  return ids.size();
}

void HnswIndex::remove_embedding(EmbeddingId id) {
  std::unique_lock lock(mutex_);
  graph_->hnsw.markDelete(catalog_.erase(id));
}

std::size_t HnswIndex::merge_profiles(ProfileId from, ProfileId into) {
  std::unique_lock lock(mutex_);
  return catalog_.reassign(from, into);
}

std::vector<Match> HnswIndex::search(std::span<const float> query, std::size_t k, float max_distance) const {
  const std::vector<float> prepared = prepare_query(query, options_.dimension, options_.metric, k, max_distance);
  const bool l2 = options_.metric == Metric::L2;
  const float bound = l2 ? max_distance * max_distance : max_distance;

  std::shared_lock lock(mutex_);
  if (catalog_.size() == 0) return {};
  // Nearest embeddings, several of which may share a profile: ask for ef of
  // them so that k distinct profiles usually remain.
  std::priority_queue<std::pair<float, hnswlib::labeltype>> nearest;
  {
    const Graph::SearchInFlight in_flight(*graph_);
    const std::size_t ef = options_.ef_search ? options_.ef_search : automatic_ef_search(catalog_.size());
    nearest = graph_->hnsw.searchKnn(prepared.data(), std::max(ef, k));
  }

  TopProfiles top(k);
  for (; !nearest.empty(); nearest.pop()) {
    const auto [score, label] = nearest.top();
    if (score > bound) continue;
    const auto slot = static_cast<EmbeddingCatalog::Slot>(label);
    top.offer(catalog_.profile_at(slot), slot, score);
  }
  std::vector<Match> matches;
  for (const auto& c : std::move(top).sorted())
    matches.push_back({c.profile, catalog_.embedding_at(c.slot), l2 ? std::sqrt(std::max(c.score, 0.0f)) : c.score});
  return matches;
}

std::size_t HnswIndex::size() const {
  std::shared_lock lock(mutex_);
  return catalog_.size();
}

std::size_t HnswIndex::profile_count() const {
  std::shared_lock lock(mutex_);
  return catalog_.profile_count();
}

bool HnswIndex::contains(EmbeddingId id) const {
  std::shared_lock lock(mutex_);
  return catalog_.contains(id);
}

std::size_t HnswIndex::memory_bytes() const {
  std::shared_lock lock(mutex_);
  const auto& h = graph_->hnsw;
  std::size_t bytes = sizeof(Graph);
  // Per reserved node: the bottom layer (links, vector, label), a pointer to
  // its upper layers, a lock and its level.
  bytes += h.max_elements_ * (h.size_data_per_element_ + sizeof(void*) + sizeof(std::mutex));
  bytes += h.element_levels_.capacity() * sizeof(int);
  bytes += h.link_list_update_locks_.size() * sizeof(std::mutex);
  // Upper layers: one malloc per node above the bottom (plus its header).
  for (std::size_t i = 0; i < h.cur_element_count; ++i)
    if (const int level = h.element_levels_[i]; level > 0)
      bytes += round_up(graph_->upper_links_bytes(level) + sizeof(void*), 16);
  bytes += h.label_lookup_.size() * (sizeof(std::pair<const hnswlib::labeltype, hnswlib::tableint>) + kHashNodeOverheadBytes) +
           h.label_lookup_.bucket_count() * sizeof(void*);
  bytes += graph_->visited_lists.load(std::memory_order_relaxed) * h.max_elements_ * sizeof(hnswlib::vl_type);
  return bytes + catalog_.memory_bytes();
}

EmbeddingBatch HnswIndex::snapshot() const {
  std::shared_lock lock(mutex_);
  const auto& h = graph_->hnsw;
  // Slot order is insertion order, whatever order the build threads took.
  std::vector<std::pair<hnswlib::labeltype, hnswlib::tableint>> live;
  live.reserve(catalog_.size());
  for (hnswlib::tableint node = 0; node < h.cur_element_count; ++node)
    if (!h.isMarkedDeleted(node)) live.emplace_back(h.getExternalLabel(node), node);
  std::sort(live.begin(), live.end());
  EmbeddingBatch batch;
  batch.reserve(live.size(), options_.dimension);
  for (const auto& [label, node] : live) {
    const auto slot = static_cast<EmbeddingCatalog::Slot>(label);
    const auto* values = reinterpret_cast<const float*>(h.getDataByInternalId(node));
    batch.push_back(catalog_.profile_at(slot), catalog_.embedding_at(slot),
                    std::span<const float>(values, options_.dimension));
  }
  return batch;
}

void HnswIndex::set_ef_search(std::size_t ef) {
  std::unique_lock lock(mutex_);
  options_.ef_search = ef;
}

std::size_t HnswIndex::deleted_count() const {
  std::shared_lock lock(mutex_);
  return graph_->hnsw.num_deleted_;
}

}  // namespace safelynx::index
