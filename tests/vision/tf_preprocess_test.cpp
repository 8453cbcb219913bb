#include <gtest/gtest.h>

#include <vector>

#include "vision/tf_preprocess.hpp"

namespace safelynx::vision {
namespace {

// A 1-row image whose red channel holds `values` (BGR storage).
cv::Mat red_row(const std::vector<int>& values) {
  cv::Mat m(1, static_cast<int>(values.size()), CV_8UC3, cv::Scalar(0, 0, 0));
  for (std::size_t i = 0; i < values.size(); ++i) m.at<cv::Vec3b>(0, static_cast<int>(i))[2] = static_cast<uchar>(values[i]);
  return m;
}

TEST(TfPreprocess, UpsamplesWithTensorflowLegacyBilinearSampling) {
  // 2x2 -> 4x4: source positions are 0, 0.5, 1, 1.5 (dst * in/out, no half-pixel
  // offset); past the last pixel TF clamps, so the last column repeats.
  cv::Mat image(2, 2, CV_8UC3);
  image.at<cv::Vec3b>(0, 0) = {0, 0, 0};
  image.at<cv::Vec3b>(0, 1) = {0, 0, 100};
  image.at<cv::Vec3b>(1, 0) = {0, 0, 200};
  image.at<cv::Vec3b>(1, 1) = {0, 0, 40};
  std::vector<float> out(3 * 16);
  square_resize_normalise(image, 4, SquarePadding::End, {}, out.data());
  const float expected_red[16] = {0,   50,  100, 100,  //
                                  100, 85,  70,  70,   //
                                  200, 120, 40,  40,   //
                                  200, 120, 40,  40};
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(i)], expected_red[i]) << "pixel " << i;
  for (int i = 16; i < 48; ++i) EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(i)], 0.0f);  // green, blue planes
}

TEST(TfPreprocess, PadsAtTheEndOrCentredAsFaceApiDoes) {
  // A 1x4 image becomes 4x4: zeros appended below, or split 2 above / 1 below
  // (face-api appends round(3 / 2) = 2 rows and prepends the remaining 1).
  const cv::Mat image = red_row({10, 20, 30, 40});
  std::vector<float> end(3 * 16), centred(3 * 16);
  square_resize_normalise(image, 4, SquarePadding::End, {}, end.data());
  square_resize_normalise(image, 4, SquarePadding::Centred, {}, centred.data());
  for (int x = 0; x < 4; ++x) {
    EXPECT_FLOAT_EQ(end[static_cast<std::size_t>(x)], 10.0f * static_cast<float>(x + 1));
    EXPECT_FLOAT_EQ(end[static_cast<std::size_t>(4 + x)], 0.0f);
    EXPECT_FLOAT_EQ(centred[static_cast<std::size_t>(x)], 0.0f);
    EXPECT_FLOAT_EQ(centred[static_cast<std::size_t>(4 + x)], 10.0f * static_cast<float>(x + 1));
    EXPECT_FLOAT_EQ(centred[static_cast<std::size_t>(8 + x)], 0.0f);
  }
}

TEST(TfPreprocess, NormalisesPerChannelAfterPadding) {
  cv::Mat image(1, 2, CV_8UC3, cv::Scalar(30, 20, 10));  // B=30, G=20, R=10
  std::vector<float> out(3 * 4);
  square_resize_normalise(image, 2, SquarePadding::End, {{10, 20, 30}, 0.5f}, out.data());
  EXPECT_FLOAT_EQ(out[0], 0.0f);                 // R: (10 - 10) * 0.5
  EXPECT_FLOAT_EQ(out[4], 0.0f);                 // G: (20 - 20) * 0.5
  EXPECT_FLOAT_EQ(out[8], 0.0f);                 // B: (30 - 30) * 0.5
  EXPECT_FLOAT_EQ(out[2], -5.0f);                // padded row, R: (0 - 10) * 0.5
  EXPECT_FLOAT_EQ(out[10], -15.0f);              // padded row, B: (0 - 30) * 0.5
}

TEST(TfPreprocess, ReshapedDimensionsRoundLikeFaceApi) {
  EXPECT_EQ(reshaped_dimensions({640, 480}, 512), cv::Size(512, 384));
  EXPECT_EQ(reshaped_dimensions({333, 1000}, 416), cv::Size(139, 416));  // 138.53 rounds up
}

}  // namespace
}  // namespace safelynx::vision
