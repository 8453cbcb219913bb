#include "vision/face_quality.hpp"

#include <algorithm>
#include <cmath>

#include "vision/face_crops.hpp"

namespace safelynx::vision {

float frontal_pose(const Landmarks68& landmarks) {
  const Point left = landmarks[36], right = landmarks[45], nose = landmarks[30];  // outer eye corners, nose tip
  const float ex = right.x - left.x, ey = right.y - left.y;
  const float eye_span_squared = ex * ex + ey * ey;
  if (!(eye_span_squared > 1e-6f)) return 0.0f;
  // 0 at the left corner, 1 at the right; 0.5 when the face looks straight on.
  const float along = ((nose.x - left.x) * ex + (nose.y - left.y) * ey) / eye_span_squared;
  return std::clamp(1.0f - 2.0f * std::abs(along - 0.5f), 0.0f, 1.0f);
}

float sharpness_factor(double laplacian_variance) {
  return static_cast<float>(std::clamp(laplacian_variance / 100.0, 0.2, 1.0));
}

float face_quality(const Face& face, const cv::Mat& bgr) {
  return safelynx::face_quality(face.detection) * frontal_pose(face.landmarks) *
         sharpness_factor(face_sharpness(bgr, face.detection.box));
}

}  // namespace safelynx::vision
