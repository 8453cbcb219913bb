// How well the live gallery tells its own people apart: the figures of
// recognition_metrics (rank-1 with one photo enrolled, TAR at FAR 1e-2 and
// 1e-3, the closest different profiles, a recommended threshold) over the
// stored embeddings of the named profiles, plus advice in plain words.
// Pure over a list of profiles and their embeddings: the API reads them.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/entities.hpp"
#include "gallery/recognition_metrics.hpp"

namespace safelynx::gallery {

// One labelled identity: a named profile and its stored embeddings.
struct ProfileSamples {
  Uuid id;
  std::string name;
  std::vector<StoredEmbedding> embeddings;
};

// Bounds on the work: every pair of embeddings is kept (n^2 / 2 floats) and
// rank-1 compares each probe with every profile.
struct GalleryReportOptions {
  std::size_t max_profiles = 2000;            // the first ones given; the rest are left out
  std::size_t max_per_profile = 20;           // the best by quality (a gallery keeps 20)
  std::size_t max_embeddings = 4000;          // in all: 8 M pairs, 32 MB; per-profile cap lowered to fit
  std::size_t splits = 10;                    // rank-1's random splits, fewer for large galleries
  float match_threshold = 0.5f;               // the configured one, to say what it gives
};

// A profile of the closest pair, or of the report.
struct ReportedProfile {
  Uuid id;
  std::string name;
};

struct ProfilePair {
  ReportedProfile first;
  ReportedProfile second;
  float distance = 0;
};

struct GalleryReport {
  std::size_t profiles_given = 0;
  std::size_t profiles_used = 0;             // with 2+ embeddings, within max_profiles
  std::size_t skipped_few_embeddings = 0;    // fewer than 2: nothing to probe with
  std::size_t left_out_over_cap = 0;         // beyond max_profiles
  std::size_t embeddings_used = 0;
  std::size_t per_profile_cap = 0;           // what max_per_profile became under max_embeddings
  bool capped = false;                       // some embeddings or profiles were left out
  std::size_t splits = 0;
  // Only with at least two profiles used.
  std::optional<IdentificationResult> rank1;  // one shot, mean rule
  std::optional<VerificationResult> verification;  // at FAR 1e-2 and kRecommendedFar
  std::optional<OperatingPoint> at_match_threshold;
  std::optional<ProfilePair> closest_embeddings;  // the two nearest embeddings of different profiles
  std::optional<ProfilePair> closest_means;       // the two nearest profiles' means
  std::optional<float> recommended_threshold;
  std::string advice;
};

GalleryReport report_gallery(std::span<const ProfileSamples> profiles, const GalleryReportOptions& options = {});

}  // namespace safelynx::gallery
