// The detection stage's inbox, beside bounded_queue.hpp: fair across
// cameras and dropping stale frames. Header-only so tests use it directly.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "domain/uuid.hpp"
#include "pipeline/camera_capture.hpp"

namespace safelynx::pipeline {

// The first stage's queue: one lane of `capacity` frames per camera, so a
// busy camera cannot crowd out the others. A worker serves the camera that
// has waited longest among those not already being detected by another
// worker (frames of one camera stay in order through the stages), and takes
// its newest frame: the older ones are stale by then and are dropped
// (counted), which keeps about 100 ms of queueing out of the latency.
class FrameInbox {
 public:
  explicit FrameInbox(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("a camera's inbox lane needs a capacity of at least 1");
  }
  FrameInbox(const FrameInbox&) = delete;
  FrameInbox& operator=(const FrameInbox&) = delete;

  // True when an older frame of the camera was dropped to make room.
  bool push(Frame&& frame) {
    bool dropped = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return true;
      Lane& lane = lanes_[frame.camera_id];
      if (lane.frames.size() >= capacity_) {
        lane.frames.pop_front();
        dropped = true;
      }
      lane.frames.push_back(std::move(frame));
    }
    ready_.notify_one();
    return dropped;
  }

  struct Taken {
    Frame frame;
    std::size_t stale = 0;  // older frames of the camera dropped in its favour
  };

  // The newest frame of the idle camera that waited longest; nullopt after
  // `timeout`, or at once when closed and drained. The camera stays busy
  // until done().
  std::optional<Taken> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::optional<Taken> taken;
    ready_.wait_for(lock, timeout, [&] {
      Lane* best = nullptr;
      for (auto& [id, lane] : lanes_)
        if (!lane.busy && !lane.frames.empty() && (!best || lane.frames.front().captured < best->frames.front().captured))
          best = &lane;
      if (best) {
        taken = Taken{std::move(best->frames.back()), best->frames.size() - 1};
        best->frames.clear();
        best->busy = true;
        return true;
      }
      return closed_ && empty_locked();
    });
    return taken;
  }

  void done(const Uuid& camera) {
    {
      std::lock_guard lock(mutex_);
      auto it = lanes_.find(camera);
      if (it != lanes_.end()) it->second.busy = false;
    }
    ready_.notify_all();
  }

  // Forgets a camera's waiting frames (it was stopped); returns how many.
  std::size_t discard(const Uuid& camera) {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(camera);
    if (it == lanes_.end()) return 0;
    const std::size_t count = it->second.frames.size();
    it->second.frames.clear();
    return count;
  }

  std::size_t depth(const Uuid& camera) const {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(camera);
    return it == lanes_.end() ? 0 : it->second.frames.size();
  }
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [id, lane] : lanes_) n += lane.frames.size();
    return n;
  }
  bool closed_and_drained() const {
    std::lock_guard lock(mutex_);
    return closed_ && empty_locked();
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  struct Lane {
    std::deque<Frame> frames;
    bool busy = false;
  };
  bool empty_locked() const {
    for (const auto& [id, lane] : lanes_)
      if (!lane.frames.empty()) return false;
    return true;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::map<Uuid, Lane> lanes_;
  bool closed_ = false;
};

}  // namespace safelynx::pipeline
