#include "index/tiered_index.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "index_test_support.hpp"

namespace safelynx::index {
namespace {

using testing::random_batch;
using testing::random_unit_vector;
using testing::sized;

constexpr float kAny = std::numeric_limits<float>::infinity();

TieredIndexOptions small_tiers(std::size_t exact_up_to) {
  TieredIndexOptions options;
  options.exact_up_to = exact_up_to;
  options.hnsw.build_threads = 2;
  return options;
}

// Every embedding of `batch` that should be there finds itself first.
std::size_t self_matches(const EmbeddingIndex& index, const EmbeddingBatch& batch) {
  std::size_t found = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto got = index.search(batch.row(i, 128), 1, kAny);
    if (!got.empty() && got[0].embedding == batch.ids[i] && got[0].distance < 1e-3f) ++found;
  }
  return found;
}

TEST(TieredIndex, SwitchesToHnswAsTheGalleryGrowsAndBackAsItShrinks) {
  std::mt19937_64 rng(1);
  TieredIndex index(small_tiers(500));
  const EmbeddingBatch first = random_batch(rng, 400, 128);
  index.add_batch(first);
  index.wait_for_background_work();
  EXPECT_STREQ(index.active_kind(), "exact");

  const EmbeddingBatch second = random_batch(rng, 400, 128, 400);
  index.add_batch(second);
  index.wait_for_background_work();
  EXPECT_STREQ(index.active_kind(), "hnsw");
  EXPECT_EQ(index.completed_migrations(), 1u);
  EXPECT_EQ(index.size(), 800u);
  EXPECT_GE(self_matches(index, first) + self_matches(index, second), 790u);

  // Hysteresis: below 500 but above 250 it stays on HNSW...
  for (std::uint64_t id = 0; id < 400; ++id) index.remove_embedding(id);
  index.wait_for_background_work();
  EXPECT_EQ(index.size(), 400u);
  // ...(a rebuild may have run for the removed nodes: the kind is still HNSW)...
  EXPECT_STREQ(index.active_kind(), "hnsw");
  // ...and below 250 it is exact again.
  for (std::uint64_t id = 400; id < 600; ++id) index.remove_embedding(id);
  index.wait_for_background_work();
  EXPECT_STREQ(index.active_kind(), "exact");
  EXPECT_EQ(index.size(), 200u);
  EmbeddingBatch rest;
  for (std::size_t i = 200; i < 400; ++i) rest.push_back(second.profiles[i], second.ids[i], second.row(i, 128));
  EXPECT_EQ(self_matches(index, rest), 200u);
  EXPECT_EQ(index.last_background_error(), "");
}

TEST(TieredIndex, ChangesMadeDuringABuildAreNotLost) {
  std::mt19937_64 rng(2);
  TieredIndex index(small_tiers(1000));
  const EmbeddingBatch bulk = random_batch(rng, sized(5000, 1500), 128);
  index.add_batch(bulk);  // starts the switch to HNSW
  ASSERT_TRUE(index.background_work_running());

  std::size_t changes_while_building = 0;
  const EmbeddingBatch late = random_batch(rng, 300, 128, 100'000);
  for (std::size_t i = 0; i < late.size(); ++i) {
    if (index.background_work_running()) ++changes_while_building;
    index.add(late.profiles[i], late.ids[i], late.row(i, 128));
  }
  for (std::uint64_t id = 0; id < 100; ++id) index.remove_embedding(id);
  EXPECT_EQ(index.merge_profiles(100'001, 100'000), 1u);
  EXPECT_EQ(index.remove_profile(bulk.size() - 1), 1u);
  EXPECT_GT(changes_while_building, 0u);

  index.wait_for_background_work();
  EXPECT_STREQ(index.active_kind(), "hnsw");
  EXPECT_EQ(index.size(), bulk.size() + 300u - 100u - 1u);
  EXPECT_EQ(index.profile_count(), bulk.size() + 300u - 100u - 1u - 1u);
  for (std::uint64_t id = 0; id < 100; ++id) EXPECT_FALSE(index.contains(id)) << id;
  EXPECT_FALSE(index.contains(bulk.size() - 1));
  EXPECT_GE(self_matches(index, late), 297u);
  const auto merged = index.search(late.row(1, 128), 1, kAny);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].embedding, 100'001u);
  EXPECT_EQ(merged[0].profile, 100'000u);
}

TEST(TieredIndex, SearchesAreAnsweredWhileABuildRuns) {
  std::mt19937_64 rng(3);
  TieredIndex index(small_tiers(1000));
  const EmbeddingBatch bulk = random_batch(rng, sized(10'000, 2'500), 128);
  index.add_batch(bulk);
  std::size_t answered_during_build = 0;
  for (std::size_t i = 0; i < bulk.size() && index.background_work_running(); i += 7) {
    const auto got = index.search(bulk.row(i, 128), 1, kAny);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].embedding, bulk.ids[i]);
    if (index.background_work_running()) ++answered_during_build;
  }
  EXPECT_GT(answered_during_build, 0u) << "the build finished before a search could be timed against it";
  index.wait_for_background_work();
  EXPECT_STREQ(index.active_kind(), "hnsw");
}

TEST(TieredIndex, RebuildsTheGraphAfterManyRemovals) {
  std::mt19937_64 rng(4);
  TieredIndex index(small_tiers(0));  // HNSW only
  EXPECT_STREQ(index.active_kind(), "hnsw");
  const std::size_t total = sized(2000, 800), removed = total * 3 / 5;
  const EmbeddingBatch batch = random_batch(rng, total, 128);
  index.add_batch(batch);
  const std::size_t before = index.memory_bytes();
  for (std::uint64_t id = 0; id < removed; ++id) index.remove_embedding(id);
  index.wait_for_background_work();
  EXPECT_GE(index.completed_migrations(), 1u);
  EXPECT_LT(index.memory_bytes(), before);
  EXPECT_EQ(index.size(), total - removed);
  EmbeddingBatch rest;
  for (std::size_t i = removed; i < total; ++i) rest.push_back(batch.profiles[i], batch.ids[i], batch.row(i, 128));
  EXPECT_GE(self_matches(index, rest), rest.size() * 99 / 100);
}

TEST(TieredIndex, BadInputIsRefusedAndChangesNothing) {
  TieredIndex index(small_tiers(10));
  EXPECT_THROW(index.add(1, 1, std::vector<float>(3, 0.0f)), EmbeddingIndexError);
  EXPECT_THROW(index.remove_embedding(5), EmbeddingIndexError);
  EXPECT_THROW(index.merge_profiles(5, 6), EmbeddingIndexError);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.background_work_running());
}

}  // namespace
}  // namespace safelynx::index
