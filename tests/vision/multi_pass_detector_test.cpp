#include "vision/multi_pass_detector.hpp"

#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace safelynx::vision {
namespace {

// Sees a white patch only when it stands upright: it must fill its bounding
// box, as an upright detector's faces do. A turned square fills about 60%.
class UprightSquareDetector : public FaceDetector {
 public:
  std::vector<FaceDetection> detect(const cv::Mat& bgr, float) override {
    ++runs;
    cv::Mat grey, white;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    cv::threshold(grey, white, 200, 255, cv::THRESH_BINARY);
    if (cv::countNonZero(white) == 0) return {};
    const cv::Rect box = cv::boundingRect(white);
    const double fill = static_cast<double>(cv::countNonZero(white)) / box.area();
    if (fill < 0.9) return {};
    return {{Box{static_cast<float>(box.x), static_cast<float>(box.y), static_cast<float>(box.width),
                 static_cast<float>(box.height)},
             score}};
  }
  std::string name() const override { return "upright"; }
  float score = 0.9f;
  int runs = 0;
};

cv::Mat frame_with_square(cv::Point2f centre, float side, float angle) {
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(40, 40, 40));
  cv::Point2f corners[4];
  cv::RotatedRect(centre, {side, side}, angle).points(corners);
  std::vector<cv::Point> polygon(corners, corners + 4);
  cv::fillConvexPoly(frame, polygon, cv::Scalar(255, 255, 255), cv::LINE_AA);
  return frame;
}

TEST(MultiPassDetector, ATurnedPassFindsATiltedFaceAndReportsItWhereItIs) {
  const cv::Point2f centre(420, 170);
  const cv::Mat frame = frame_with_square(centre, 80, 25);
  UprightSquareDetector alone;
  EXPECT_TRUE(alone.detect(frame, 0.5f).empty()) << "the primary detector alone must miss the tilted square";

  std::vector<DetectorPass> passes;
  passes.push_back({std::make_unique<UprightSquareDetector>(), 25});
  passes.push_back({std::make_unique<UprightSquareDetector>(), -25});
  MultiPassDetector detector(std::make_unique<UprightSquareDetector>(), std::move(passes));
  const auto found = detector.detect(frame, 0.5f);
  ASSERT_EQ(found.size(), 1u);
  const Box& box = found.front().box;
  EXPECT_NEAR(box.x + box.width / 2, centre.x, 3);
  EXPECT_NEAR(box.y + box.height / 2, centre.y, 3);
  EXPECT_NEAR(box.width, 80, 4);
  EXPECT_EQ(detector.name(), "upright+upright@25+upright@-25");
}

TEST(MultiPassDetector, OneFaceFoundByEveryPassIsReportedOnce) {
  const cv::Mat frame = frame_with_square({200, 240}, 90, 0);
  std::vector<DetectorPass> passes;
  auto larger = std::make_unique<UprightSquareDetector>();
  larger->score = 0.95f;
  passes.push_back({std::move(larger), 0});
  MultiPassDetector detector(std::make_unique<UprightSquareDetector>(), std::move(passes));
  const auto found = detector.detect(frame, 0.5f);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FLOAT_EQ(found.front().score, 0.95f);  // the better of the two
}

TEST(MultiPassDetector, RefusesAMissingDetector) {
  EXPECT_THROW(MultiPassDetector(nullptr, {}), std::invalid_argument);
  std::vector<DetectorPass> passes;
  passes.push_back({nullptr, 10});
  EXPECT_THROW(MultiPassDetector(std::make_unique<UprightSquareDetector>(), std::move(passes)), std::invalid_argument);
}

TEST(MergeDetections, OverlappingBoxesKeepTheBestAndSeparateOnesStay) {
  const std::vector<FaceDetection> all = {
      {{0, 0, 100, 100}, 0.6f}, {{5, 5, 100, 100}, 0.8f}, {{300, 300, 50, 50}, 0.7f}, {{60, 60, 100, 100}, 0.9f}};
  const auto kept = merge_detections(all, 0.4f);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);  // overlaps the 0.8 box by less than 0.4
  EXPECT_FLOAT_EQ(kept[1].score, 0.8f);  // the 0.6 box is the same face
  EXPECT_FLOAT_EQ(kept[2].score, 0.7f);
}

}  // namespace
}  // namespace safelynx::vision
