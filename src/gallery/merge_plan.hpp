// What merging profiles makes of their fields, decided before anything is
// changed, so a dry run and the merge itself agree. Merging must never lose
// a warning: the most restrictive classification wins (Flagged always
// survives), tags are combined, every profile's notes are kept, and what
// had to be chosen is listed as a conflict for the user to see first.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "domain/entities.hpp"

namespace safelynx::gallery {

// The precedence of classifications in a merge, highest first:
//   flagged  a warning about the person is never dropped;
//   known    a decision that someone is identified; an unknown stranger
//            merged into them must not make them unknown (unknown profiles
//            raise stranger alerts and are deleted by retention);
//   unknown  no decision yet (what the pipeline gives every stranger);
//   trusted  a privilege given to one profile: it must not spread to faces
//            nobody vetted, so it wins only when every profile is trusted.
int merge_precedence(Classification classification);

struct MergeConflict {
  std::string field;                // "name", "classification" or "notes"
  std::vector<std::string> values;  // what the profiles hold (target first)
  std::string resolution;           // what the merged profile gets
};

struct MergePlan {
  Profile merged;  // the target with the merged fields, counts and seen times
  std::vector<MergeConflict> conflicts;
  // Combined notes or tags over the limits a profile may hold (kMaxNotesLength,
  // kMaxTags): the merge is refused, nothing is cut off silently.
  std::vector<std::string> over_limits;
};

// `capacity`: the gallery's, for the merged embedding count.
MergePlan plan_merge(const Profile& target, std::span<const Profile> sources, std::size_t capacity);

}  // namespace safelynx::gallery
