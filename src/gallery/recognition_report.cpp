#include "gallery/recognition_report.hpp"

#include <algorithm>
#include <cstdio>

namespace safelynx::gallery {
namespace {

// Distance computations rank-1 may spend (probes x profiles x splits): about
// a second on the 2-core machine.
constexpr double kRank1Budget = 2e7;
// Below this many different-profile pairs, FAR 1e-3 is one or two pairs.
constexpr std::size_t kFewImpostorPairs = 1000;

std::string format(const char* pattern, double a, double b = 0, double c = 0) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, a, b, c);
  return text;
}

// The best `cap` by quality: the ones the gallery would match with first.
std::vector<FaceDescriptor> best_descriptors(const std::vector<StoredEmbedding>& embeddings, std::size_t cap) {
  std::vector<const StoredEmbedding*> order;
  for (const StoredEmbedding& e : embeddings) order.push_back(&e);
  // Ties by id, so the choice repeats.
  std::sort(order.begin(), order.end(), [](const StoredEmbedding* a, const StoredEmbedding* b) {
    return a->quality != b->quality ? a->quality > b->quality : a->id < b->id;
  });
  order.resize(std::min(order.size(), cap));
  std::vector<FaceDescriptor> out;
  for (const StoredEmbedding* e : order) out.push_back(e->descriptor);
  return out;
}

std::string advise(const GalleryReport& r, const GalleryReportOptions& options) {
  if (r.profiles_used < 2)
    return "too few people with several photos to measure: enrol at least 2 people with 2+ photos each (" +
           std::to_string(r.profiles_used) + " named profile(s) have 2+ embeddings now)";
  std::string advice;
  const OperatingPoint& at = *r.at_match_threshold;
  const std::vector<float>& impostor = r.verification->impostor;
  if (impostor.size() < kFewImpostorPairs) {
    // A "threshold at FAR 1e-3" of a few pairs is just the nearest one: no advice to follow.
    advice = format("only %.0f pairs of different people: too few to recommend a threshold (false-accept rate 1e-3 "
                    "needs 1,000 or more, about 16 people with 3 photos each); the configured match threshold %.3f "
                    "accepts %.2f%% of them",
                    static_cast<double>(impostor.size()), options.match_threshold, 100 * at.far);
    advice += format(" and %.1f%% of pairs of the same person", 100 * at.tar);
    if (at.far > 0) advice += format("; the nearest pair of different people is %.3f apart", impostor.front());
  } else if (at.far > kRecommendedFar) {
    advice = format("the configured match threshold %.3f accepts %.2f%% of pairs of different people; "
                    "recommended %.3f (false-accept rate 1e-3)",
                    options.match_threshold, 100 * at.far, *r.recommended_threshold);
  } else {
    advice = format("the configured match threshold %.3f accepts %.2f%% of pairs of different people and "
                    "%.1f%% of pairs of the same person",
                    options.match_threshold, 100 * at.far, 100 * at.tar);
    advice += format("; the threshold at false-accept rate 1e-3 is %.3f", *r.recommended_threshold);
  }
  if (r.closest_means && r.closest_means->distance < options.match_threshold)
    advice += "; " + r.closest_means->first.name + " and " + r.closest_means->second.name +
              format(" are nearer each other (%.3f) than the match threshold: check they are different people",
                     r.closest_means->distance);
  return advice;
}

}  // namespace

GalleryReport report_gallery(std::span<const ProfileSamples> profiles, const GalleryReportOptions& options) {
  GalleryReport report;
  report.profiles_given = profiles.size();
  std::vector<const ProfileSamples*> used;
  for (const ProfileSamples& p : profiles) {
    if (p.embeddings.size() < 2) {
      ++report.skipped_few_embeddings;
    } else if (used.size() >= options.max_profiles) {
      ++report.left_out_over_cap;
    } else {
      used.push_back(&p);
    }
  }
  report.profiles_used = used.size();
  // At least 2 each: one to enrol, one to probe.
  report.per_profile_cap =
      used.empty() ? options.max_per_profile
                   : std::max<std::size_t>(2, std::min(options.max_per_profile, options.max_embeddings / used.size()));

  std::vector<FaceDescriptor> descriptors;
  std::vector<std::size_t> labels;
  for (std::size_t label = 0; label < used.size(); ++label) {
    if (used[label]->embeddings.size() > report.per_profile_cap) report.capped = true;
    for (const FaceDescriptor& d : best_descriptors(used[label]->embeddings, report.per_profile_cap)) {
      descriptors.push_back(d);
      labels.push_back(label);
    }
  }
  report.capped = report.capped || report.left_out_over_cap > 0;
  report.embeddings_used = descriptors.size();
  if (used.size() < 2) {
    report.advice = advise(report, options);
    return report;
  }

  const LabelledDescriptors set{descriptors, labels};
  const double work = static_cast<double>(descriptors.size() - used.size()) * static_cast<double>(used.size());
  report.splits = std::clamp<std::size_t>(static_cast<std::size_t>(kRank1Budget / std::max(work, 1.0)), 1,
                                          std::max<std::size_t>(options.splits, 1));
  IdentificationOptions rank1;
  rank1.shots = 1;
  rank1.splits = report.splits;
  report.rank1 = identify_rank1(set, rank1);
  const double fars[] = {1e-2, kRecommendedFar};
  report.verification = verify_pairs(set, fars);
  report.at_match_threshold = rates_at(report.verification->genuine, report.verification->impostor, options.match_threshold);
  report.recommended_threshold = report.verification->points.back().threshold;

  const auto profile = [&](std::size_t label) { return ReportedProfile{used[label]->id, used[label]->name}; };
  if (const auto c = closest_different_descriptors(set))
    report.closest_embeddings = ProfilePair{profile(labels[c->first]), profile(labels[c->second]), c->distance};
  if (const auto c = closest_different_means(set))
    report.closest_means = ProfilePair{profile(c->first), profile(c->second), c->distance};
  report.advice = advise(report, options);
  return report;
}

}  // namespace safelynx::gallery
