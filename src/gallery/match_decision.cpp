#include "gallery/match_decision.hpp"

#include <algorithm>

#include "domain/entities.hpp"

namespace safelynx::gallery {

MatchRule MatchRule::from(const Settings& settings) {
  return {settings.recognition.match_threshold, settings.recognition.min_margin, settings.recognition.stranger_threshold};
}

float MatchRule::search_radius() const {
  return std::max(stranger_threshold, match_threshold + min_margin);
}

const char* to_string(MatchVerdict verdict) {
  switch (verdict) {
    case MatchVerdict::Named: return "named";
    case MatchVerdict::Uncertain: return "uncertain";
    case MatchVerdict::Stranger: break;
  }
  return "stranger";
}

MatchDecision decide(std::span<const index::Match> nearest_first, const MatchRule& rule) {
  MatchDecision decision;
  const float radius = rule.search_radius();
  for (const index::Match& m : nearest_first) {
    if (m.distance > radius || decision.candidates.size() == 2) break;
    decision.candidates.push_back(m);
  }
  if (decision.candidates.empty()) return decision;  // nobody within reach: a stranger
  decision.distance = decision.candidates[0].distance;
  // Beyond the radius a runner-up is at least min_margin behind any face
  // that could be named, so "none within reach" counts as a clear lead.
  decision.margin = decision.candidates.size() > 1 ? decision.candidates[1].distance - decision.distance : kNoSecondProfile;
  if (decision.distance <= rule.match_threshold && decision.margin >= rule.min_margin)
    decision.verdict = MatchVerdict::Named;
  else if (decision.distance > std::max(rule.stranger_threshold, rule.match_threshold))
    decision.verdict = MatchVerdict::Stranger;
  else
    decision.verdict = MatchVerdict::Uncertain;
  return decision;
}

}  // namespace safelynx::gallery
