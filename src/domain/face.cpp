#include "domain/face.hpp"

#include <algorithm>
#include <cmath>

namespace safelynx {

float intersection_over_union(const Box& a, const Box& b) {
  const float inter_w = std::max(0.0f, std::min(a.right(), b.right()) - std::max(a.x, b.x));
  const float inter_h = std::max(0.0f, std::min(a.bottom(), b.bottom()) - std::max(a.y, b.y));
  const float inter = inter_w * inter_h;
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

float descriptor_distance(const FaceDescriptor& a, const FaceDescriptor& b) {
  float sum = 0;
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

float face_quality(const FaceDetection& detection) {
  const float size = std::min(detection.box.width, detection.box.height);
  return detection.score * std::min(1.0f, size / 150.0f);
}

}  // namespace safelynx
