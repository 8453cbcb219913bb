// FaceEngine with fake networks: describe() answers one face per detection,
// in order, so callers never have to find their faces again by their boxes.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vision/face_engine.hpp"
#include "../support/fake_networks.hpp"

namespace safelynx::vision {
namespace {

using safelynx::testing::FixedDetector;
using safelynx::testing::FrontalLandmarks;
using safelynx::testing::GreyLevelEmbedder;

FaceEngine engine_with(std::vector<FaceDetection> found = {}, FaceEngineOptions options = {}) {
  return FaceEngine(std::make_unique<FixedDetector>(std::move(found)), std::make_unique<FrontalLandmarks>(),
                    std::make_unique<GreyLevelEmbedder>(), options);
}

// 300x200, left half grey 50, right half grey 200.
cv::Mat two_tone() {
  cv::Mat image(200, 300, CV_8UC3, cv::Scalar::all(50));
  image(cv::Rect(150, 0, 150, 200)).setTo(cv::Scalar::all(200));
  return image;
}

TEST(FaceEngineDescribe, AnswersEveryDetectionInItsOrder) {
  FaceEngine engine = engine_with();
  const cv::Mat image = two_tone();
  const FaceDetection right{{180, 40, 100, 100}, 0.9f}, outside{{400, 300, 50, 50}, 0.8f}, left{{10, 40, 100, 100}, 0.7f};
  const std::vector<ImageDetections> images{ImageDetections{image, {right, outside, left, right}},
                                            ImageDetections{image, {}}};
  const auto described = engine.describe(images, true);
  ASSERT_EQ(described.size(), 2u);
  ASSERT_EQ(described[0].size(), 4u);
  EXPECT_TRUE(described[1].empty());
  EXPECT_FLOAT_EQ(described[0][0].detection.score, 0.9f);
  ASSERT_TRUE(described[0][0].descriptor);
  EXPECT_NEAR((*described[0][0].descriptor)[0], 200, 1);
  EXPECT_FLOAT_EQ(described[0][1].detection.score, 0.8f);
  EXPECT_FALSE(described[0][1].descriptor) << "a box outside the image has no face to describe";
  EXPECT_LE(described[0][1].aligned_box.width, 0);
  ASSERT_TRUE(described[0][2].descriptor);
  EXPECT_NEAR((*described[0][2].descriptor)[0], 50, 1);
  // The same box twice is two answers, not one found twice.
  ASSERT_TRUE(described[0][3].descriptor);
  EXPECT_NEAR((*described[0][3].descriptor)[0], 200, 1);
}

TEST(FaceEngineDescribe, AnalyseLeavesOutBoxesOutsideTheImage) {
  FaceEngine engine = engine_with({{{400, 300, 50, 50}, 0.9f}, {{10, 40, 100, 100}, 0.7f}});
  const auto faces = engine.analyse(two_tone(), 0.5f, true);
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_FLOAT_EQ(faces[0].detection.score, 0.7f);
  EXPECT_TRUE(faces[0].descriptor);
}

TEST(FaceEngineDescribe, LandmarksOnlyWhenNoDescriptorIsAsked) {
  FaceEngine engine = engine_with();
  const cv::Mat image = two_tone();
  const std::vector<ImageDetections> images{ImageDetections{image, {{{10, 40, 100, 100}, 0.7f}}}};
  const auto described = engine.describe(images, false);
  ASSERT_EQ(described[0].size(), 1u);
  EXPECT_FALSE(described[0][0].descriptor);
  EXPECT_GT(described[0][0].aligned_box.width, 0);
  EXPECT_NEAR(described[0][0].landmarks[36].x, 10 + 0.3f * 100, 0.01);
}

// The descriptor's crop follows the options: face-api's box, or dlib's chip.
TEST(FaceEngineDescribe, AlignsAsTheOptionsSay) {
  const cv::Mat image = two_tone();
  const FaceDetection right{{180, 40, 100, 100}, 0.9f};
  for (const FaceAlignment alignment : {FaceAlignment::FaceApiBox, FaceAlignment::DlibChip}) {
    SCOPED_TRACE(to_string(alignment));
    FaceEngineOptions options;
    options.alignment = alignment;
    FaceEngine engine = engine_with({right}, options);
    const auto faces = engine.analyse(image, 0.5f, true);
    ASSERT_EQ(faces.size(), 1u);
    const Box expected = alignment == FaceAlignment::FaceApiBox ? dlib_aligned_box(faces[0].landmarks, {100, 100})
                                                                : dlib_face_chip(faces[0].landmarks).bounds();
    EXPECT_FLOAT_EQ(faces[0].aligned_box.x, expected.x);
    EXPECT_FLOAT_EQ(faces[0].aligned_box.width, expected.width);
    // Both lie on the face, inside the bright half.
    EXPECT_GE(faces[0].aligned_box.x, 150);
    EXPECT_LE(faces[0].aligned_box.right(), 300);
    ASSERT_TRUE(faces[0].descriptor);
    EXPECT_NEAR((*faces[0].descriptor)[0], 200, 1);
  }
}

}  // namespace
}  // namespace safelynx::vision
