#include "index/exact_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "index_test_support.hpp"

namespace safelynx::index {
namespace {

using testing::error_of;
using testing::random_batch;
using testing::random_unit_vector;
using testing::true_l2;

constexpr float kAny = std::numeric_limits<float>::infinity();

// Brute force over a batch, best embedding per profile, in double precision.
std::vector<Match> brute_force(const EmbeddingBatch& batch, std::span<const float> query, std::size_t k) {
  std::map<ProfileId, Match> best;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const float d = true_l2(batch.row(i, query.size()), query);
    auto it = best.find(batch.profiles[i]);
    if (it == best.end() || d < it->second.distance) best[batch.profiles[i]] = {batch.profiles[i], batch.ids[i], d};
  }
  std::vector<Match> all;
  for (const auto& [profile, match] : best) all.push_back(match);
  std::sort(all.begin(), all.end(), [](const Match& a, const Match& b) { return a.distance < b.distance; });
  if (all.size() > k) all.resize(k);
  return all;
}

ExactIndexOptions options(ExactStorage storage, Metric metric = Metric::L2, std::size_t dimension = 128) {
  ExactIndexOptions o;
  o.storage = storage;
  o.metric = metric;
  o.dimension = dimension;
  return o;
}

class ExactIndexStorage : public ::testing::TestWithParam<ExactStorage> {};

TEST_P(ExactIndexStorage, AnswersEqualBruteForce) {
  std::mt19937_64 rng(1);
  // Several embeddings per profile: ids 0..2999, profile = id / 3.
  EmbeddingBatch batch = random_batch(rng, 3000, 128);
  for (std::size_t i = 0; i < batch.size(); ++i) batch.profiles[i] = batch.ids[i] / 3;
  ExactIndex index(options(GetParam()));
  index.add_batch(batch);
  EXPECT_EQ(index.size(), 3000u);
  EXPECT_EQ(index.profile_count(), 1000u);
  for (int q = 0; q < 50; ++q) {
    const auto query = random_unit_vector(rng, 128);
    const auto expected = brute_force(batch, query, 10);
    const auto got = index.search(query, 10, kAny);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].profile, expected[i].profile) << "query " << q << " rank " << i;
      EXPECT_EQ(got[i].embedding, expected[i].embedding) << "query " << q << " rank " << i;
      EXPECT_NEAR(got[i].distance, expected[i].distance, 1e-5);
    }
  }
}

TEST_P(ExactIndexStorage, AStoredVectorFindsItselfAtDistanceZero) {
  std::mt19937_64 rng(2);
  const EmbeddingBatch batch = random_batch(rng, 500, 128);
  ExactIndex index(options(GetParam()));
  index.add_batch(batch);
  for (std::size_t i = 0; i < batch.size(); i += 37) {
    const auto got = index.search(batch.row(i, 128), 1, kAny);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].embedding, batch.ids[i]);
    EXPECT_NEAR(got[0].distance, 0.0f, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Storage, ExactIndexStorage, ::testing::Values(ExactStorage::Float32, ExactStorage::Int8),
                         [](const auto& param_info) { return param_info.param == ExactStorage::Int8 ? "Int8" : "Float32"; });

TEST(ExactIndex, ReturnsEachProfileOnceWithItsNearestEmbedding) {
  ExactIndex index(options(ExactStorage::Float32, Metric::L2, 2));
  index.add(7, 1, std::vector<float>{1, 0});
  index.add(7, 2, std::vector<float>{0.1f, 0});
  index.add(7, 3, std::vector<float>{0.2f, 0});
  index.add(9, 4, std::vector<float>{0.5f, 0});
  const auto got = index.search(std::vector<float>{0, 0}, 5, kAny);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].profile, 7u);
  EXPECT_EQ(got[0].embedding, 2u);
  EXPECT_NEAR(got[0].distance, 0.1f, 1e-6);
  EXPECT_EQ(got[1].profile, 9u);
  EXPECT_NEAR(got[1].distance, 0.5f, 1e-6);
}

TEST(ExactIndex, MaxDistanceLeavesOutFartherProfiles) {
  ExactIndex index(options(ExactStorage::Float32, Metric::L2, 2));
  index.add(1, 1, std::vector<float>{0.3f, 0});
  index.add(2, 2, std::vector<float>{0.7f, 0});
  const auto got = index.search(std::vector<float>{0, 0}, 5, 0.6f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].profile, 1u);
  EXPECT_TRUE(index.search(std::vector<float>{0, 0}, 5, 0.2f).empty());
}

TEST(ExactIndex, EmptyIndexAnswersNothing) {
  ExactIndex index;
  EXPECT_TRUE(index.search(std::vector<float>(128, 0.1f), 3, kAny).empty());
}

TEST(ExactIndex, RemovalKeepsEveryOtherEmbeddingFindable) {
  std::mt19937_64 rng(4);
  const EmbeddingBatch batch = random_batch(rng, 200, 128);
  ExactIndex index;
  index.add_batch(batch);
  // Remove every third: rows move around inside the matrix.
  for (std::size_t i = 0; i < batch.size(); i += 3) index.remove_embedding(batch.ids[i]);
  EXPECT_EQ(index.size(), 200u - 67u);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto got = index.search(batch.row(i, 128), 1, kAny);
    ASSERT_EQ(got.size(), 1u);
    if (i % 3 == 0) {
      EXPECT_NE(got[0].embedding, batch.ids[i]);
      EXPECT_FALSE(index.contains(batch.ids[i]));
    } else {
      EXPECT_EQ(got[0].embedding, batch.ids[i]);
      EXPECT_NEAR(got[0].distance, 0.0f, 1e-3);
    }
  }
}

TEST(ExactIndex, RemoveProfileTakesAllItsEmbeddings) {
  ExactIndex index(options(ExactStorage::Int8, Metric::L2, 4));
  index.add(1, 10, std::vector<float>{1, 0, 0, 0});
  index.add(1, 11, std::vector<float>{0, 1, 0, 0});
  index.add(2, 20, std::vector<float>{0, 0, 1, 0});
  EXPECT_EQ(index.remove_profile(1), 2u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.profile_count(), 1u);
  const auto got = index.search(std::vector<float>{1, 0, 0, 0}, 5, kAny);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].profile, 2u);
  EXPECT_EQ(got[0].embedding, 20u);
}

TEST(ExactIndex, MergeMovesEmbeddingsToTheSurvivingProfile) {
  ExactIndex index(options(ExactStorage::Float32, Metric::L2, 2));
  index.add(1, 10, std::vector<float>{1, 0});
  index.add(2, 20, std::vector<float>{0, 1});
  index.add(2, 21, std::vector<float>{0, 0.9f});
  EXPECT_EQ(index.merge_profiles(2, 1), 2u);
  EXPECT_EQ(index.profile_count(), 1u);
  const auto got = index.search(std::vector<float>{0, 1}, 5, kAny);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].profile, 1u);
  EXPECT_EQ(got[0].embedding, 20u);
  EXPECT_THROW(index.remove_profile(2), EmbeddingIndexError);
  EXPECT_EQ(index.remove_profile(1), 3u);
}

TEST(ExactIndex, CosineDistanceIgnoresScale) {
  ExactIndex index(options(ExactStorage::Float32, Metric::Cosine, 2));
  index.add(1, 1, std::vector<float>{10, 0});
  index.add(2, 2, std::vector<float>{1, 1});
  const auto got = index.search(std::vector<float>{0.001f, 0}, 2, kAny);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].profile, 1u);
  EXPECT_NEAR(got[0].distance, 0.0f, 1e-6);
  EXPECT_NEAR(got[1].distance, 1.0f - std::sqrt(0.5f), 1e-6);
  EXPECT_THROW(index.add(3, 3, std::vector<float>{0, 0}), EmbeddingIndexError);
}

TEST(ExactIndex, GrowsWellPastItsFirstAllocation) {
  std::mt19937_64 rng(5);
  ExactIndex index(options(ExactStorage::Int8));
  std::vector<std::vector<float>> added;
  for (std::uint64_t id = 0; id < 1000; ++id) {
    added.push_back(random_unit_vector(rng, 128));
    index.add(id, id, added.back());
  }
  for (std::uint64_t id = 0; id < 1000; id += 99) EXPECT_EQ(index.search(added[id], 1, kAny).at(0).embedding, id);
  EXPECT_GE(index.memory_bytes(), 1000u * (128 * 4 + 128));
}

TEST(ExactIndex, SnapshotHoldsEverythingLive) {
  std::mt19937_64 rng(6);
  const EmbeddingBatch batch = random_batch(rng, 50, 128);
  ExactIndex index;
  index.add_batch(batch);
  index.remove_embedding(3);
  const EmbeddingBatch copy = index.snapshot();
  EXPECT_EQ(copy.size(), 49u);
  ExactIndex rebuilt;
  rebuilt.add_batch(copy);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch.ids[i] == 3) continue;
    EXPECT_EQ(rebuilt.search(batch.row(i, 128), 1, kAny).at(0).embedding, batch.ids[i]);
  }
}


TEST(ExactIndex, BadInputIsRefusedWithAMessageNamingTheProblem) {
  ExactIndex index;
  const std::vector<float> good(128, 0.05f);
  index.add(1, 1, good);
  EXPECT_NE(error_of([&] { index.add(1, 2, std::vector<float>(127, 0.1f)); }).find("127 values"), std::string::npos);
  std::vector<float> with_nan = good;
  with_nan[5] = std::nanf("");
  EXPECT_NE(error_of([&] { index.add(1, 2, with_nan); }).find("value 5 is NaN"), std::string::npos);
  std::vector<float> with_inf = good;
  with_inf[0] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { index.search(with_inf, 1, kAny); }).find("query value 0 is infinite"), std::string::npos);
  EXPECT_NE(error_of([&] { index.add(2, 1, good); }).find("embedding 1 is already in the index"), std::string::npos);
  EXPECT_NE(error_of([&] { index.remove_embedding(99); }).find("unknown embedding 99"), std::string::npos);
  EXPECT_NE(error_of([&] { index.remove_profile(42); }).find("unknown profile 42"), std::string::npos);
  EXPECT_NE(error_of([&] { index.merge_profiles(42, 1); }).find("unknown profile 42"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(good, 0, kAny); }).find("k must be"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(good, 1, -1.0f); }).find("max_distance"), std::string::npos);
  EXPECT_EQ(index.size(), 1u);
}

TEST(ExactIndex, ABatchWithOneBadRowAddsNothing) {
  std::mt19937_64 rng(8);
  ExactIndex index;
  index.add(1000, 1000, random_unit_vector(rng, 128));
  EmbeddingBatch batch = random_batch(rng, 10, 128);
  batch.values[5 * 128 + 3] = std::nanf("");
  EXPECT_NE(error_of([&] { index.add_batch(batch); }).find("embedding 5 value 3 is NaN"), std::string::npos);
  EmbeddingBatch clashing = random_batch(rng, 10, 128, 995);  // ids 995..1004: 1000 exists
  EXPECT_NE(error_of([&] { index.add_batch(clashing); }).find("embedding 1000 is already"), std::string::npos);
  EmbeddingBatch repeated = random_batch(rng, 3, 128);
  repeated.ids[2] = repeated.ids[0];
  EXPECT_NE(error_of([&] { index.add_batch(repeated); }).find("appears twice"), std::string::npos);
  EXPECT_EQ(index.size(), 1u);
}

TEST(ExactIndex, Int8RerankingGivesFloatDistances) {
  // The quantised scan only nominates: the distances reported are float32 ones.
  std::mt19937_64 rng(9);
  const EmbeddingBatch batch = random_batch(rng, 2000, 128);
  ExactIndex quantised(options(ExactStorage::Int8)), exact(options(ExactStorage::Float32));
  quantised.add_batch(batch);
  exact.add_batch(batch);
  std::size_t same_top = 0;
  for (int q = 0; q < 100; ++q) {
    const auto query = random_unit_vector(rng, 128);
    const auto a = quantised.search(query, 1, kAny), b = exact.search(query, 1, kAny);
    if (a.at(0).embedding == b.at(0).embedding) {
      ++same_top;
      EXPECT_FLOAT_EQ(a[0].distance, b[0].distance);
    }
  }
  EXPECT_GE(same_top, 99u);
  EXPECT_LT(quantised.memory_bytes(), exact.memory_bytes() * 3 / 2);
}

}  // namespace
}  // namespace safelynx::index
