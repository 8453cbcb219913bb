// Many searches while profiles are added, merged and removed. Run under
// ThreadSanitizer (scripts/test.sh builds these tests with it) and ASan.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "index/exact_index.hpp"
#include "index/hnsw_index.hpp"
#include "index/tiered_index.hpp"
#include "index_test_support.hpp"

namespace safelynx::index {
namespace {

using testing::random_batch;
using testing::random_unit_vector;

using testing::sized;

constexpr std::size_t kPermanent = sized(600, 300);  // ids 0..kPermanent-1, never changed
constexpr std::uint64_t kFirstTransient = 1'000'000;
constexpr std::size_t kWriterOperations = sized(1500, 600);  // adds; about as many removals and some merges
constexpr std::size_t kLiveTransients = sized(200, 100);
constexpr int kReaders = 3;

struct Kind {
  std::string name;
  std::function<std::unique_ptr<EmbeddingIndex>()> make;
  bool approximate;
};

// Names the kind in test listings instead of dumping the struct's bytes.
void PrintTo(const Kind& kind, std::ostream* out) { *out << kind.name; }

std::vector<Kind> kinds() {
  return {
      {"exact_float32", [] { return std::make_unique<ExactIndex>(); }, false},
      {"exact_int8",
       [] {
         ExactIndexOptions o;
         o.storage = ExactStorage::Int8;
         return std::make_unique<ExactIndex>(o);
       },
       false},
      {"hnsw",
       [] {
         HnswIndexOptions o;
         o.build_threads = 2;
         return std::make_unique<HnswIndex>(o);
       },
       true},
      // Small tiers, so switches and rebuilds happen in the middle of the run.
      {"tiered",
       [] {
         TieredIndexOptions o;
         o.exact_up_to = kPermanent + kLiveTransients / 2;
         o.hnsw.build_threads = 2;
         return std::make_unique<TieredIndex>(o);
       },
       true},
  };
}

class IndexUnderConcurrentChange : public ::testing::TestWithParam<Kind> {};

TEST_P(IndexUnderConcurrentChange, ReadersAlwaysSeeWholeConsistentEmbeddings) {
  const Kind& kind = GetParam();
  std::unique_ptr<EmbeddingIndex> index = kind.make();
  std::mt19937_64 rng(42);
  const EmbeddingBatch permanent = random_batch(rng, kPermanent, 128);
  index->add_batch(permanent);

  // Transient ids are added in increasing order and removed oldest first, so
  // "removed before this search began" is just: id < removed_below.
  std::atomic<std::uint64_t> removed_below{kFirstTransient};
  std::atomic<std::uint64_t> added_below{kFirstTransient};
  std::atomic<bool> writing{true};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto fail = [&](std::string message) {
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 20) failures.push_back(std::move(message));
  };

  std::atomic<std::size_t> searches{0}, self_found{0}, self_queries{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 reader_rng(100 + r);
      std::uniform_int_distribution<std::size_t> pick(0, kPermanent - 1);
      while (writing.load()) {
        const std::size_t row = pick(reader_rng);
        const bool self_query = reader_rng() % 2 == 0;
        const std::vector<float> query = self_query
                                             ? std::vector<float>(permanent.row(row, 128).begin(), permanent.row(row, 128).end())
                                             : random_unit_vector(reader_rng, 128);
        const std::uint64_t removed = removed_below.load();
        const auto matches = index->search(query, 5, std::numeric_limits<float>::infinity());
        const std::uint64_t added = added_below.load();
        ++searches;
        std::set<ProfileId> profiles;
        for (std::size_t i = 0; i < matches.size(); ++i) {
          const Match& m = matches[i];
          if (!std::isfinite(m.distance) || m.distance < 0) fail("distance " + std::to_string(m.distance));
          if (i > 0 && m.distance < matches[i - 1].distance) fail("answers out of order");
          if (!profiles.insert(m.profile).second) fail("profile " + std::to_string(m.profile) + " twice");
          if (m.embedding < kPermanent) {
            if (m.profile != m.embedding) fail("permanent embedding under a foreign profile");
          } else if (m.embedding < removed) {
            fail("embedding " + std::to_string(m.embedding) + " returned after its removal");
          } else if (m.embedding >= added + 1) {
            fail("embedding " + std::to_string(m.embedding) + " returned before it was added");
          }
        }
        if (self_query) {
          ++self_queries;
          if (!matches.empty() && matches[0].embedding == permanent.ids[row]) {
            ++self_found;
            // A torn or half-moved row would not be at distance zero.
            if (matches[0].distance > 1e-3f) fail("self distance " + std::to_string(matches[0].distance));
          }
        }
      }
    });
  }

  std::mt19937_64 writer_rng(7);
  std::uint64_t next_id = kFirstTransient;
  for (std::size_t op = 0; op < kWriterOperations; ++op) {
    const std::uint64_t id = next_id++;
    index->add(id, id, random_unit_vector(writer_rng, 128));
    added_below.store(next_id);
    if (op % 5 == 4 && index->contains(id - 1)) index->merge_profiles(id, id - 1);
    if (next_id - removed_below.load() > kLiveTransients) {
      const std::uint64_t oldest = removed_below.load();
      index->remove_embedding(oldest);
      removed_below.store(oldest + 1);
    }
  }
  writing.store(false);
  for (auto& t : readers) t.join();
  if (auto* tiered = dynamic_cast<TieredIndex*>(index.get())) {
    tiered->wait_for_background_work();
    EXPECT_EQ(tiered->last_background_error(), "");
    EXPECT_GE(tiered->completed_migrations(), 1u) << "the run should have crossed a tier";
  }

  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(searches.load(), 0u);
  const double found = double(self_found.load()) / double(std::max<std::size_t>(1, self_queries.load()));
  if (kind.approximate) {
    EXPECT_GE(found, 0.98) << "self-queries that found themselves";
  } else {
    EXPECT_EQ(self_found.load(), self_queries.load());
  }
  EXPECT_EQ(index->size(), kPermanent + kLiveTransients);
  for (std::uint64_t id = kFirstTransient; id < removed_below.load(); ++id) ASSERT_FALSE(index->contains(id)) << id;
}

INSTANTIATE_TEST_SUITE_P(Kinds, IndexUnderConcurrentChange, ::testing::ValuesIn(kinds()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace safelynx::index
