// A running camera's live view: its newest frame, the boxes and names the
// matching stage drew on it, and the JPEG of each, encoded once per frame
// however many viewers there are. Also where the detection stage asks which
// faces are settled (matched, described recently), to follow them by box.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::pipeline {

struct OverlayBox {
  Box box;
  std::string label;  // empty: a box without a name
  cv::Scalar colour;  // BGR
};

// A face of a matched track, as the detection stage sees it.
struct SettledFace {
  Box box;
  std::chrono::steady_clock::time_point described_at;
};

struct LiveJpeg {
  std::uint64_t sequence = 0;
  std::string jpeg;
};

class LiveView {
 public:
  // Every captured frame, from the capture thread.
  void offer(const cv::Mat& bgr, std::uint64_t sequence);
  // What the matching stage decided for the newest frame it matched.
  void show(std::vector<OverlayBox> overlay, std::vector<SettledFace> settled);
  // No face in view any more.
  void clear_faces();

  // False for a detection that overlaps a settled face (IoU >= 0.5)
  // described less than `refresh` before `now`: it needs no new descriptor.
  std::vector<bool> needs_descriptor(const std::vector<FaceDetection>& found, std::chrono::steady_clock::time_point now,
                                     std::chrono::steady_clock::duration refresh) const;

  // The newest frame as JPEG (boxes and names drawn when `overlay`);
  // nullopt when there is none newer than `newer_than`.
  std::optional<LiveJpeg> jpeg(bool overlay, std::uint64_t newer_than);

 private:
  mutable std::mutex mutex_;
  cv::Mat latest_;
  std::uint64_t latest_sequence_ = 0;
  std::vector<OverlayBox> overlay_;
  std::vector<SettledFace> settled_;
  LiveJpeg encoded_[2];  // [overlay]
};

}  // namespace safelynx::pipeline
