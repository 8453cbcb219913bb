#pragma once

#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// Finds 68 facial landmarks on face crops. Not thread-safe (one per thread).
class LandmarkDetector {
 public:
  virtual ~LandmarkDetector() = default;
  // Each crop is an 8-bit BGR face region; points are in that crop's pixels.
  // All crops go through the network in one forward pass.
  virtual std::vector<Landmarks68> detect_landmarks_batch(std::span<const cv::Mat> face_crops) = 0;
};

}  // namespace safelynx::vision
