// The stages' clock: steady time and elapsed milliseconds for their metrics.
#pragma once

#include <chrono>

namespace safelynx::pipeline {

using Steady = std::chrono::steady_clock;

inline double ms_since(Steady::time_point since) {
  return std::chrono::duration<double, std::milli>(Steady::now() - since).count();
}

}  // namespace safelynx::pipeline
