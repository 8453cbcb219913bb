#include "vision/face_alignment.hpp"

#include <algorithm>
#include <cmath>

namespace safelynx::vision {
namespace {

Point centre(const Landmarks68& points, std::size_t first, std::size_t last) {
  Point sum;
  for (std::size_t i = first; i < last; ++i) {
    sum.x += points[i].x;
    sum.y += points[i].y;
  }
  const auto n = static_cast<float>(last - first);
  return {sum.x / n, sum.y / n};
}

float distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace

cv::Rect clip_to_image(const Box& box, cv::Size image) {
  const float x = std::max(box.x, 0.0f), y = std::max(box.y, 0.0f);
  const float width = std::min(box.right() - x, static_cast<float>(image.width) - x);
  const float height = std::min(box.bottom() - y, static_cast<float>(image.height) - y);
  const cv::Rect r(static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)), static_cast<int>(std::floor(width)),
                   static_cast<int>(std::floor(height)));
  if (r.width <= 0 || r.height <= 0) return {};
  return r & cv::Rect(0, 0, image.width, image.height);
}

Box dlib_aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop) {
  // Reference proportions of dlib's face chip.
  constexpr float kCentreX = 0.5f, kCentreY = 0.43f, kScale = 0.45f;
  const Point left_eye = centre(landmarks, 36, 42);
  const Point right_eye = centre(landmarks, 42, 48);
  const Point mouth = centre(landmarks, 48, 68);
  const float eye_to_mouth = (distance(mouth, left_eye) + distance(mouth, right_eye)) / 2;
  const float size = std::floor(eye_to_mouth / kScale);
  const Point reference{(left_eye.x + right_eye.x + mouth.x) / 3, (left_eye.y + right_eye.y + mouth.y) / 3};
  const float x = std::floor(std::max(0.0f, reference.x - kCentreX * size));
  const float y = std::floor(std::max(0.0f, reference.y - kCentreY * size));
  return {x, y, std::min(size, static_cast<float>(landmark_crop.width) + x),
          std::min(size, static_cast<float>(landmark_crop.height) + y)};
}

}  // namespace safelynx::vision
