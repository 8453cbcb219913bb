// dlib's face chip: the similarity fitted to the landmarks (rotation
// included) and the pixels taken through it, as dlib's
// get_face_chip_details(shape, 150, 0.25) and extract_image_chip do.
#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "vision/face_alignment.hpp"

namespace safelynx::vision {
namespace {

// A similarity: rotation by `degrees`, then `scale`, then a shift.
struct Similarity {
  double degrees = 0, scale = 1, dx = 0, dy = 0;
  cv::Point2d operator()(cv::Point2d p) const {
    const double a = degrees * std::numbers::pi / 180;
    return {scale * (std::cos(a) * p.x - std::sin(a) * p.y) + dx, scale * (std::sin(a) * p.x + std::cos(a) * p.y) + dy};
  }
};

cv::Point2d apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

// Landmarks exactly where `to_image` puts dlib's reference points; the
// points dlib does not fit (jaw, eyebrows, lower lip) far off, to show they
// are ignored.
Landmarks68 landmarks_through(const Similarity& to_image) {
  Landmarks68 points;
  for (Point& p : points) p = {-500, 900};
  for (const ChipReferencePoint& r : dlib_chip_reference_points()) {
    const cv::Point2d q = to_image(r.chip);
    points[r.landmark] = {static_cast<float>(q.x), static_cast<float>(q.y)};
  }
  return points;
}

TEST(FaceChip, RecoversRotationScaleAndCentreOfTheLandmarks) {
  const Similarity to_image{25, 1.6, 140, 60};
  const FaceChip chip = dlib_face_chip(landmarks_through(to_image));
  EXPECT_EQ(chip.size, 150);
  const cv::Matx23d& m = chip.chip_to_image;
  EXPECT_NEAR(std::atan2(m(1, 0), m(0, 0)) * 180 / std::numbers::pi, 25, 1e-4) << "the chip turns with the face";
  // dlib spans size * scale - 1 image pixels with size - 1 chip steps.
  EXPECT_NEAR(chip.scale(), (150 * 1.6 - 1) / 149, 1e-5);
  // The middle of the chip is where the similarity puts the chip's centre.
  const cv::Point2d centre = apply(m, {74.5, 74.5}), expected = to_image({75, 75});
  EXPECT_NEAR(centre.x, expected.x, 1e-3);
  EXPECT_NEAR(centre.y, expected.y, 1e-3);
  // Every reference point lands within a chip pixel of its landmark (dlib's
  // corner-to-corner span shifts them by up to about 0.7 of one).
  const Landmarks68 points = landmarks_through(to_image);
  for (const ChipReferencePoint& r : dlib_chip_reference_points()) {
    const cv::Point2d q = apply(m, r.chip);
    EXPECT_NEAR(q.x, points[r.landmark].x, chip.scale()) << r.landmark;
    EXPECT_NEAR(q.y, points[r.landmark].y, chip.scale()) << r.landmark;
  }
}

TEST(FaceChip, ReferencePointsAreDlibsPaddedMeanFace) {
  const auto points = dlib_chip_reference_points(150, 0.25);
  ASSERT_EQ(points.size(), 33u);
  EXPECT_EQ(points.front().landmark, 27u);  // top of the nose
  EXPECT_EQ(points.back().landmark, 64u);   // inner corner of the mouth
  // Nose tip (30) of dlib's mean face: (0.490127, 0.515625) of the face square.
  for (const auto& p : points) {
    if (p.landmark != 30) continue;
    EXPECT_NEAR(p.chip.x, (0.25 + 0.490127) / 1.5 * 150, 1e-9);
    EXPECT_NEAR(p.chip.y, (0.25 + 0.515625) / 1.5 * 150, 1e-9);
  }
}

TEST(FaceChip, LandmarksInOnePointGiveAnEmptyChip) {
  Landmarks68 points;
  for (Point& p : points) p = {50, 50};
  const FaceChip chip = dlib_face_chip(points);
  EXPECT_LE(chip.bounds().width, 0);
  EXPECT_TRUE(aligned_crop(cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(9)), points, {100, 100}, FaceAlignment::DlibChip)
                  .empty());
}

// An image whose blue channel is x / step and green y / step: a chip's
// pixels then tell where in the image they were sampled.
cv::Mat coordinate_ramp(int side, int step) {
  cv::Mat image(side, side, CV_8UC3);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      image.at<cv::Vec3b>(y, x) = {cv::saturate_cast<uchar>(x / step), cv::saturate_cast<uchar>(y / step), 0};
  return image;
}

// Mean of (sampled - expected) over the chip's inner pixels, per channel.
cv::Point2d mean_sampling_error(const cv::Mat& chip_pixels, const FaceChip& chip, int step_pixels) {
  const double step = step_pixels;
  cv::Point2d sum;
  int n = 0;
  for (int v = 10; v < chip.size - 10; ++v) {
    for (int u = 10; u < chip.size - 10; ++u) {
      const cv::Point2d at = apply(chip.chip_to_image, {static_cast<double>(u), static_cast<double>(v)});
      const cv::Vec3b px = chip_pixels.at<cv::Vec3b>(v, u);
      // The ramp is floor(x / step): on average x / step - 0.5 + 0.5 / step.
      sum += cv::Point2d(px[0] - (at.x / step - 0.5 + 0.5 / step), px[1] - (at.y / step - 0.5 + 0.5 / step));
      ++n;
    }
  }
  return sum / n;
}

TEST(FaceChip, SamplesTheImageWhereTheTransformSays) {
  const int step = 1;
  const cv::Mat image = coordinate_ramp(250, step);
  const FaceChip chip = dlib_face_chip(landmarks_through({-15, 1.1, 40, 60}));  // wholly inside the image
  const cv::Mat pixels = extract_face_chip(image, chip);
  ASSERT_EQ(pixels.size(), cv::Size(150, 150));
  const cv::Point2d error = mean_sampling_error(pixels, chip, step);
  EXPECT_NEAR(error.x, 0, 0.2);
  EXPECT_NEAR(error.y, 0, 0.2);
}

TEST(FaceChip, LargeFacesGoThroughThePyramidWithoutShifting) {
  // Scale 3.2: the chip comes from the first pyramid level (half size),
  // where a wrong mapping would be off by whole level pixels (two here).
  const int step = 4;
  const cv::Mat image = coordinate_ramp(1000, step);
  const FaceChip chip = dlib_face_chip(landmarks_through({10, 3.2, 200, 150}));
  const cv::Mat pixels = extract_face_chip(image, chip);
  const cv::Point2d error = mean_sampling_error(pixels, chip, step);
  EXPECT_NEAR(error.x, 0, 0.2);
  EXPECT_NEAR(error.y, 0, 0.2);
}

TEST(FaceChip, OutsideTheImageIsBlack) {
  const cv::Mat image(200, 200, CV_8UC3, cv::Scalar::all(255));
  // Centred on the image's left edge: the chip's left half lies outside.
  const FaceChip chip = dlib_face_chip(landmarks_through({0, 1, -75, 25}));
  const cv::Mat pixels = extract_face_chip(image, chip);
  EXPECT_EQ(pixels.at<cv::Vec3b>(75, 20), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(pixels.at<cv::Vec3b>(75, 130), cv::Vec3b(255, 255, 255));
}

TEST(FaceAlignmentKind, ParsesAndPrintsItsNames) {
  EXPECT_EQ(parse_face_alignment("dlib-chip"), FaceAlignment::DlibChip);
  EXPECT_EQ(parse_face_alignment("face-api"), FaceAlignment::FaceApiBox);
  EXPECT_EQ(to_string(FaceAlignment::DlibChip), "dlib-chip");
  EXPECT_EQ(to_string(FaceAlignment::FaceApiBox), "face-api");
  EXPECT_THROW(parse_face_alignment("box"), std::invalid_argument);
}

}  // namespace
}  // namespace safelynx::vision
