// How well descriptors tell people apart, from labelled descriptors:
// identification rank-1 with k enrolled photos per person, verification over
// every pair (true-accept rate at a fixed false-accept rate, and the threshold
// that gives it), the distance distributions, the closest pair of different
// people. Pure computation, no I/O: `safelynx eval` feeds it photos of a
// folder, a gallery's own report can feed it profiles. Verification keeps
// every pair's distance: n descriptors cost n^2 / 2 floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "domain/face.hpp"

namespace safelynx::gallery {

// Descriptors and who each one is (parallel spans of the same length).
struct LabelledDescriptors {
  std::span<const FaceDescriptor> descriptors;
  std::span<const std::size_t> labels;
};

// How a person enrolled with k descriptors is compared with a probe: the
// distance to the mean of the k, or to the nearest of them.
enum class EnrolmentRule { Mean, Nearest };
const char* to_string(EnrolmentRule rule);

struct IdentificationOptions {
  std::size_t shots = 1;  // descriptors enrolled per person, the rest are probes
  EnrolmentRule rule = EnrolmentRule::Mean;
  std::size_t splits = 10;  // random choices of the enrolled ones, averaged
  std::uint64_t seed = 1;   // the same seed gives the same splits everywhere
};

struct IdentificationResult {
  IdentificationOptions options;
  std::size_t identities = 0;  // people with more than `shots` descriptors; the others are left out
  std::size_t probes = 0;      // over all splits
  std::size_t correct = 0;
  // For each correct answer: the second-nearest person's distance minus the
  // nearest's (how clearly it won). Sorted.
  std::vector<float> correct_margins;
  // The same for each wrong answer: how clearly the wrong person won. A rule
  // "the nearest must lead the second by m" turns away the answers whose
  // margin is below m, right and wrong. Sorted.
  std::vector<float> wrong_margins;

  double rank1() const { return probes == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(probes); }
};

// Each probe is named by its nearest enrolled person. `probe_descriptors`,
// when given (same length and order as `set`), are what the probes are
// described by instead: enrolled with one descriptor version, probed with
// another, as a gallery is after its descriptors change.
IdentificationResult identify_rank1(const LabelledDescriptors& set, const IdentificationOptions& options,
                                    std::span<const FaceDescriptor> probe_descriptors = {});

// A pair is accepted when its distance is below `threshold`.
struct OperatingPoint {
  double target_far = 0;
  float threshold = 0;  // infinite when there are no different-person pairs
  double tar = 0;       // accepted same-person pairs / all of them
  double far = 0;       // accepted different-person pairs / all of them
};

struct VerificationResult {
  std::vector<float> genuine;   // same-person pair distances, sorted
  std::vector<float> impostor;  // different-person pair distances, sorted
  std::vector<OperatingPoint> points;  // one per target FAR asked for
};

// Every pair (i < j) of the set; with `second` (same length and order), the
// pair's distance is between descriptor i of the set and j of `second`.
VerificationResult verify_pairs(const LabelledDescriptors& set, std::span<const double> target_fars,
                                std::span<const FaceDescriptor> second = {});

// The largest threshold whose false-accept rate is at most `target_far`, and
// the true-accept rate it gives (both lists sorted).
OperatingPoint operating_point(std::span<const float> genuine, std::span<const float> impostor, double target_far);

// The rates a given threshold gives (both lists sorted).
OperatingPoint rates_at(std::span<const float> genuine, std::span<const float> impostor, float threshold);

// The `p`-th percentile (0-100) of sorted values, interpolated linearly
// between closest ranks (numpy's default); NaN when empty.
double percentile(std::span<const float> sorted, double p);

// The two nearest descriptors of different people (indices into the set),
// or the two nearest people's means (labels); none with fewer than two people.
struct ClosestPair {
  std::size_t first = 0;
  std::size_t second = 0;
  float distance = 0;
};
std::optional<ClosestPair> closest_different_descriptors(const LabelledDescriptors& set);
std::optional<ClosestPair> closest_different_means(const LabelledDescriptors& set);

// What a negative example blocks, at each radius. A face of person B taken
// for A (within `confusion_distance` of one of A's faces) is what "this is
// not A" feedback turns into a negative example of A; from then on A is not
// named for faces within the radius of it. Over every such confusion in the
// set, averaged: the share of A's own faces the radius blocks (A wrongly not
// named) and the share of B's other faces it blocks (the confusion no longer
// made). Every ordered pair of a face and another person: n^2 distances.
struct NegativeRadiusPoint {
  float radius = 0;
  double own_blocked = 0;       // of A's faces
  double confused_blocked = 0;  // of B's other faces
};
struct NegativeRadiusResult {
  std::size_t confusions = 0;
  std::vector<NegativeRadiusPoint> points;  // one per radius asked, in order
};
NegativeRadiusResult negative_example_radii(const LabelledDescriptors& set, float confusion_distance,
                                            std::span<const float> radii);

// The match threshold recommended from a verification: the one at this FAR.
inline constexpr double kRecommendedFar = 1e-3;

struct RecognitionReport {
  std::vector<IdentificationResult> identification;  // for each shots asked, mean rule then nearest
  VerificationResult verification;                   // at FAR 1e-2 and 1e-3
  std::optional<ClosestPair> closest_descriptors;
  std::optional<ClosestPair> closest_means;
  float recommended_threshold = 0;  // verification's threshold at kRecommendedFar
};

RecognitionReport evaluate_recognition(const LabelledDescriptors& set, std::span<const std::size_t> shots,
                                       std::size_t splits);

}  // namespace safelynx::gallery
