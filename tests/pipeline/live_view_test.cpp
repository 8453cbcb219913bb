// A camera's live view (pipeline/live_view.hpp): the newest frame as JPEG,
// encoded once per frame, with the matching stage's boxes when asked; and
// which detections are settled faces that need no new descriptor.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "pipeline/live_view.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

cv::Mat decoded(const LiveJpeg& frame) {
  const std::vector<unsigned char> bytes(frame.jpeg.begin(), frame.jpeg.end());
  return cv::imdecode(bytes, cv::IMREAD_COLOR);
}

TEST(LiveView, NothingBeforeTheFirstFrameNorTwiceTheSameFrame) {
  LiveView view;
  EXPECT_EQ(view.jpeg(true, 0), std::nullopt);
  view.offer(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(90)), 7);
  const auto first = view.jpeg(false, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->sequence, 7u);
  EXPECT_EQ(decoded(*first).size(), cv::Size(64, 48));
  EXPECT_EQ(view.jpeg(false, 7), std::nullopt) << "a viewer that has frame 7 waits for a newer one";
  view.offer(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(90)), 8);
  ASSERT_TRUE(view.jpeg(false, 7));
}

TEST(LiveView, TheOverlayIsDrawnOnlyWhenAsked) {
  LiveView view;
  view.offer(cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(0)), 1);
  view.show({OverlayBox{{20, 20, 60, 60}, "Kit", cv::Scalar(0, 0, 255)}}, {});
  const cv::Mat plain = decoded(*view.jpeg(false, 0));
  const cv::Mat drawn = decoded(*view.jpeg(true, 0));
  EXPECT_LT(plain.at<cv::Vec3b>(20, 50)[2], 40);
  EXPECT_GT(drawn.at<cv::Vec3b>(20, 50)[2], 150) << "the box's top edge is red";
  view.clear_faces();
  view.offer(cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(0)), 2);
  EXPECT_LT(decoded(*view.jpeg(true, 0)).at<cv::Vec3b>(20, 50)[2], 40) << "no face in view, no box";
}

TEST(LiveView, EachFrameIsEncodedOnceForEveryViewer) {
  LiveView view;
  view.offer(cv::Mat(32, 32, CV_8UC3, cv::Scalar::all(10)), 3);
  const auto a = view.jpeg(true, 0), b = view.jpeg(true, 0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->jpeg, b->jpeg);
}

TEST(LiveView, SettledFacesNeedNoNewDescriptorUntilTheRefreshIsDue) {
  LiveView view;
  const auto described = Steady::now();
  view.show({}, {SettledFace{{100, 100, 80, 80}, described}});
  const std::vector<FaceDetection> found{{{104, 102, 80, 80}, 0.9f}, {{300, 100, 80, 80}, 0.9f}};
  EXPECT_EQ(view.needs_descriptor(found, described + 200ms, 1s), (std::vector<bool>{false, true}));
  EXPECT_EQ(view.needs_descriptor(found, described + 2s, 1s), (std::vector<bool>{true, true}));
  view.clear_faces();
  EXPECT_EQ(view.needs_descriptor(found, described + 200ms, 1s), (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace safelynx::pipeline
