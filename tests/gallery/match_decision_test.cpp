// The one rule between the nearest profiles and a name.
#include <gtest/gtest.h>

#include <vector>

#include "domain/entities.hpp"
#include "gallery/match_decision.hpp"

namespace safelynx::gallery {
namespace {

const MatchRule kRule{0.5f, 0.05f, 0.65f};

std::vector<index::Match> nearest(std::vector<float> distances) {
  std::vector<index::Match> matches;
  index::ProfileId id = 1;
  for (float d : distances) matches.push_back({id++, 0, d});
  return matches;
}

TEST(MatchDecision, NamesTheNearestOnlyWithinTheThresholdAndClearOfTheRunnerUp) {
  const MatchDecision clear = decide(nearest({0.42f, 0.60f}), kRule);
  EXPECT_EQ(clear.verdict, MatchVerdict::Named);
  EXPECT_EQ(clear.candidates.front().profile, 1u);
  EXPECT_FLOAT_EQ(clear.distance, 0.42f);
  EXPECT_NEAR(clear.margin, 0.18f, 1e-6);

  // Two people about as near: never a name, whichever is nearer.
  const MatchDecision close_call = decide(nearest({0.42f, 0.45f}), kRule);
  EXPECT_EQ(close_call.verdict, MatchVerdict::Uncertain);
  EXPECT_EQ(close_call.candidates.size(), 2u);
}

TEST(MatchDecision, ANearMissIsUncertainNotAStranger) {
  // 0.59: the case that named the wrong person with the old 0.6 threshold.
  EXPECT_EQ(decide(nearest({0.59f}), kRule).verdict, MatchVerdict::Uncertain);
  EXPECT_EQ(decide(nearest({0.65f}), kRule).verdict, MatchVerdict::Uncertain);
  EXPECT_EQ(decide(nearest({0.66f}), kRule).verdict, MatchVerdict::Stranger);
  EXPECT_EQ(decide(nearest({}), kRule).verdict, MatchVerdict::Stranger);
}

TEST(MatchDecision, NoRunnerUpWithinReachIsAClearLead) {
  const MatchDecision alone = decide(nearest({0.3f}), kRule);
  EXPECT_EQ(alone.verdict, MatchVerdict::Named);
  EXPECT_EQ(alone.margin, kNoSecondProfile);
  // A runner-up beyond the search radius is left out.
  EXPECT_EQ(decide(nearest({0.3f, 0.9f}), kRule).candidates.size(), 1u);
}

TEST(MatchDecision, AStrangerThresholdBelowTheMatchThresholdLeavesNoUncertainBand) {
  const MatchRule no_band{0.6f, 0.05f, 0.4f};
  EXPECT_EQ(decide(nearest({0.58f}), no_band).verdict, MatchVerdict::Named);
  EXPECT_EQ(decide(nearest({0.61f}), no_band).verdict, MatchVerdict::Stranger);
  EXPECT_FLOAT_EQ(no_band.search_radius(), 0.65f);
}

TEST(MatchDecision, TheThresholdItselfStillNames) {
  EXPECT_EQ(decide(nearest({0.5f, 0.6f}), kRule).verdict, MatchVerdict::Named);
  EXPECT_EQ(decide(nearest({0.501f, 0.6f}), kRule).verdict, MatchVerdict::Uncertain);
}

}  // namespace
}  // namespace safelynx::gallery
