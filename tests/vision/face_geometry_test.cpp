#include <gtest/gtest.h>

#include "domain/face.hpp"
#include "vision/face_alignment.hpp"

namespace safelynx {
namespace {

TEST(FaceGeometry, IntersectionOverUnion) {
  EXPECT_FLOAT_EQ(intersection_over_union({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
  EXPECT_FLOAT_EQ(intersection_over_union({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ(intersection_over_union({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0f);
  EXPECT_FLOAT_EQ(intersection_over_union({0, 0, 0, 10}, {0, 0, 0, 10}), 0.0f);  // empty boxes
}

TEST(FaceGeometry, DescriptorDistanceIsEuclidean) {
  FaceDescriptor a{}, b{};
  a[0] = 3;
  b[1] = 4;
  EXPECT_FLOAT_EQ(descriptor_distance(a, b), 5.0f);
  EXPECT_FLOAT_EQ(descriptor_distance(a, a), 0.0f);
}

TEST(FaceAlignment, ClipToImageFloorsAndClips) {
  EXPECT_EQ(vision::clip_to_image({-5.5f, 10.7f, 30.2f, 20.0f}, {100, 100}), cv::Rect(0, 10, 24, 20));
  EXPECT_EQ(vision::clip_to_image({90.0f, 90.0f, 30.0f, 30.0f}, {100, 100}), cv::Rect(90, 90, 10, 10));
  EXPECT_TRUE(vision::clip_to_image({200.0f, 0.0f, 30.0f, 30.0f}, {100, 100}).empty());
}

TEST(FaceAlignment, DlibBoxIsCentredOnEyesAndMouth) {
  Landmarks68 points{};
  for (std::size_t i = 36; i < 42; ++i) points[i] = {40, 50};   // left eye
  for (std::size_t i = 42; i < 48; ++i) points[i] = {80, 50};   // right eye
  for (std::size_t i = 48; i < 68; ++i) points[i] = {60, 95};   // mouth
  // eye-to-mouth distance = hypot(20, 45) = 49.244; size = floor(49.244 / 0.45) = 109
  // centre = (60, 65); x = floor(60 - 54.5) = 5; y = floor(65 - 0.43 * 109) = 18
  const Box box = vision::dlib_aligned_box(points, {200, 200});
  EXPECT_FLOAT_EQ(box.x, 5);
  EXPECT_FLOAT_EQ(box.y, 18);
  EXPECT_FLOAT_EQ(box.width, 109);
  EXPECT_FLOAT_EQ(box.height, 109);
}

}  // namespace
}  // namespace safelynx
