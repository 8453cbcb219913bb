// How long a camera source waits before reconnecting: exponential, capped,
// with jitter so that cameras behind one dead switch do not retry in step.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace safelynx::pipeline {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap, double factor = 2.0)
      : first_(first), cap_(std::max(cap, first)), factor_(factor), next_(first) {}

  // The delay before the next attempt; `unit_random` in [0, 1) spreads it
  // over [delay/2, delay].
  std::chrono::milliseconds next_delay(double unit_random) {
    const auto delay = next_;
    const double grown = static_cast<double>(next_.count()) * factor_;
    next_ = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::min(grown, static_cast<double>(cap_.count()))));
    ++attempts_;
    const double spread = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) * spread));
  }
  // A frame arrived: the next failure starts from the first delay again.
  void reset() {
    next_ = first_;
    attempts_ = 0;
  }
  std::uint64_t attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  double factor_;
  std::chrono::milliseconds next_;
  std::uint64_t attempts_ = 0;
};

}  // namespace safelynx::pipeline
