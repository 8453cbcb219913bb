// The quality score that picks a track's best shots.
#include <gtest/gtest.h>

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "vision/face_quality.hpp"

namespace safelynx::vision {
namespace {

// Outer eye corners at (40, 50) and (80, 50); the nose tip `nose_x` across.
Landmarks68 face_looking(float nose_x, float roll_degrees = 0) {
  Landmarks68 points{};
  points[36] = {40, 50};
  points[45] = {80, 50};
  points[30] = {nose_x, 70};
  const float a = roll_degrees * 3.14159265f / 180.0f, c = std::cos(a), s = std::sin(a);
  for (Point& p : points) p = {60 + (p.x - 60) * c - (p.y - 60) * s, 60 + (p.x - 60) * s + (p.y - 60) * c};
  return points;
}

TEST(FaceQuality, AFrontalFaceScoresOneAndATurnedOneLess) {
  EXPECT_NEAR(frontal_pose(face_looking(60)), 1.0f, 1e-5);
  EXPECT_NEAR(frontal_pose(face_looking(50)), 0.5f, 1e-5);  // the nose a quarter of the way over
  EXPECT_EQ(frontal_pose(face_looking(35)), 0.0f);           // beyond the eye: in profile
  EXPECT_NEAR(frontal_pose(face_looking(70)), frontal_pose(face_looking(50)), 1e-5) << "either side alike";
}

TEST(FaceQuality, AHeadTiltedSidewaysIsNotPenalised) {
  EXPECT_NEAR(frontal_pose(face_looking(60, 25)), 1.0f, 1e-4);
  EXPECT_NEAR(frontal_pose(face_looking(50, -20)), 0.5f, 1e-4);
}

TEST(FaceQuality, DegenerateLandmarksScoreZero) {
  EXPECT_EQ(frontal_pose(Landmarks68{}), 0.0f);
}

TEST(FaceQuality, SharpFacesOutscoreBlurredOnes) {
  EXPECT_FLOAT_EQ(sharpness_factor(500), 1.0f);
  EXPECT_FLOAT_EQ(sharpness_factor(50), 0.5f);
  EXPECT_FLOAT_EQ(sharpness_factor(1), 0.2f);

  cv::Mat sharp(240, 240, CV_8UC3);
  cv::randu(sharp, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::Mat blurred;
  cv::GaussianBlur(sharp, blurred, cv::Size(0, 0), 6);
  Face face;
  face.detection = {{40, 40, 160, 160}, 0.9f};
  face.landmarks = face_looking(60);
  for (Point& p : face.landmarks) p = {p.x + 60, p.y + 60};
  const float sharp_quality = face_quality(face, sharp);
  EXPECT_NEAR(sharp_quality, safelynx::face_quality(face.detection), 1e-5) << "frontal and sharp: nothing taken off";
  EXPECT_LT(face_quality(face, blurred), 0.5f * sharp_quality);
}

}  // namespace
}  // namespace safelynx::vision
