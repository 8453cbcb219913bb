#include "gallery/recognition_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

namespace safelynx::gallery {
namespace {

void check(const LabelledDescriptors& set, std::span<const FaceDescriptor> other, const char* what) {
  if (set.descriptors.size() != set.labels.size())
    throw std::invalid_argument("recognition metrics: as many labels as descriptors are needed");
  if (!other.empty() && other.size() != set.descriptors.size())
    throw std::invalid_argument(std::string("recognition metrics: ") + what + " must match the set, one for one");
}

// The indices of each person's descriptors, by label (sorted, so the order
// does not depend on how the set was listed).
std::map<std::size_t, std::vector<std::size_t>> by_person(const LabelledDescriptors& set) {
  std::map<std::size_t, std::vector<std::size_t>> people;
  for (std::size_t i = 0; i < set.labels.size(); ++i) people[set.labels[i]].push_back(i);
  return people;
}

// splitmix64: a tiny generator of our own, so that splits are the same with
// every standard library (std::shuffle's algorithm is not specified).
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

void shuffle(std::vector<std::size_t>& items, SplitMix64& random) {
  // Fisher-Yates; the modulo's bias is below 1e-15 for sets this small.
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[random.next() % i]);
}

FaceDescriptor mean_of(const LabelledDescriptors& set, std::span<const std::size_t> indices) {
  FaceDescriptor mean{};
  for (std::size_t i : indices)
    for (std::size_t k = 0; k < kDescriptorSize; ++k) mean[k] += set.descriptors[i][k];
  for (float& v : mean) v /= static_cast<float>(indices.size());
  return mean;
}

// One person's enrolment in one split: the descriptors compared with probes.
struct Enrolled {
  std::size_t label;
  std::vector<FaceDescriptor> references;  // the mean, or each enrolled descriptor
};

float distance_to(const Enrolled& person, const FaceDescriptor& probe) {
  float best = std::numeric_limits<float>::infinity();
  for (const FaceDescriptor& r : person.references) best = std::min(best, descriptor_distance(r, probe));
  return best;
}

}  // namespace

const char* to_string(EnrolmentRule rule) { return rule == EnrolmentRule::Mean ? "mean" : "nearest"; }

IdentificationResult identify_rank1(const LabelledDescriptors& set, const IdentificationOptions& options,
                                    std::span<const FaceDescriptor> probe_descriptors) {
  check(set, probe_descriptors, "probe descriptors");
  if (options.shots == 0 || options.splits == 0)
    throw std::invalid_argument("identification needs at least one shot and one split");
  const std::span<const FaceDescriptor> probes = probe_descriptors.empty() ? set.descriptors : probe_descriptors;
  std::map<std::size_t, std::vector<std::size_t>> people = by_person(set);
  std::erase_if(people, [&](const auto& person) { return person.second.size() <= options.shots; });

  IdentificationResult result;
  result.options = options;
  result.identities = people.size();
  for (std::size_t split = 0; split < options.splits; ++split) {
    std::vector<Enrolled> gallery;
    std::vector<std::pair<std::size_t, std::size_t>> split_probes;  // (descriptor, label)
    for (const auto& [label, indices] : people) {
      // Each person's shuffle depends on the seed, the split and the person
      // only, so adding a person leaves the others' splits as they were.
      SplitMix64 random{options.seed ^ (split * 0x100000001b3ULL) ^ (label * 0x9e3779b97f4a7c15ULL)};
      std::vector<std::size_t> order = indices;
      shuffle(order, random);
      const std::span<const std::size_t> enrolled(order.data(), options.shots);
      Enrolled person{label, {}};
      if (options.rule == EnrolmentRule::Mean) {
        person.references.push_back(mean_of(set, enrolled));
      } else {
        for (std::size_t i : enrolled) person.references.push_back(set.descriptors[i]);
      }
      gallery.push_back(std::move(person));
      for (std::size_t i = options.shots; i < order.size(); ++i) split_probes.emplace_back(order[i], label);
    }
    for (const auto& [index, label] : split_probes) {
      // Nearest and second-nearest person; ties go to the first listed.
      float best = std::numeric_limits<float>::infinity(), second = best;
      std::size_t best_label = 0;
      for (const Enrolled& person : gallery) {
        const float d = distance_to(person, probes[index]);
        if (d < best) {
          second = best;
          best = d;
          best_label = person.label;
        } else if (d < second) {
          second = d;
        }
      }
      ++result.probes;
      if (best_label == label) ++result.correct;
      // Alone in the gallery, a person has no second to lead.
      if (std::isfinite(second)) (best_label == label ? result.correct_margins : result.wrong_margins).push_back(second - best);
    }
  }
  std::sort(result.correct_margins.begin(), result.correct_margins.end());
  std::sort(result.wrong_margins.begin(), result.wrong_margins.end());
  return result;
}

OperatingPoint rates_at(std::span<const float> genuine, std::span<const float> impostor, float threshold) {
  const auto below = [&](std::span<const float> sorted) {
    const auto accepted = std::lower_bound(sorted.begin(), sorted.end(), threshold) - sorted.begin();
    return sorted.empty() ? 0.0 : static_cast<double>(accepted) / static_cast<double>(sorted.size());
  };
  OperatingPoint point;
  point.threshold = threshold;
  point.tar = below(genuine);
  point.far = below(impostor);
  return point;
}

OperatingPoint operating_point(std::span<const float> genuine, std::span<const float> impostor, double target_far) {
  // Accepting what lies below the (m+1)-th nearest different-person pair lets
  // at most m of them through: m = floor(target * pairs).
  const auto allowed = static_cast<std::size_t>(std::floor(target_far * static_cast<double>(impostor.size())));
  const float threshold = allowed < impostor.size() ? impostor[allowed] : std::numeric_limits<float>::infinity();
  OperatingPoint point = rates_at(genuine, impostor, threshold);
  point.target_far = target_far;
  return point;
}

VerificationResult verify_pairs(const LabelledDescriptors& set, std::span<const double> target_fars,
                                std::span<const FaceDescriptor> second) {
  check(set, second, "the second descriptors");
  const std::span<const FaceDescriptor> other = second.empty() ? set.descriptors : second;
  VerificationResult result;
  for (std::size_t i = 0; i < set.descriptors.size(); ++i) {
    for (std::size_t j = i + 1; j < set.descriptors.size(); ++j) {
      const float d = descriptor_distance(set.descriptors[i], other[j]);
      (set.labels[i] == set.labels[j] ? result.genuine : result.impostor).push_back(d);
    }
  }
  std::sort(result.genuine.begin(), result.genuine.end());
  std::sort(result.impostor.begin(), result.impostor.end());
  for (double far : target_fars) result.points.push_back(operating_point(result.genuine, result.impostor, far));
  return result;
}

double percentile(std::span<const float> sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double position = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(position));
  const std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  return sorted[lower] + (static_cast<double>(sorted[upper]) - sorted[lower]) * fraction;
}

std::optional<ClosestPair> closest_different_descriptors(const LabelledDescriptors& set) {
  check(set, {}, "");
  std::optional<ClosestPair> closest;
  for (std::size_t i = 0; i < set.descriptors.size(); ++i) {
    for (std::size_t j = i + 1; j < set.descriptors.size(); ++j) {
      if (set.labels[i] == set.labels[j]) continue;
      const float d = descriptor_distance(set.descriptors[i], set.descriptors[j]);
      if (!closest || d < closest->distance) closest = ClosestPair{i, j, d};
    }
  }
  return closest;
}

std::optional<ClosestPair> closest_different_means(const LabelledDescriptors& set) {
  check(set, {}, "");
  std::vector<std::pair<std::size_t, FaceDescriptor>> means;
  for (const auto& [label, indices] : by_person(set)) means.emplace_back(label, mean_of(set, indices));
  std::optional<ClosestPair> closest;
  for (std::size_t i = 0; i < means.size(); ++i) {
    for (std::size_t j = i + 1; j < means.size(); ++j) {
      const float d = descriptor_distance(means[i].second, means[j].second);
      if (!closest || d < closest->distance) closest = ClosestPair{means[i].first, means[j].first, d};
    }
  }
  return closest;
}

RecognitionReport evaluate_recognition(const LabelledDescriptors& set, std::span<const std::size_t> shots,
                                       std::size_t splits) {
  RecognitionReport report;
  for (std::size_t k : shots) {
    // With one shot the mean of the enrolled is the enrolled: one rule will do.
    for (EnrolmentRule rule : {EnrolmentRule::Mean, EnrolmentRule::Nearest}) {
      if (k == 1 && rule == EnrolmentRule::Nearest) continue;
      IdentificationOptions options;
      options.shots = k;
      options.rule = rule;
      options.splits = splits;
      report.identification.push_back(identify_rank1(set, options));
    }
  }
  const double fars[] = {1e-2, kRecommendedFar};
  report.verification = verify_pairs(set, fars);
  report.closest_descriptors = closest_different_descriptors(set);
  report.closest_means = closest_different_means(set);
  report.recommended_threshold = report.verification.points.back().threshold;
  return report;
}

NegativeRadiusResult negative_example_radii(const LabelledDescriptors& set, float confusion_distance,
                                            std::span<const float> radii) {
  check(set, {}, "");
  const auto people = by_person(set);
  NegativeRadiusResult result;
  result.points.resize(radii.size());
  for (std::size_t r = 0; r < radii.size(); ++r) result.points[r].radius = radii[r];
  for (std::size_t negative = 0; negative < set.descriptors.size(); ++negative) {
    const FaceDescriptor& face = set.descriptors[negative];
    const std::vector<std::size_t>& own_people = people.at(set.labels[negative]);
    for (const auto& [label, faces] : people) {
      if (label == set.labels[negative]) continue;
      std::vector<float> to_profile;  // A's faces, from the negative
      for (std::size_t i : faces) to_profile.push_back(descriptor_distance(face, set.descriptors[i]));
      if (*std::min_element(to_profile.begin(), to_profile.end()) > confusion_distance) continue;
      std::vector<float> to_others;  // B's other faces, from the negative
      for (std::size_t i : own_people)
        if (i != negative) to_others.push_back(descriptor_distance(face, set.descriptors[i]));
      ++result.confusions;
      for (NegativeRadiusPoint& point : result.points) {
        const auto within = [&](const std::vector<float>& d) {
          if (d.empty()) return 0.0;
          return static_cast<double>(std::count_if(d.begin(), d.end(), [&](float x) { return x <= point.radius; })) /
                 static_cast<double>(d.size());
        };
        point.own_blocked += within(to_profile);
        point.confused_blocked += within(to_others);
      }
    }
  }
  if (result.confusions > 0)
    for (NegativeRadiusPoint& point : result.points) {
      point.own_blocked /= static_cast<double>(result.confusions);
      point.confused_blocked /= static_cast<double>(result.confusions);
    }
  return result;
}

}  // namespace safelynx::gallery
