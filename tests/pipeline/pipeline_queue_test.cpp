#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pipeline/backoff.hpp"
#include "pipeline/bounded_queue.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueue, DropOldestKeepsTheNewestAndCountsTheRest) {
  BoundedQueue<int> queue(3, OverflowPolicy::DropOldest);
  std::vector<int> dropped;
  for (int i = 0; i < 5; ++i)
    if (auto d = queue.push(i)) dropped.push_back(*d);
  EXPECT_EQ(dropped, (std::vector<int>{0, 1}));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.pushed(), 5u);
  EXPECT_EQ(queue.dropped(), 2u);
  EXPECT_EQ(queue.pop(0ms), 2);
  EXPECT_EQ(queue.pop(0ms), 3);
  EXPECT_EQ(queue.pop(0ms), 4);
  EXPECT_EQ(queue.pop(1ms), std::nullopt);
}

TEST(BoundedQueue, BlockWaitsForRoomAndLosesNothing) {
  BoundedQueue<int> queue(2, OverflowPolicy::Block);
  constexpr int kItems = 2000;
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) EXPECT_EQ(queue.push(i), std::nullopt);
    queue.close();
  });
  std::vector<int> received;
  while (auto item = queue.pop(5s)) received.push_back(*item);
  producer.join();
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kItems));
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(received[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(queue.dropped(), 0u);
}

TEST(BoundedQueue, CloseWakesWaitersAndRefusesNewItems) {
  BoundedQueue<int> queue(1, OverflowPolicy::Block);
  ASSERT_EQ(queue.push(1), std::nullopt);
  std::atomic<bool> returned{false};
  std::optional<int> refused;
  std::thread blocked([&] {
    refused = queue.push(2);  // full: waits until close()
    returned = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(returned);
  queue.close();
  blocked.join();
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(queue.pop(0ms), 1);  // what was queued still drains
  EXPECT_EQ(queue.pop(0ms), std::nullopt);
  EXPECT_THROW(BoundedQueue<int>(0, OverflowPolicy::Block), std::invalid_argument);
}

TEST(Backoff, GrowsToTheCapWithJitterAndResets) {
  Backoff backoff(100ms, 1000ms);
  EXPECT_EQ(backoff.next_delay(0.999999), 99ms);
  EXPECT_EQ(backoff.next_delay(1.0), 200ms);
  EXPECT_EQ(backoff.next_delay(0.0), 200ms);  // 400 ms at the lowest jitter: half
  EXPECT_EQ(backoff.next_delay(1.0), 800ms);
  EXPECT_EQ(backoff.next_delay(1.0), 1000ms);
  EXPECT_EQ(backoff.next_delay(1.0), 1000ms);
  EXPECT_EQ(backoff.attempts(), 6u);
  backoff.reset();
  EXPECT_EQ(backoff.next_delay(1.0), 100ms);
}

}  // namespace
}  // namespace safelynx::pipeline
