#include <gtest/gtest.h>

#include "pipeline/face_tracker.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;

FaceDescriptor person(float value) {
  FaceDescriptor d{};
  d.fill(0.0f);
  d[0] = value;  // people 1.0 apart in L2
  return d;
}

TrackedFace face(float x, float y, std::optional<FaceDescriptor> descriptor = std::nullopt, float quality = 0.5f) {
  return {Box{x, y, 100, 100}, 0.9f, quality, descriptor};
}

TEST(FaceTracker, OnePersonMovingSlowlyIsOneTrack) {
  FaceTracker tracker;
  const SteadyTime t0{};
  std::uint64_t id = 0;
  for (int i = 0; i < 30; ++i) {
    const auto ids = tracker.update({face(100.0f + 5 * i, 100, person(1.0f))}, t0 + i * 33ms);
    ASSERT_EQ(ids.size(), 1u);
    if (i == 0) id = ids[0];
    EXPECT_EQ(ids[0], id) << "frame " << i;
  }
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_EQ(tracker.find(id)->hits, 30u);
  EXPECT_EQ(tracker.find(id)->embeddings.size(), 5u);  // only the best five kept
}

TEST(FaceTracker, TwoPeopleStayApartAndSwapNothing) {
  FaceTracker tracker;
  const SteadyTime t0{};
  const auto first = tracker.update({face(0, 0, person(1)), face(400, 0, person(3))}, t0);
  ASSERT_NE(first[0], first[1]);
  const auto second = tracker.update({face(405, 0, person(3)), face(5, 0, person(1))}, t0 + 33ms);  // listed swapped
  EXPECT_EQ(second[0], first[1]);
  EXPECT_EQ(second[1], first[0]);
}

TEST(FaceTracker, AJumpIsBridgedByTheEmbeddingAndAStrangerIsNot) {
  FaceTracker tracker;
  const SteadyTime t0{};
  const auto a = tracker.update({face(0, 0, person(1.0f))}, t0)[0];
  // Far away (no overlap) but the same face: the same track.
  EXPECT_EQ(tracker.update({face(500, 300, person(1.1f))}, t0 + 100ms)[0], a);
  // Far away and a different face: a new track.
  EXPECT_NE(tracker.update({face(0, 300, person(3.0f))}, t0 + 200ms)[0], a);
}

TEST(FaceTracker, TracksEndAfterTheGap) {
  FaceTracker tracker({.max_gap = 1000ms});
  const SteadyTime t0{};
  const auto a = tracker.update({face(0, 0, person(1))}, t0)[0];
  EXPECT_EQ(tracker.update({face(0, 0, person(1))}, t0 + 900ms)[0], a);  // the embedding vouches for it
  EXPECT_NE(tracker.update({face(0, 0, person(1))}, t0 + 2000ms)[0], a);  // gone for 1.1 s: a new visit
  EXPECT_EQ(tracker.tracks().size(), 1u);
}

TEST(FaceTracker, SomeoneElseAtTheSamePlaceStartsANewTrack) {
  // The reported case: a woman came in where a man had just left and took
  // over his track, and with it his name.
  FaceTracker tracker;
  const SteadyTime t0{};
  const auto man = tracker.update({face(100, 100, person(1))}, t0)[0];
  EXPECT_EQ(tracker.update({face(102, 100, person(1.05f))}, t0 + 100ms)[0], man);
  const auto woman = tracker.update({face(104, 100, person(2))}, t0 + 200ms)[0];
  EXPECT_NE(woman, man);
  EXPECT_EQ(tracker.find(woman)->embeddings.size(), 1u);
  EXPECT_EQ(tracker.find(man)->embeddings.size(), 2u) << "the man's track keeps only his faces";
}

TEST(FaceTracker, ABoxAloneContinuesATrackOnlyRightAfterItWasSeen) {
  FaceTracker tracker({.box_only_gap = 300ms});
  const SteadyTime t0{};
  const auto a = tracker.update({face(0, 0, person(1))}, t0)[0];
  EXPECT_EQ(tracker.update({face(5, 0)}, t0 + 100ms)[0], a);  // no descriptor, seen 100 ms ago
  EXPECT_EQ(tracker.update({face(10, 0)}, t0 + 350ms)[0], a);  // 250 ms since the last box
  // 500 ms unseen: nothing vouches that this is the same person.
  const auto b = tracker.update({face(10, 0)}, t0 + 850ms)[0];
  EXPECT_NE(b, a);
  // Its embedding would have: the same person after the same gap continues.
  FaceTracker vouched({.box_only_gap = 300ms});
  const auto c = vouched.update({face(0, 0, person(1))}, t0)[0];
  EXPECT_EQ(vouched.update({face(10, 0, person(1.02f))}, t0 + 850ms)[0], c);
}

TEST(FaceTracker, KeepsTheBestEmbeddingsAndAveragesThem) {
  FaceTracker tracker({.embeddings_kept = 2});
  const SteadyTime t0{};
  const auto id = tracker.update({face(0, 0, person(1.0f), 0.2f)}, t0)[0];
  tracker.update({face(0, 0, person(1.2f), 0.9f)}, t0 + 10ms);
  tracker.update({face(0, 0, person(1.4f), 0.5f)}, t0 + 20ms);
  const Track* track = tracker.find(id);
  ASSERT_EQ(track->embeddings.size(), 2u);
  EXPECT_FLOAT_EQ(track->embeddings[0].first, 0.9f);
  EXPECT_FLOAT_EQ(track->embeddings[1].first, 0.5f);
  EXPECT_FLOAT_EQ((*track->mean_embedding())[0], 1.3f);
  EXPECT_FLOAT_EQ(track->best_quality, 0.9f);
}

TEST(FaceTracker, OneSightingPerTrackPerCooldown) {
  FaceTracker tracker;
  const SteadyTime t0{};
  const auto id = tracker.update({face(0, 0)}, t0)[0];
  EXPECT_TRUE(tracker.claim_sighting(id, t0, 30s));
  EXPECT_FALSE(tracker.claim_sighting(id, t0 + 10s, 30s));
  EXPECT_TRUE(tracker.claim_sighting(id, t0 + 31s, 30s));
  EXPECT_FALSE(tracker.claim_sighting(999, t0, 30s));
}

}  // namespace
}  // namespace safelynx::pipeline
