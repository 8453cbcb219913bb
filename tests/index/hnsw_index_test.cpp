#include "index/hnsw_index.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "index_test_support.hpp"

namespace safelynx::index {
namespace {

using testing::error_of;
using testing::random_batch;
using testing::random_unit_vector;
using testing::sized;
using testing::true_l2;

constexpr float kAny = std::numeric_limits<float>::infinity();
constexpr std::size_t kDim = 128;

HnswIndexOptions options(Metric metric = Metric::L2, std::size_t dimension = kDim) {
  HnswIndexOptions o;
  o.metric = metric;
  o.dimension = dimension;
  o.build_threads = 2;
  return o;
}

std::vector<float> copy(std::span<const float> values) { return {values.begin(), values.end()}; }

std::vector<float> scaled(std::span<const float> values, float factor) {
  std::vector<float> out = copy(values);
  for (float& v : out) v *= factor;
  return out;
}

// The embedding of a batch nearest to `query`, in double precision.
std::size_t brute_force_nearest_row(const EmbeddingBatch& batch, std::span<const float> query) {
  std::size_t best = 0;
  float best_distance = kAny;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const float d = true_l2(batch.row(i, query.size()), query);
    if (d < best_distance) {
      best_distance = d;
      best = i;
    }
  }
  return best;
}

TEST(HnswIndex, RecallAtOneAgainstBruteForceIsHigh) {
  std::mt19937_64 rng(1);
  const EmbeddingBatch batch = random_batch(rng, sized(3000, 600), kDim);
  // Uniformly random directions are the hardest case for a graph search (no
  // clusters to follow): a beam of 64 (automatic at this size) finds ~0.9 of
  // them, 128 more than 0.99.
  HnswIndexOptions wide_beam = options();
  wide_beam.ef_search = 128;
  HnswIndex index(wide_beam);
  index.add_batch(batch);
  ASSERT_EQ(index.size(), batch.size());

  const int kQueries = int(sized(200, 50));
  int hits = 0;
  for (int q = 0; q < kQueries; ++q) {
    const auto query = random_unit_vector(rng, kDim);
    const std::size_t expected = brute_force_nearest_row(batch, query);
    const auto got = index.search(query, 1, kAny);
    ASSERT_EQ(got.size(), 1u);
    if (got[0].embedding == batch.ids[expected]) ++hits;
  }
  EXPECT_GE(double(hits) / kQueries, 0.95);

  for (std::size_t i = 0; i < batch.size(); i += 29) {
    const auto got = index.search(batch.row(i, kDim), 1, kAny);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].embedding, batch.ids[i]);
    EXPECT_NEAR(got[0].distance, 0.0f, 1e-3);
  }
}

TEST(HnswIndex, DistancesAreTrueEuclideanDistancesInAscendingOrder) {
  std::mt19937_64 rng(2);
  const EmbeddingBatch batch = random_batch(rng, sized(500, 300), kDim);
  HnswIndex index(options());
  index.add_batch(batch);
  for (int q = 0; q < 20; ++q) {
    const auto query = random_unit_vector(rng, kDim);
    const auto got = index.search(query, 10, kAny);
    ASSERT_EQ(got.size(), 10u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i].distance, true_l2(batch.row(got[i].embedding, kDim), query), 1e-4);
      EXPECT_EQ(got[i].profile, got[i].embedding);  // random_batch: profile = id = row
      if (i > 0) {
        EXPECT_LE(got[i - 1].distance, got[i].distance);
      }
    }
  }
}

TEST(HnswIndex, ReturnsEachProfileOnceWithItsNearestEmbedding) {
  std::mt19937_64 rng(3);
  HnswIndex index(options());
  const auto anchor = random_unit_vector(rng, kDim);
  // Profile 7 has three embeddings at growing distances from the anchor;
  // profile 8 one embedding farther than all of them.
  const auto near = copy(anchor);
  const auto middle = scaled(anchor, 1.1f);
  const auto far = scaled(anchor, 1.2f);
  index.add(7, 100, middle);
  index.add(7, 101, near);
  index.add(7, 102, far);
  index.add(8, 200, scaled(anchor, 1.5f));
  for (int i = 0; i < 50; ++i) index.add(1000 + i, 1000 + i, random_unit_vector(rng, kDim));

  const auto got = index.search(anchor, 2, kAny);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].profile, 7u);
  EXPECT_EQ(got[0].embedding, 101u);
  EXPECT_NEAR(got[0].distance, 0.0f, 1e-4);
  EXPECT_EQ(got[1].profile, 8u);
  EXPECT_EQ(got[1].embedding, 200u);
  EXPECT_NEAR(got[1].distance, 0.5f, 1e-4);
  EXPECT_EQ(index.size(), 54u);
  EXPECT_EQ(index.profile_count(), 52u);
}

TEST(HnswIndex, MaxDistanceDropsFartherProfiles) {
  std::mt19937_64 rng(4);
  HnswIndex index(options());
  const auto anchor = random_unit_vector(rng, kDim);
  index.add(1, 1, scaled(anchor, 1.1f));  // distance 0.1
  index.add(2, 2, scaled(anchor, 1.3f));  // 0.3
  index.add(3, 3, scaled(anchor, 1.6f));  // 0.6
  const auto got = index.search(anchor, 10, 0.35f);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].profile, 1u);
  EXPECT_EQ(got[1].profile, 2u);
  EXPECT_TRUE(index.search(anchor, 10, 0.05f).empty());
  EXPECT_EQ(index.search(anchor, 10, 0.0f).size(), 0u);
  EXPECT_EQ(index.search(scaled(anchor, 1.1f), 10, 0.0f).size(), 1u) << "an exact match is within distance 0";
}

TEST(HnswIndex, KLargerThanTheProfileCountReturnsEveryProfile) {
  std::mt19937_64 rng(5);
  EmbeddingBatch batch = random_batch(rng, 30, kDim);
  for (std::size_t i = 0; i < batch.size(); ++i) batch.profiles[i] = batch.ids[i] % 10;
  HnswIndex index(options());
  index.add_batch(batch);
  const auto got = index.search(random_unit_vector(rng, kDim), 1000, kAny);
  ASSERT_EQ(got.size(), 10u);
  std::set<ProfileId> profiles;
  for (const Match& m : got) profiles.insert(m.profile);
  EXPECT_EQ(profiles.size(), 10u);
}

TEST(HnswIndex, AnEmptyIndexAnswersNothing) {
  HnswIndex index(options());
  std::mt19937_64 rng(6);
  const auto query = random_unit_vector(rng, kDim);
  EXPECT_TRUE(index.search(query, 5, kAny).empty());
  index.add(1, 1, query);
  index.remove_embedding(1);
  EXPECT_TRUE(index.search(query, 5, kAny).empty());
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.deleted_count(), 1u);
}

TEST(HnswIndex, RemovedEmbeddingsAndProfilesAreNeverReturned) {
  std::mt19937_64 rng(7);
  const std::size_t n = sized(1000, 400);
  EmbeddingBatch batch = random_batch(rng, n, kDim);
  for (std::size_t i = 0; i < batch.size(); ++i) batch.profiles[i] = batch.ids[i] / 2;  // two per profile
  HnswIndex index(options());
  index.add_batch(batch);

  // Every even id, by embedding; then profiles 1, 3, 5, ... < 100 whole.
  for (EmbeddingId id = 0; id < n; id += 2) index.remove_embedding(id);
  std::size_t removed_with_profiles = 0;
  for (ProfileId p = 1; p < 100; p += 2) removed_with_profiles += index.remove_profile(p);
  EXPECT_EQ(removed_with_profiles, 50u);
  EXPECT_EQ(index.size(), n / 2 - 50);
  EXPECT_EQ(index.profile_count(), n / 2 - 50);
  EXPECT_EQ(index.deleted_count(), n / 2 + 50);
  EXPECT_FALSE(index.contains(0));
  EXPECT_FALSE(index.contains(3));
  EXPECT_TRUE(index.contains(201));

  auto removed = [](EmbeddingId id) { return id % 2 == 0 || (id < 200 && (id / 2) % 2 == 1); };
  for (std::size_t i = 0; i < batch.size(); i += 7) {
    // A removed embedding queried exactly: it must not come back.
    for (const Match& m : index.search(batch.row(i, kDim), 20, kAny)) {
      EXPECT_FALSE(removed(m.embedding)) << m.embedding;
      EXPECT_EQ(m.profile, m.embedding / 2);
    }
  }
  const auto kept = index.search(batch.row(201, kDim), 1, kAny);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].embedding, 201u);
}

TEST(HnswIndex, MergeMovesEveryEmbeddingToTheTargetProfile) {
  std::mt19937_64 rng(8);
  const EmbeddingBatch batch = random_batch(rng, 200, kDim);
  HnswIndex index(options());
  index.add_batch(batch);
  EXPECT_EQ(index.merge_profiles(5, 6), 1u);
  EXPECT_EQ(index.merge_profiles(6, 9999), 2u);  // into a profile new to the index
  EXPECT_EQ(index.profile_count(), 199u);

  const auto got = index.search(batch.row(5, kDim), 3, kAny);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].profile, 9999u);
  EXPECT_EQ(got[0].embedding, 5u);
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_NE(got[i].profile, 9999u) << "the merged profile appears once";
  EXPECT_EQ(index.search(batch.row(6, kDim), 1, kAny).at(0).profile, 9999u);
  EXPECT_EQ(index.remove_profile(9999), 2u);
  EXPECT_FALSE(index.contains(5));
  EXPECT_FALSE(index.contains(6));
}

TEST(HnswIndex, CosineDistanceIsOneMinusCosineWhateverTheScale) {
  std::mt19937_64 rng(9);
  HnswIndex index(options(Metric::Cosine));
  const auto a = random_unit_vector(rng, kDim);
  auto b = random_unit_vector(rng, kDim);
  // b rotated towards a so that cos(a, b) is clearly positive.
  for (std::size_t i = 0; i < kDim; ++i) b[i] = a[i] + 0.5f * b[i];
  index.add(1, 1, scaled(a, 3.0f));
  index.add(2, 2, scaled(b, 0.25f));
  for (int i = 0; i < 100; ++i) index.add(100 + i, 100 + i, random_unit_vector(rng, kDim));

  double dot = 0, norm_b = 0;
  for (std::size_t i = 0; i < kDim; ++i) {
    dot += double(a[i]) * b[i];
    norm_b += double(b[i]) * b[i];
  }
  const double cosine = dot / std::sqrt(norm_b);

  const auto got = index.search(scaled(a, 7.0f), 2, kAny);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].profile, 1u);
  EXPECT_NEAR(got[0].distance, 0.0f, 1e-5);
  EXPECT_EQ(got[1].profile, 2u);
  EXPECT_NEAR(got[1].distance, 1.0 - cosine, 1e-5);

  // Stored vectors are the normalised ones.
  const EmbeddingBatch snapshot = index.snapshot();
  double norm = 0;
  for (float v : snapshot.row(0, kDim)) norm += double(v) * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_NE(error_of([&] { index.add(3, 3, std::vector<float>(kDim, 0.0f)); }).find("zeros"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(std::vector<float>(kDim, 0.0f), 1, kAny); }).find("query is all zeros"),
            std::string::npos);
}

// The graph starts with room for 1024 nodes.
TEST(HnswIndex, GrowsBeyondItsInitialCapacityOneByOneAndByBatch) {
  std::mt19937_64 rng(10);
  const EmbeddingBatch singles = random_batch(rng, 1100, kDim);
  HnswIndex one_by_one(options());
  for (std::size_t i = 0; i < singles.size(); ++i)
    one_by_one.add(singles.profiles[i], singles.ids[i], singles.row(i, kDim));

  const EmbeddingBatch batch = random_batch(rng, 1100, kDim, 10'000);
  HnswIndex batched(options());
  batched.add(1, 1, random_unit_vector(rng, kDim));
  const std::size_t bytes_before_batch = batched.memory_bytes();
  batched.add_batch(batch);
  EXPECT_GT(batched.memory_bytes(), bytes_before_batch + batch.size() * kDim * sizeof(float));

  for (const auto& [index, added] : {std::pair{&one_by_one, &singles}, std::pair{&batched, &batch}}) {
    EXPECT_EQ(index->size(), added->size() + (index == &batched ? 1 : 0));
    int found = 0, queries = 0;
    for (std::size_t i = 0; i < added->size(); i += 37, ++queries)
      found += index->search(added->row(i, kDim), 1, kAny).at(0).embedding == added->ids[i];
    EXPECT_GE(found, queries - 1) << "self-queries that found themselves";
  }
}

TEST(HnswIndex, ABatchWithABadRowOrAKnownIdAddsNothing) {
  std::mt19937_64 rng(11);
  HnswIndex index(options());
  index.add_batch(random_batch(rng, 100, kDim));
  const std::size_t deleted_before = index.deleted_count();

  EmbeddingBatch nan_row = random_batch(rng, 300, kDim, 1000);
  nan_row.values[150 * kDim + 3] = std::nanf("");
  EXPECT_NE(error_of([&] { index.add_batch(nan_row); }).find("NaN"), std::string::npos);

  EmbeddingBatch known_id = random_batch(rng, 300, kDim, 1000);
  known_id.ids[299] = 42;
  EXPECT_NE(error_of([&] { index.add_batch(known_id); }).find("embedding 42 is already in the index"),
            std::string::npos);

  EmbeddingBatch twice = random_batch(rng, 300, kDim, 1000);
  twice.ids[10] = twice.ids[20];
  EXPECT_NE(error_of([&] { index.add_batch(twice); }).find("appears twice"), std::string::npos);

  EmbeddingBatch short_row = random_batch(rng, 3, kDim, 1000);
  short_row.values.pop_back();
  EXPECT_NE(error_of([&] { index.add_batch(short_row); }).find("inconsistent"), std::string::npos);

  EXPECT_EQ(index.size(), 100u);
  EXPECT_EQ(index.profile_count(), 100u);
  EXPECT_EQ(index.deleted_count(), deleted_before);
  EXPECT_FALSE(index.contains(1000));
  EXPECT_FALSE(index.contains(1150));
  EXPECT_EQ(index.snapshot().size(), 100u);
}

TEST(HnswIndex, ErrorsNameTheProblem) {
  std::mt19937_64 rng(12);
  HnswIndex index(options());
  const auto v = random_unit_vector(rng, kDim);
  index.add(1, 1, v);

  EXPECT_NE(error_of([&] { index.add(2, 2, std::vector<float>(64, 0.1f)); }).find("has 64 values"), std::string::npos);
  auto nan = v;
  nan[5] = std::nanf("");
  EXPECT_NE(error_of([&] { index.add(2, 2, nan); }).find("value 5 is NaN"), std::string::npos);
  auto inf = v;
  inf[9] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { index.add(2, 2, inf); }).find("value 9 is infinite"), std::string::npos);
  EXPECT_NE(error_of([&] { index.add(3, 1, v); }).find("embedding 1 is already in the index"), std::string::npos);
  EXPECT_NE(error_of([&] { index.remove_embedding(77); }).find("unknown embedding 77"), std::string::npos);
  EXPECT_NE(error_of([&] { index.remove_profile(78); }).find("unknown profile 78"), std::string::npos);
  EXPECT_NE(error_of([&] { index.merge_profiles(79, 1); }).find("unknown profile 79"), std::string::npos);

  EXPECT_NE(error_of([&] { index.search(v, 0, kAny); }).find("k must be at least 1"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(v, 1, -1.0f); }).find("max_distance"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(v, 1, std::nanf("")); }).find("max_distance"), std::string::npos);
  EXPECT_NE(error_of([&] { index.search(std::vector<float>(3, 0.0f), 1, kAny); }).find("query has 3 values"),
            std::string::npos);
  EXPECT_NE(error_of([&] { index.search(nan, 1, kAny); }).find("query value 5 is NaN"), std::string::npos);

  // Nothing above changed the index.
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.profile_count(), 1u);
  EXPECT_EQ(index.deleted_count(), 0u);
}

TEST(HnswIndex, InvalidOptionsAreRejected) {
  HnswIndexOptions no_dimension = options();
  no_dimension.dimension = 0;
  EXPECT_NE(error_of([&] { HnswIndex index(no_dimension); }).find("dimension"), std::string::npos);
  HnswIndexOptions one_link = options();
  one_link.m = 1;
  EXPECT_NE(error_of([&] { HnswIndex index(one_link); }).find("m must be"), std::string::npos);
}

TEST(HnswIndex, TheAutomaticBeamGrowsWithTheGallery) {
  EXPECT_EQ(automatic_ef_search(0), 64u);
  EXPECT_EQ(automatic_ef_search(100'000), 64u);
  EXPECT_EQ(automatic_ef_search(1'000'000), 256u);
  EXPECT_EQ(automatic_ef_search(1'000'000'000), 512u);
  std::size_t previous = 0;
  for (std::size_t size = 50'000; size < 20'000'000; size = size * 3 / 2) {
    EXPECT_GE(automatic_ef_search(size), previous) << size;
    previous = automatic_ef_search(size);
  }
}

TEST(HnswIndex, ASnapshotRebuildsAnIndexWithTheSameAnswers) {
  std::mt19937_64 rng(13);
  EmbeddingBatch batch = random_batch(rng, sized(1200, 450), kDim);
  for (std::size_t i = 0; i < batch.size(); ++i) batch.profiles[i] = batch.ids[i] / 3;
  HnswIndex original(options());
  original.add_batch(batch);
  for (EmbeddingId id = 0; id < batch.size(); id += 5) original.remove_embedding(id);
  original.merge_profiles(10, 11);

  const EmbeddingBatch snapshot = original.snapshot();
  ASSERT_EQ(snapshot.size(), original.size());
  HnswIndex rebuilt(options());
  rebuilt.add_batch(snapshot);
  EXPECT_EQ(rebuilt.size(), original.size());
  EXPECT_EQ(rebuilt.profile_count(), original.profile_count());
  EXPECT_EQ(rebuilt.deleted_count(), 0u);

  for (std::size_t i = 0; i < snapshot.size(); ++i) {
    EXPECT_EQ(snapshot.profiles[i], snapshot.ids[i] == 30 || snapshot.ids[i] == 31 || snapshot.ids[i] == 32
                                        ? 11u
                                        : snapshot.ids[i] / 3);
    EXPECT_NE(snapshot.ids[i] % 5, 0u);
    for (std::size_t d = 0; d < kDim; ++d) ASSERT_EQ(snapshot.row(i, kDim)[d], batch.row(snapshot.ids[i], kDim)[d]);
  }
  int same = 0, queries = 0;
  for (std::size_t i = 0; i < snapshot.size(); i += sized(11, 17), ++queries) {
    const auto a = original.search(snapshot.row(i, kDim), 1, kAny);
    const auto b = rebuilt.search(snapshot.row(i, kDim), 1, kAny);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    same += a[0].embedding == b[0].embedding && a[0].profile == b[0].profile && b[0].embedding == snapshot.ids[i];
  }
  EXPECT_GE(same, queries - 1) << "exact-duplicate queries that both indexes answer with the stored embedding";
}

TEST(HnswIndex, AWiderBeamDoesNotLoseRecall) {
  std::mt19937_64 rng(14);
  const EmbeddingBatch batch = random_batch(rng, sized(2000, 600), kDim);
  HnswIndexOptions narrow = options();
  narrow.ef_search = 1;
  HnswIndex index(narrow);
  index.add_batch(batch);
  std::vector<std::vector<float>> queries;
  std::vector<EmbeddingId> expected;
  for (std::size_t q = 0; q < sized(100, 40); ++q) {
    queries.push_back(random_unit_vector(rng, kDim));
    expected.push_back(batch.ids[brute_force_nearest_row(batch, queries.back())]);
  }
  auto hits = [&] {
    int h = 0;
    for (std::size_t q = 0; q < queries.size(); ++q) h += index.search(queries[q], 1, kAny).at(0).embedding == expected[q];
    return h;
  };
  const int narrow_hits = hits();
  index.set_ef_search(256);
  EXPECT_EQ(index.options().ef_search, 256u);
  const int wide_hits = hits();
  EXPECT_GT(wide_hits, narrow_hits);
  EXPECT_GE(wide_hits, 0.9 * double(queries.size()));
}

// 4 readers search while a writer adds, removes and merges. Transient ids are
// added in increasing order and removed oldest first, so "removed before the
// search began" is id < removed_below read before it.
TEST(HnswIndex, SearchesStayWellFormedWhileTheIndexChanges) {
  constexpr std::size_t kPermanent = 400;
  constexpr std::uint64_t kFirstTransient = 100'000;
  constexpr std::uint64_t kMergedProfiles = 1'000'000;  // merge targets live above this
  constexpr std::size_t kTransients = 4000;
  constexpr std::size_t kLiveTransients = sized(150, 20);
  constexpr std::size_t kMinAdds = kLiveTransients + 40;  // so that removals happen too
  std::mt19937_64 rng(15);
  const EmbeddingBatch permanent = random_batch(rng, kPermanent, kDim);
  const EmbeddingBatch transient = random_batch(rng, kTransients, kDim, kFirstTransient);
  HnswIndex index(options());
  index.add_batch(permanent);
  auto vector_of = [&](EmbeddingId id) {
    return id < kFirstTransient ? permanent.row(id, kDim) : transient.row(id - kFirstTransient, kDim);
  };

  std::atomic<std::uint64_t> removed_below{kFirstTransient}, added_below{kFirstTransient};
  std::atomic<bool> writing{true};
  std::atomic<std::size_t> searches{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto fail = [&](std::string message) {
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 20) failures.push_back(std::move(message));
  };

  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&, r] {
      std::mt19937_64 reader_rng(100 + r);
      while (writing.load()) {
        const auto query = random_unit_vector(reader_rng, kDim);
        const std::uint64_t removed = removed_below.load();
        const auto matches = index.search(query, 8, 1.3f);
        const std::uint64_t added = added_below.load();
        ++searches;
        std::set<ProfileId> profiles;
        for (std::size_t i = 0; i < matches.size(); ++i) {
          const Match& m = matches[i];
          const std::string what = "embedding " + std::to_string(m.embedding) + ": ";
          if (i > 0 && m.distance < matches[i - 1].distance) fail("answers out of order");
          if (!profiles.insert(m.profile).second) fail("profile " + std::to_string(m.profile) + " twice");
          if (!(m.distance <= 1.3f)) fail(what + "beyond max_distance");
          if (m.embedding < kPermanent) {
            if (m.profile != m.embedding) fail(what + "under a foreign profile");
          } else if (m.embedding < removed || m.embedding > added) {
            // `added` may lag by the one add in flight, hence ">".
            fail(what + "returned outside its lifetime [" + std::to_string(removed) + ", " + std::to_string(added) + "]");
            continue;
          } else if (m.profile != m.embedding && m.profile != kMergedProfiles + m.embedding) {
            fail(what + "under profile " + std::to_string(m.profile));
          }
          // A torn or foreign vector would not be at this distance.
          if (std::fabs(m.distance - true_l2(vector_of(m.embedding), query)) > 1e-4f) fail(what + "wrong distance");
        }
      }
    });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::uint64_t next_id = kFirstTransient;
  while (next_id < kFirstTransient + kTransients &&
         (next_id < kFirstTransient + kMinAdds || std::chrono::steady_clock::now() < deadline)) {
    const std::uint64_t id = next_id++;
    index.add(id, id, vector_of(id));
    added_below.store(next_id);
    if (id % 7 == 0) index.merge_profiles(id, kMergedProfiles + id);
    if (next_id - removed_below.load() > kLiveTransients) {
      const std::uint64_t oldest = removed_below.load();
      // Merged ones go by profile, the rest by embedding.
      if (oldest % 7 == 0) {
        EXPECT_EQ(index.remove_profile(kMergedProfiles + oldest), 1u);
      } else {
        index.remove_embedding(oldest);
      }
      removed_below.store(oldest + 1);
    }
  }
  writing.store(false);
  for (auto& t : readers) t.join();

  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(searches.load(), 20u);
  EXPECT_EQ(index.size(), kPermanent + (next_id - removed_below.load()));
  EXPECT_EQ(index.deleted_count(), removed_below.load() - kFirstTransient);
}

}  // namespace
}  // namespace safelynx::index
