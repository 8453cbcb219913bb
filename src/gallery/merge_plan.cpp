#include "gallery/merge_plan.hpp"

#include <algorithm>
#include <set>

#include "domain/profile.hpp"

namespace safelynx::gallery {
namespace {

std::string label_of(const Profile& profile) {
  return profile.name ? *profile.name : "unnamed profile " + profile.id.to_string().substr(0, 8);
}

}  // namespace

int merge_precedence(Classification classification) {
  switch (classification) {
    case Classification::Flagged: return 3;
    case Classification::Known: return 2;
    case Classification::Unknown: return 1;
    case Classification::Trusted: return 0;
  }
  return 3;  // a value from a newer build: treat it as a warning
}

MergePlan plan_merge(const Profile& target, std::span<const Profile> sources, std::size_t capacity) {
  MergePlan plan;
  Profile& merged = plan.merged;
  merged = target;
  std::vector<const Profile*> all{&target};
  for (const Profile& source : sources) all.push_back(&source);

  // The target's name, or the first source's when the target has none.
  std::vector<std::string> names;
  for (const Profile* p : all) {
    if (p->name && std::find(names.begin(), names.end(), *p->name) == names.end()) names.push_back(*p->name);
    if (!merged.name && p->name) merged.name = p->name;
  }
  if (names.size() > 1) plan.conflicts.push_back({"name", names, *merged.name});

  std::vector<std::string> classifications;
  for (const Profile* p : all) {
    const std::string c(to_string(p->classification));
    if (std::find(classifications.begin(), classifications.end(), c) == classifications.end())
      classifications.push_back(c);
    if (merge_precedence(p->classification) > merge_precedence(merged.classification))
      merged.classification = p->classification;
  }
  if (classifications.size() > 1)
    plan.conflicts.push_back({"classification", classifications, std::string(to_string(merged.classification))});

  std::set<std::string> tags(target.tags.begin(), target.tags.end());
  std::vector<std::string> with_notes;
  if (!target.notes.empty()) with_notes.push_back(label_of(target));
  for (const Profile& source : sources) {
    tags.insert(source.tags.begin(), source.tags.end());
    if (source.notes.empty()) continue;
    // Each source's notes under its name, so the reader knows whose they were.
    if (!merged.notes.empty()) merged.notes += "\n\n";
    merged.notes += "From " + label_of(source) + ":\n" + source.notes;
    with_notes.push_back(label_of(source));
  }
  merged.tags.assign(tags.begin(), tags.end());
  if (with_notes.size() > 1) plan.conflicts.push_back({"notes", with_notes, "combined"});
  if (merged.notes.size() > kMaxNotesLength)
    plan.over_limits.push_back("the combined notes would be " + std::to_string(merged.notes.size()) +
                               " bytes, more than " + std::to_string(kMaxNotesLength) + ": shorten them first");
  if (merged.tags.size() > kMaxTags)
    plan.over_limits.push_back("the combined tags would be " + std::to_string(merged.tags.size()) +
                               ", more than " + std::to_string(kMaxTags) + ": remove some first");

  // What the storage merge will do to the counts and seen times.
  std::uint64_t embeddings = target.embedding_count;
  for (const Profile& source : sources) {
    merged.sighting_count += source.sighting_count;
    embeddings += source.embedding_count;
    if (source.first_seen && (!merged.first_seen || *source.first_seen < *merged.first_seen))
      merged.first_seen = source.first_seen;
    if (source.last_seen && (!merged.last_seen || *source.last_seen > *merged.last_seen))
      merged.last_seen = source.last_seen;
  }
  merged.embedding_count = std::min<std::uint64_t>(embeddings, capacity);
  return plan;
}

}  // namespace safelynx::gallery
