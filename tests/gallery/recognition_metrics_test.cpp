// Recognition metrics on synthetic descriptors whose answers are known.
#include "gallery/recognition_metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace safelynx::gallery {
namespace {

// A descriptor at (x, y) in its first two coordinates, zero elsewhere.
FaceDescriptor at(float x, float y = 0) {
  FaceDescriptor d{};
  d[0] = x;
  d[1] = y;
  return d;
}

struct Set {
  std::vector<FaceDescriptor> descriptors;
  std::vector<std::size_t> labels;

  void add(std::size_t label, FaceDescriptor d, int copies = 1) {
    for (int i = 0; i < copies; ++i) {
      descriptors.push_back(d);
      labels.push_back(label);
    }
  }
  LabelledDescriptors view() const { return {descriptors, labels}; }
};

// Three people, each always described the same: 0, 1 and 3 on a line.
Set three_on_a_line() {
  Set set;
  set.add(0, at(0), 3);
  set.add(1, at(1), 3);
  set.add(2, at(3), 3);
  return set;
}

TEST(Identification, NamesEveryProbeAndMeasuresTheMargin) {
  const Set set = three_on_a_line();
  IdentificationOptions options;
  options.shots = 1;
  options.splits = 10;
  const IdentificationResult r = identify_rank1(set.view(), options);
  EXPECT_EQ(r.identities, 3u);
  EXPECT_EQ(r.probes, 60u);  // 2 probes per person per split
  EXPECT_EQ(r.correct, 60u);
  EXPECT_DOUBLE_EQ(r.rank1(), 1.0);
  // Person 0 and 1 are 1 apart, person 2 is 2 from the nearest other.
  ASSERT_EQ(r.correct_margins.size(), 60u);
  EXPECT_EQ(std::count(r.correct_margins.begin(), r.correct_margins.end(), 1.0f), 40);
  EXPECT_EQ(std::count(r.correct_margins.begin(), r.correct_margins.end(), 2.0f), 20);
  EXPECT_TRUE(r.wrong_margins.empty());
}

TEST(Identification, ProbesDescribedAnotherWayCanBeMisnamed) {
  const Set set = three_on_a_line();
  // Person 0's probes drift to 0.9, next to person 1.
  std::vector<FaceDescriptor> probes = set.descriptors;
  for (std::size_t i = 0; i < 3; ++i) probes[i] = at(0.9f);
  IdentificationOptions options;
  options.splits = 4;
  const IdentificationResult r = identify_rank1(set.view(), options, probes);
  EXPECT_EQ(r.probes, 24u);
  EXPECT_EQ(r.correct, 16u);
  EXPECT_NEAR(r.rank1(), 2.0 / 3, 1e-12);
  ASSERT_EQ(r.wrong_margins.size(), 8u);
  // Person 1 (0.1 away) led the true person (0.9 away) by 0.8.
  EXPECT_NEAR(r.wrong_margins.front(), 0.8f, 1e-6);
}

TEST(Identification, PeopleWithTooFewPhotosAreLeftOut) {
  Set set = three_on_a_line();
  set.add(7, at(50), 1);  // one photo: nothing left to probe with after one shot
  IdentificationOptions options;
  options.splits = 2;
  const IdentificationResult r = identify_rank1(set.view(), options);
  EXPECT_EQ(r.identities, 3u);
  EXPECT_EQ(r.probes, 12u);
  options.shots = 3;
  EXPECT_EQ(identify_rank1(set.view(), options).identities, 0u);
}

// Person 0 looks two ways (at 0 and at 2), person 1 sits between them: the
// mean of person 0's enrolled photos can land on person 1, the nearest of
// them never does.
TEST(Identification, NearestEnrolledBeatsTheMeanForAPersonWhoLooksTwoWays) {
  Set set;
  set.add(0, at(0), 3);
  set.add(0, at(2), 3);
  set.add(1, at(1, 0.05f), 6);
  IdentificationOptions options;
  options.shots = 4;  // always both looks of person 0 among the enrolled
  options.splits = 10;
  options.rule = EnrolmentRule::Nearest;
  EXPECT_DOUBLE_EQ(identify_rank1(set.view(), options).rank1(), 1.0);
  options.rule = EnrolmentRule::Mean;
  EXPECT_LT(identify_rank1(set.view(), options).rank1(), 1.0);
}

TEST(Identification, SplitsAreTheSameForTheSameSeed) {
  Set set;
  for (std::size_t person = 0; person < 4; ++person)
    for (int i = 0; i < 6; ++i) set.add(person, at(static_cast<float>(person) + 0.3f * static_cast<float>(i % 3), 0.1f * i));
  IdentificationOptions options;
  options.splits = 7;
  const IdentificationResult a = identify_rank1(set.view(), options), b = identify_rank1(set.view(), options);
  EXPECT_EQ(a.correct, b.correct);
  EXPECT_EQ(a.correct_margins, b.correct_margins);
}

TEST(Verification, ThresholdLetsThroughAtMostTheTargetShare) {
  const std::vector<float> genuine = {0.1f, 0.2f, 0.3f, 0.4f};
  std::vector<float> impostor = {0.25f, 0.32f, 0.38f};
  while (impostor.size() < 1000) impostor.push_back(0.6f + 0.0005f * static_cast<float>(impostor.size()));

  const OperatingPoint strict = operating_point(genuine, impostor, 1e-3);
  EXPECT_FLOAT_EQ(strict.threshold, 0.32f);  // one pair (0.25) of 1000 gets through
  EXPECT_DOUBLE_EQ(strict.far, 1e-3);
  EXPECT_DOUBLE_EQ(strict.tar, 0.75);
  EXPECT_DOUBLE_EQ(strict.target_far, 1e-3);

  const OperatingPoint loose = operating_point(genuine, impostor, 1e-2);
  EXPECT_DOUBLE_EQ(loose.far, 1e-2);
  EXPECT_DOUBLE_EQ(loose.tar, 1.0);

  const OperatingPoint none = operating_point(genuine, impostor, 0);
  EXPECT_FLOAT_EQ(none.threshold, 0.25f);
  EXPECT_DOUBLE_EQ(none.far, 0);
  EXPECT_DOUBLE_EQ(none.tar, 0.5);
}

TEST(Verification, TiedImpostorsAreNotLetThroughTogether) {
  const std::vector<float> genuine = {0.1f};
  const std::vector<float> impostor(100, 0.3f);
  const OperatingPoint p = operating_point(genuine, impostor, 0.05);
  EXPECT_DOUBLE_EQ(p.far, 0) << "all 100 are at 0.3: letting one through lets them all through";
  EXPECT_DOUBLE_EQ(p.tar, 1);
}

TEST(Verification, WithoutDifferentPeopleEverythingIsAccepted) {
  const std::vector<float> genuine = {0.1f, 0.9f};
  const OperatingPoint p = operating_point(genuine, {}, 1e-3);
  EXPECT_TRUE(std::isinf(p.threshold));
  EXPECT_DOUBLE_EQ(p.tar, 1);
}

TEST(Verification, EveryPairCountsOnce) {
  Set set;
  set.add(0, at(0));
  set.add(0, at(0.5f));
  set.add(1, at(2));
  set.add(1, at(2, 1));
  set.add(2, at(10));
  const double fars[] = {1e-2};
  const VerificationResult r = verify_pairs(set.view(), fars);
  ASSERT_EQ(r.genuine.size(), 2u);
  ASSERT_EQ(r.impostor.size(), 8u);
  EXPECT_FLOAT_EQ(r.genuine[0], 0.5f);
  EXPECT_FLOAT_EQ(r.genuine[1], 1.0f);
  EXPECT_FLOAT_EQ(r.impostor[0], 1.5f);
  EXPECT_FLOAT_EQ(r.impostor.back(), 10.0f);
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_FLOAT_EQ(r.points[0].threshold, 1.5f);
}

TEST(Verification, SecondDescriptorsArePairedWithTheFirst) {
  Set set;
  set.add(0, at(0));
  set.add(0, at(0));
  set.add(1, at(4));
  const std::vector<FaceDescriptor> shifted = {at(1), at(1), at(5)};
  const VerificationResult r = verify_pairs(set.view(), {}, shifted);
  ASSERT_EQ(r.genuine.size(), 1u);
  EXPECT_FLOAT_EQ(r.genuine[0], 1.0f);  // set[0] to shifted[1]
  ASSERT_EQ(r.impostor.size(), 2u);
  EXPECT_FLOAT_EQ(r.impostor[0], 5.0f);
  EXPECT_FLOAT_EQ(r.impostor[1], 5.0f);
}

TEST(NegativeExamples, AConfusedFaceBlocksThePersonsOwnFacesOnlyWithinTheRadius) {
  // A at 0 and 0.2; B at 0.5 and 0.9.
  Set set;
  set.add(0, at(0));
  set.add(0, at(0.2f));
  set.add(1, at(0.5f));
  set.add(1, at(0.9f));
  const float radii[] = {0.1f, 0.35f, 0.6f};
  const NegativeRadiusResult r = negative_example_radii(set.view(), 0.4f, radii);
  // B's 0.5 face is taken for A (0.3 from A's 0.2), and A's 0.2 face for B.
  ASSERT_EQ(r.confusions, 2u);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_DOUBLE_EQ(r.points[0].own_blocked, 0.0);
  EXPECT_DOUBLE_EQ(r.points[0].confused_blocked, 0.0);
  // 0.35: each blocks one of the two faces of the profile (0.3 away, the other 0.5 or 0.7);
  // of the confused person's other face, 0.2 away for A, 0.4 for B.
  EXPECT_DOUBLE_EQ(r.points[1].own_blocked, 0.5);
  EXPECT_DOUBLE_EQ(r.points[1].confused_blocked, 0.5);
  EXPECT_DOUBLE_EQ(r.points[2].own_blocked, 0.75);
  EXPECT_DOUBLE_EQ(r.points[2].confused_blocked, 1.0);
  EXPECT_EQ(negative_example_radii(set.view(), 0.1f, radii).confusions, 0u);
}

TEST(Percentile, InterpolatesBetweenClosestRanks) {
  const std::vector<float> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_NEAR(percentile(v, 90), 3.7, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4);
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}

TEST(ClosestPairs, OfDescriptorsAndOfPeoplesMeans) {
  Set set;
  set.add(0, at(0));
  set.add(0, at(5));
  set.add(1, at(3.5f));
  set.add(2, at(10));
  const auto descriptors = closest_different_descriptors(set.view());
  ASSERT_TRUE(descriptors);
  EXPECT_EQ(descriptors->first, 1u);
  EXPECT_EQ(descriptors->second, 2u);
  EXPECT_FLOAT_EQ(descriptors->distance, 1.5f);
  const auto means = closest_different_means(set.view());  // person 0's mean is 2.5
  ASSERT_TRUE(means);
  EXPECT_EQ(means->first, 0u);
  EXPECT_EQ(means->second, 1u);
  EXPECT_FLOAT_EQ(means->distance, 1.0f);

  Set alone;
  alone.add(4, at(1), 3);
  EXPECT_FALSE(closest_different_descriptors(alone.view()));
  EXPECT_FALSE(closest_different_means(alone.view()));
}

TEST(RecognitionReport, OneRuleForOneShotAndTheThresholdAtTheRecommendedFar) {
  Set set;
  for (std::size_t person = 0; person < 3; ++person)
    for (int i = 0; i < 8; ++i) set.add(person, at(3.0f * static_cast<float>(person) + 0.1f * static_cast<float>(i)));
  const std::size_t shots[] = {1, 5};
  const RecognitionReport report = evaluate_recognition(set.view(), shots, 3);
  ASSERT_EQ(report.identification.size(), 3u);
  EXPECT_EQ(report.identification[0].options.shots, 1u);
  EXPECT_EQ(report.identification[1].options.rule, EnrolmentRule::Mean);
  EXPECT_EQ(report.identification[2].options.rule, EnrolmentRule::Nearest);
  ASSERT_EQ(report.verification.points.size(), 2u);
  EXPECT_DOUBLE_EQ(report.verification.points[1].target_far, kRecommendedFar);
  EXPECT_FLOAT_EQ(report.recommended_threshold, report.verification.points[1].threshold);
  // People are 3 apart and at most 0.7 wide: the closest different pair is 2.3.
  ASSERT_TRUE(report.closest_descriptors);
  EXPECT_NEAR(report.closest_descriptors->distance, 2.3f, 1e-5);
}

TEST(RecognitionMetrics, MismatchedInputsAreRefused) {
  const std::vector<FaceDescriptor> descriptors = {at(0), at(1)};
  const std::vector<std::size_t> labels = {0};
  EXPECT_THROW(closest_different_descriptors({descriptors, labels}), std::invalid_argument);
  const std::vector<std::size_t> two = {0, 1};
  const std::vector<FaceDescriptor> three = {at(0), at(1), at(2)};
  EXPECT_THROW(identify_rank1({descriptors, two}, {}, three), std::invalid_argument);
  IdentificationOptions no_shots;
  no_shots.shots = 0;
  EXPECT_THROW(identify_rank1({descriptors, two}, no_shots), std::invalid_argument);
}

}  // namespace
}  // namespace safelynx::gallery
