// The detection stage's inbox (pipeline/frame_inbox.hpp): one lane per
// camera, the newest frame of the camera that waited longest, stale frames
// dropped and counted, one worker per camera at a time.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pipeline/frame_inbox.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const Uuid kFront = Uuid::parse("11111111-1111-4111-8111-111111111111");
const Uuid kGarden = Uuid::parse("22222222-2222-4222-8222-222222222222");

Frame frame_of(const Uuid& camera, std::uint64_t sequence, Steady::time_point captured) {
  Frame frame;
  frame.camera_id = camera;
  frame.sequence = sequence;
  frame.captured = captured;
  return frame;
}

// Frame 1 of the front camera taken by a worker, frame 2 waiting behind it.
bool busy_with_a_frame_waiting(FrameInbox& inbox) {
  const auto t0 = Steady::now();
  inbox.push(frame_of(kFront, 1, t0));
  const bool taken = inbox.pop(0ms).has_value();
  inbox.push(frame_of(kFront, 2, t0 + 1ms));
  return taken;
}

TEST(FrameInbox, AFullLaneDropsItsOldestFrame) {
  FrameInbox inbox(2);
  const auto t0 = Steady::now();
  EXPECT_FALSE(inbox.push(frame_of(kFront, 1, t0)));
  EXPECT_FALSE(inbox.push(frame_of(kFront, 2, t0 + 1ms)));
  EXPECT_TRUE(inbox.push(frame_of(kFront, 3, t0 + 2ms)));  // frame 1 made room
  EXPECT_EQ(inbox.depth(kFront), 2u);
  EXPECT_EQ(inbox.depth(kGarden), 0u);
  EXPECT_EQ(inbox.total(), 2u);
}

TEST(FrameInbox, AWorkerTakesTheNewestFrameAndTheStaleOnesAreCounted) {
  FrameInbox inbox(4);
  const auto t0 = Steady::now();
  for (std::uint64_t i = 1; i <= 3; ++i) inbox.push(frame_of(kFront, i, t0 + std::chrono::milliseconds(i)));
  const auto taken = inbox.pop(0ms);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->frame.sequence, 3u);
  EXPECT_EQ(taken->stale, 2u);
  EXPECT_EQ(inbox.total(), 0u);
}

TEST(FrameInbox, TheCameraThatWaitedLongestIsServedFirst) {
  FrameInbox inbox(4);
  const auto t0 = Steady::now();
  inbox.push(frame_of(kGarden, 1, t0 + 5ms));
  inbox.push(frame_of(kFront, 1, t0));  // older, though pushed later
  auto first = inbox.pop(0ms);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->frame.camera_id, kFront);
  inbox.done(kFront);
  inbox.push(frame_of(kFront, 2, t0 + 10ms));
  auto second = inbox.pop(0ms);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->frame.camera_id, kGarden) << "a busy camera must not crowd out the others";
}

TEST(FrameInbox, ACameraIsWithOneWorkerAtATime) {
  FrameInbox inbox(4);
  ASSERT_TRUE(busy_with_a_frame_waiting(inbox));
  EXPECT_EQ(inbox.pop(20ms), std::nullopt) << "frames of one camera stay in order: wait until done()";
  inbox.done(kFront);
  const auto next = inbox.pop(0ms);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->frame.sequence, 2u);
}

TEST(FrameInbox, DoneWakesAWaitingWorker) {
  FrameInbox inbox(4);
  ASSERT_TRUE(busy_with_a_frame_waiting(inbox));
  std::atomic<std::uint64_t> got{0};
  std::thread worker([&] {
    if (auto taken = inbox.pop(10s)) got = taken->frame.sequence;
  });
  std::this_thread::sleep_for(20ms);
  inbox.done(kFront);
  worker.join();
  EXPECT_EQ(got, 2u);
}

TEST(FrameInbox, DiscardForgetsAStoppedCamerasFrames) {
  FrameInbox inbox(4);
  const auto t0 = Steady::now();
  inbox.push(frame_of(kFront, 1, t0));
  inbox.push(frame_of(kFront, 2, t0));
  inbox.push(frame_of(kGarden, 1, t0));
  EXPECT_EQ(inbox.discard(kFront), 2u);
  EXPECT_EQ(inbox.discard(Uuid{}), 0u);
  EXPECT_EQ(inbox.total(), 1u);
}

TEST(FrameInbox, AClosedInboxDrainsThenAnswersAtOnce) {
  FrameInbox inbox(4);
  const auto t0 = Steady::now();
  inbox.push(frame_of(kFront, 1, t0));
  inbox.close();
  EXPECT_TRUE(inbox.push(frame_of(kGarden, 1, t0))) << "refused after close, counted as dropped";
  EXPECT_FALSE(inbox.closed_and_drained());
  ASSERT_TRUE(inbox.pop(0ms));
  EXPECT_TRUE(inbox.closed_and_drained());
  const auto start = Steady::now();
  EXPECT_EQ(inbox.pop(10s), std::nullopt);
  EXPECT_LT(Steady::now() - start, 5s);
}

TEST(FrameInbox, ALaneNeedsRoomForOneFrame) { EXPECT_THROW(FrameInbox(0), std::invalid_argument); }

}  // namespace
}  // namespace safelynx::pipeline
