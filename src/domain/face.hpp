// Value types describing a face found in an image. No I/O, no OpenCV.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace safelynx {

struct Point {
  float x = 0;
  float y = 0;
};

// Axis-aligned rectangle in image pixels (x, y = top-left corner).
struct Box {
  float x = 0;
  float y = 0;
  float width = 0;
  float height = 0;

  float right() const { return x + width; }
  float bottom() const { return y + height; }
  float area() const { return width > 0 && height > 0 ? width * height : 0.0f; }
};

// Intersection over union; 0 when either box is empty.
float intersection_over_union(const Box& a, const Box& b);

struct FaceDetection {
  Box box;
  float score = 0;
};

inline constexpr std::size_t kLandmarkCount = 68;
using Landmarks68 = std::array<Point, kLandmarkCount>;

inline constexpr std::size_t kDescriptorSize = 128;
using FaceDescriptor = std::array<float, kDescriptorSize>;

// Euclidean (L2) distance between two descriptors: the dlib convention, where
// the same person is typically below 0.6.
float descriptor_distance(const FaceDescriptor& a, const FaceDescriptor& b);

// Higher for confident, large faces: galleries keep the best embeddings.
float face_quality(const FaceDetection& detection);

struct Face {
  FaceDetection detection;
  Landmarks68 landmarks{};
  Box aligned_box;  // the crop the descriptor is computed on
  std::optional<FaceDescriptor> descriptor;
};

}  // namespace safelynx
