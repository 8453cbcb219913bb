// The gallery's recognition report on synthetic profiles whose answers are known.
#include "gallery/recognition_report.hpp"

#include <gtest/gtest.h>

namespace safelynx::gallery {
namespace {

// An embedding at x in the first coordinate, zero elsewhere.
StoredEmbedding at(float x, float quality = 1, std::uint64_t id = 0) {
  StoredEmbedding e;
  e.id = id;
  e.descriptor[0] = x;
  e.quality = quality;
  return e;
}

ProfileSamples person(const std::string& name, std::vector<StoredEmbedding> embeddings) {
  return {Uuid::random(), name, std::move(embeddings)};
}

TEST(GalleryReport, TooFewPeopleIsSaidSo) {
  const std::vector<ProfileSamples> profiles = {person("ann", {at(0), at(0.1f)}), person("bob", {at(1)})};
  const GalleryReport r = report_gallery(profiles);
  EXPECT_EQ(r.profiles_given, 2u);
  EXPECT_EQ(r.profiles_used, 1u);
  EXPECT_EQ(r.skipped_few_embeddings, 1u);
  EXPECT_FALSE(r.rank1);
  EXPECT_FALSE(r.verification);
  EXPECT_FALSE(r.recommended_threshold);
  EXPECT_NE(r.advice.find("too few people"), std::string::npos) << r.advice;
}

TEST(GalleryReport, WellSeparatedPeopleAreAllNamedAndTheClosestPairIsFound) {
  // ann at 0, bob at 1, cid at 3: ann and bob are the closest.
  const std::vector<ProfileSamples> profiles = {person("ann", {at(0), at(0.1f), at(0.05f)}),
                                                person("bob", {at(1), at(1.1f)}), person("cid", {at(3), at(3.1f)})};
  GalleryReportOptions options;
  options.match_threshold = 0.5f;
  const GalleryReport r = report_gallery(profiles, options);
  EXPECT_EQ(r.profiles_used, 3u);
  EXPECT_EQ(r.embeddings_used, 7u);
  EXPECT_FALSE(r.capped);
  ASSERT_TRUE(r.rank1);
  EXPECT_DOUBLE_EQ(r.rank1->rank1(), 1.0);
  EXPECT_EQ(r.rank1->options.shots, 1u);
  ASSERT_TRUE(r.verification);
  EXPECT_EQ(r.verification->genuine.size(), 3u + 1 + 1);
  EXPECT_EQ(r.verification->impostor.size(), 21u - 5);
  ASSERT_EQ(r.verification->points.size(), 2u);
  // Few pairs: FAR 1e-3 allows none, so the threshold is the nearest different pair.
  EXPECT_FLOAT_EQ(*r.recommended_threshold, 0.9f);
  EXPECT_DOUBLE_EQ(r.at_match_threshold->tar, 1.0);
  EXPECT_DOUBLE_EQ(r.at_match_threshold->far, 0.0);
  ASSERT_TRUE(r.closest_embeddings);
  EXPECT_EQ(r.closest_embeddings->first.name, "ann");
  EXPECT_EQ(r.closest_embeddings->second.name, "bob");
  EXPECT_EQ(r.closest_embeddings->first.id, profiles[0].id);
  EXPECT_NEAR(r.closest_embeddings->distance, 0.9f, 1e-6);
  ASSERT_TRUE(r.closest_means);
  EXPECT_EQ(r.closest_means->second.name, "bob");
  EXPECT_NEAR(r.closest_means->distance, 1.05f - 0.05f, 1e-6);
  EXPECT_NE(r.advice.find("only 16 pairs of different people: too few to recommend"), std::string::npos) << r.advice;
  EXPECT_NE(r.advice.find("accepts 0.00% of them"), std::string::npos) << r.advice;
}

TEST(GalleryReport, WithFewPairsTheNearestDifferentPairIsNamed) {
  // Two people 0.4 apart, a threshold of 0.6 accepts them.
  const std::vector<ProfileSamples> profiles = {person("ann", {at(0), at(0.02f)}), person("bob", {at(0.4f), at(0.42f)})};
  GalleryReportOptions options;
  options.match_threshold = 0.6f;
  const GalleryReport r = report_gallery(profiles, options);
  EXPECT_GT(r.at_match_threshold->far, 0.5);
  EXPECT_NE(r.advice.find("the nearest pair of different people is 0.380 apart"), std::string::npos) << r.advice;
  EXPECT_NE(r.advice.find("ann and bob are nearer each other"), std::string::npos) << r.advice;
}

TEST(GalleryReport, WithEnoughPairsATooLooseThresholdGetsARecommendation) {
  // 20 people 1 apart on a line, 3 embeddings each: 1,710 different pairs.
  std::vector<ProfileSamples> profiles;
  for (int p = 0; p < 20; ++p)
    profiles.push_back(person("p" + std::to_string(p), {at(1.0f * p), at(1.0f * p + 0.05f), at(1.0f * p + 0.1f)}));
  GalleryReportOptions options;
  options.match_threshold = 1.5f;  // accepts neighbours
  const GalleryReport r = report_gallery(profiles, options);
  EXPECT_EQ(r.verification->impostor.size(), 1710u);
  EXPECT_GT(r.at_match_threshold->far, 1e-3);
  EXPECT_LT(*r.recommended_threshold, 1.0f);
  EXPECT_NE(r.advice.find("accepts"), std::string::npos) << r.advice;
  EXPECT_NE(r.advice.find("; recommended 0."), std::string::npos) << r.advice;
}

TEST(GalleryReport, CapsKeepTheBestEmbeddingsAndAreReported) {
  std::vector<StoredEmbedding> many;
  // Quality falls with distance from 0: the best three lie at 0, 0.01, 0.02.
  for (int i = 0; i < 10; ++i) many.push_back(at(0.01f * static_cast<float>(i) + (i >= 3 ? 5.0f : 0.0f), 10.0f - i, i));
  std::vector<ProfileSamples> profiles = {person("ann", many), person("bob", {at(1), at(1.01f)}),
                                          person("cid", {at(2), at(2.01f)})};
  GalleryReportOptions options;
  options.max_per_profile = 3;
  options.max_profiles = 2;
  const GalleryReport r = report_gallery(profiles, options);
  EXPECT_TRUE(r.capped);
  EXPECT_EQ(r.per_profile_cap, 3u);
  EXPECT_EQ(r.profiles_used, 2u);
  EXPECT_EQ(r.left_out_over_cap, 1u);
  EXPECT_EQ(r.embeddings_used, 5u);
  // ann's far-off low-quality embeddings were left out: her pairs are all near.
  EXPECT_LT(r.verification->genuine.back(), 0.05f);

  // The total cap lowers the per-profile one, never below 2.
  options.max_profiles = 10;
  options.max_embeddings = 4;
  const GalleryReport small = report_gallery(profiles, options);
  EXPECT_EQ(small.per_profile_cap, 2u);
  EXPECT_EQ(small.embeddings_used, 6u);
}

}  // namespace
}  // namespace safelynx::gallery
