// What the bench commands measure about their own process, and the shared
// clip they play by default.
#pragma once

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace safelynx::app {

// The clip of the shared test data, relative to the repository root (where
// the bench commands are run from, as docs/BENCHMARKS.md shows).
inline constexpr const char* kBenchClip = "../shared/testdata/video/short_hamilton_clip.mp4";

namespace detail {
// A "Key:   1234 kB" line of /proc/self/status, in MB; 0 if absent.
inline double proc_status_mb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  return 0;
}
}  // namespace detail

// Peak resident memory of this process (VmHWM), MB.
inline double peak_rss_mb() { return detail::proc_status_mb("VmHWM:"); }

// Resident memory of this process now (VmRSS), MB.
inline double current_rss_mb() { return detail::proc_status_mb("VmRSS:"); }

// User plus system CPU time of this process (all threads), seconds.
inline double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace safelynx::app
