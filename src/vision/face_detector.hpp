#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// Finds faces in an image. Implementations hold a network and are not
// thread-safe: give each worker thread its own instance.
class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // `bgr` is an 8-bit BGR image; boxes are in its pixels, best score first.
  virtual std::vector<FaceDetection> detect(const cv::Mat& bgr, float min_score) = 0;
  virtual std::string name() const = 0;
};

}  // namespace safelynx::vision
