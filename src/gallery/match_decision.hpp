// The one rule that turns "the nearest profiles and their distances" into a
// verdict, used by the live pipeline, POST /api/v1/identify and the
// `identify` command alike. A wrong name is worse than no name: a face is
// named only when its nearest profile is within the match threshold AND
// clearly nearer than the runner-up; a face near someone but not clearly
// them is uncertain (never a new stranger, never a name); only a face far
// from everyone is a stranger.
#pragma once

#include <span>
#include <vector>

#include "domain/settings.hpp"
#include "index/embedding_index.hpp"

namespace safelynx::gallery {

struct MatchRule {
  float match_threshold = Settings{}.recognition.match_threshold;
  float min_margin = Settings{}.recognition.min_margin;
  float stranger_threshold = Settings{}.recognition.stranger_threshold;

  static MatchRule from(const Settings& settings);
  // How far a search must look for decide() to see everything it needs:
  // the runner-up of a possible match, and anyone short of a stranger.
  float search_radius() const;
};

enum class MatchVerdict { Named, Uncertain, Stranger };
const char* to_string(MatchVerdict verdict);  // "named" | "uncertain" | "stranger"

struct MatchDecision {
  MatchVerdict verdict = MatchVerdict::Stranger;
  std::vector<index::Match> candidates;  // the nearest two profiles within the search radius, nearest first
  float distance = 0;                    // to the nearest candidate (0 when there is none)
  float margin = 0;                      // runner-up minus nearest; kNoSecondProfile without a runner-up
};

// `nearest_first`: one entry per profile (the index's search answer), sorted.
MatchDecision decide(std::span<const index::Match> nearest_first, const MatchRule& rule);

}  // namespace safelynx::gallery
