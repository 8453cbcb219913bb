// FaceEngine with fake networks: describe() answers one face per detection,
// in order, so callers never have to find their faces again by their boxes.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vision/face_engine.hpp"

namespace safelynx::vision {
namespace {

class FixedDetector : public FaceDetector {
 public:
  explicit FixedDetector(std::vector<FaceDetection> found) : found_(std::move(found)) {}
  std::vector<FaceDetection> detect(const cv::Mat&, float) override { return found_; }
  std::string name() const override { return "fixed"; }

 private:
  std::vector<FaceDetection> found_;
};

// Eyes and mouth where a frontal face has them, in the crop's pixels.
class FrontalLandmarks : public LandmarkDetector {
 public:
  std::vector<Landmarks68> detect_landmarks_batch(std::span<const cv::Mat> crops) override {
    std::vector<Landmarks68> out;
    for (const cv::Mat& crop : crops) {
      Landmarks68 points{};
      const auto w = static_cast<float>(crop.cols), h = static_cast<float>(crop.rows);
      for (std::size_t p = 36; p < 42; ++p) points[p] = {0.3f * w, 0.4f * h};
      for (std::size_t p = 42; p < 48; ++p) points[p] = {0.7f * w, 0.4f * h};
      for (std::size_t p = 48; p < 68; ++p) points[p] = {0.5f * w, 0.8f * h};
      out.push_back(points);
    }
    return out;
  }
};

// A descriptor that tells which crop it came from: its mean grey level.
class GreyLevelEmbedder : public FaceEmbedder {
 public:
  std::vector<FaceDescriptor> extract_embeddings_batch(std::span<const cv::Mat> faces, std::size_t) override {
    std::vector<FaceDescriptor> out;
    for (const cv::Mat& face : faces) {
      FaceDescriptor d{};
      d[0] = static_cast<float>(cv::mean(face)[0]);
      out.push_back(d);
    }
    return out;
  }
};

FaceEngine engine_with(std::vector<FaceDetection> found = {}) {
  return FaceEngine(std::make_unique<FixedDetector>(std::move(found)), std::make_unique<FrontalLandmarks>(),
                    std::make_unique<GreyLevelEmbedder>(), FaceEngineOptions{});
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

}  // namespace
}  // namespace safelynx::vision
