// The layers we build must compute what TensorFlow computes for the same
// tensors: checked against a naive NHWC convolution written from TF's rules.
#include <gtest/gtest.h>

#include <random>

#include "vision/net_builder.hpp"

namespace safelynx::vision {
namespace {

Tensor random_tensor(const std::string& name, std::vector<int> shape, std::mt19937& rng) {
  Tensor t{name, shape, {}};
  std::size_t n = 1;
  for (int d : shape) n *= static_cast<std::size_t>(d);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (std::size_t i = 0; i < n; ++i) t.values.push_back(dist(rng));
  return t;
}

// TF conv2d on one HWC image with HWIO filters; depthwise when `depthwise`.
std::vector<float> tf_conv(const std::vector<float>& hwc, int h, int w, int c, const Tensor& f, int stride, bool same,
                           bool depthwise, int& out_h, int& out_w) {
  const int kh = f.shape[0], kw = f.shape[1], out_c = depthwise ? c : f.shape[3];
  int pad_top = 0, pad_left = 0;
  if (same) {
    out_h = (h + stride - 1) / stride;
    out_w = (w + stride - 1) / stride;
    pad_top = std::max((out_h - 1) * stride + kh - h, 0) / 2;  // TF puts the odd pixel at the end
    pad_left = std::max((out_w - 1) * stride + kw - w, 0) / 2;
  } else {
    out_h = (h - kh) / stride + 1;
    out_w = (w - kw) / stride + 1;
  }
  std::vector<float> out(static_cast<std::size_t>(out_h * out_w * out_c), 0.0f);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int o = 0; o < out_c; ++o) {
        float sum = 0;
        for (int ky = 0; ky < kh; ++ky)
          for (int kx = 0; kx < kw; ++kx) {
            const int iy = y * stride + ky - pad_top, ix = x * stride + kx - pad_left;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            if (depthwise) {
              sum += hwc[static_cast<std::size_t>((iy * w + ix) * c + o)] *
                     f.values[static_cast<std::size_t>((ky * kw + kx) * c + o)];
            } else {
              for (int i = 0; i < c; ++i)
                sum += hwc[static_cast<std::size_t>((iy * w + ix) * c + i)] *
                       f.values[static_cast<std::size_t>(((ky * kw + kx) * c + i) * out_c + o)];
            }
          }
        out[static_cast<std::size_t>((y * out_w + x) * out_c + o)] = sum;
      }
  return out;
}

cv::Mat nchw_from_hwc(const std::vector<float>& hwc, int h, int w, int c) {
  const int sizes[] = {1, c, h, w};
  cv::Mat m(4, sizes, CV_32F);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) m.ptr<float>()[(k * h + y) * w + x] = hwc[static_cast<std::size_t>((y * w + x) * c + k)];
  return m;
}

struct ConvCase {
  int kernel;
  int stride;
  Padding padding;
  bool depthwise;
  int size;
};

class ConvAgainstTensorflow : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvAgainstTensorflow, MatchesNaiveTensorflowConvolution) {
  const ConvCase p = GetParam();
  std::mt19937 rng(7);
  const int channels = 3, out_channels = 5, h = p.size, w = p.size + 1;
  const Tensor input = random_tensor("input", {h, w, channels}, rng);
  const Tensor filters = random_tensor("filters", {p.kernel, p.kernel, channels, p.depthwise ? 1 : out_channels}, rng);
  const Tensor bias = random_tensor("bias", {p.depthwise ? channels : out_channels}, rng);

  int out_h = 0, out_w = 0;
  std::vector<float> expected =
      tf_conv(input.values, h, w, channels, filters, p.stride, p.padding == Padding::Same, p.depthwise, out_h, out_w);
  const int out_c = p.depthwise ? channels : out_channels;
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] += bias.values[i % static_cast<std::size_t>(out_c)];

  NetBuilder b;
  b.conv(NetBuilder::kInput, p.depthwise ? depthwise_weights(filters, &bias) : conv_weights(filters, &bias), p.stride,
         p.padding, "conv");
  configure_cpu_net(b.net());
  b.net().setInput(nchw_from_hwc(input.values, h, w, channels));
  const cv::Mat out = b.net().forward();
  ASSERT_EQ(out.size[1], out_c);
  ASSERT_EQ(out.size[2], out_h);
  ASSERT_EQ(out.size[3], out_w);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int o = 0; o < out_c; ++o)
        ASSERT_NEAR(out.ptr<float>()[(o * out_h + y) * out_w + x],
                    expected[static_cast<std::size_t>((y * out_w + x) * out_c + o)], 1e-4)
            << "at y=" << y << " x=" << x << " channel " << o;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvAgainstTensorflow,
                         ::testing::Values(ConvCase{3, 1, Padding::Same, false, 6}, ConvCase{3, 2, Padding::Same, false, 8},
                                           ConvCase{3, 2, Padding::Same, false, 7}, ConvCase{7, 2, Padding::Valid, false, 15},
                                           ConvCase{1, 1, Padding::Same, false, 4}, ConvCase{3, 2, Padding::Same, true, 8},
                                           ConvCase{3, 1, Padding::Same, true, 5}, ConvCase{3, 2, Padding::Valid, false, 9}),
                         [](const ::testing::TestParamInfo<ConvCase>& param_info) {
                           const ConvCase& c = param_info.param;
                           return std::string(c.depthwise ? "depthwise" : "conv") + std::to_string(c.kernel) + "x" +
                                  std::to_string(c.kernel) + "_stride" + std::to_string(c.stride) +
                                  (c.padding == Padding::Same ? "_same_" : "_valid_") + std::to_string(c.size);
                         });

TEST(NetBuilder, FoldAffineScalesWeightsAndShiftsBias) {
  Tensor filters{"f", {1, 1, 1, 2}, {2.0f, 3.0f}};
  Tensor bias{"b", {2}, {1.0f, -1.0f}};
  ConvWeights w = conv_weights(filters, &bias);
  w.fold_affine({10.0f, 0.5f}, {1.0f, 2.0f});
  EXPECT_FLOAT_EQ(w.filters.ptr<float>()[0], 20.0f);
  EXPECT_FLOAT_EQ(w.filters.ptr<float>()[1], 1.5f);
  EXPECT_FLOAT_EQ(w.bias[0], 11.0f);  // 1 * 10 + 1
  EXPECT_FLOAT_EQ(w.bias[1], 1.5f);   // -1 * 0.5 + 2
}

TEST(NetBuilder, MaxPoolSameAndZeroPaddingFollowTensorflow) {
  // 3x3 input, 2x2 max pool stride 2 'same': TF pads one row/column at the end.
  const int sizes[] = {1, 1, 3, 3};
  cv::Mat input(4, sizes, CV_32F);
  for (int i = 0; i < 9; ++i) input.ptr<float>()[i] = static_cast<float>(i) - 4.0f;  // -4 .. 4
  NetBuilder b;
  b.pad_end(b.max_pool(NetBuilder::kInput, 2, 2, Padding::Same), 1, 1, 1);
  configure_cpu_net(b.net());
  b.net().setInput(input);
  const cv::Mat out = b.net().forward();
  ASSERT_EQ(out.size[1], 2);
  ASSERT_EQ(out.size[2], 3);
  ASSERT_EQ(out.size[3], 3);
  const float* o = out.ptr<float>();
  EXPECT_FLOAT_EQ(o[0], 0.0f);   // max(-4, -3, -1, 0)
  EXPECT_FLOAT_EQ(o[1], 1.0f);   // max(-2, 1): padding does not count
  EXPECT_FLOAT_EQ(o[3], 3.0f);   // max(2, 3)
  EXPECT_FLOAT_EQ(o[4], 4.0f);
  EXPECT_FLOAT_EQ(o[2], 0.0f);   // zero-padded column
  EXPECT_FLOAT_EQ(o[9], 0.0f);   // zero-padded channel
}

TEST(NetBuilder, RejectsWeightsOfTheWrongRank) {
  EXPECT_THROW(conv_weights(Tensor{"f", {3, 3, 3}, std::vector<float>(27)}, nullptr), WeightLoadError);
  EXPECT_THROW(depthwise_weights(Tensor{"f", {3, 3, 3, 2}, std::vector<float>(54)}, nullptr), WeightLoadError);
  Tensor bias{"b", {4}, std::vector<float>(4)};
  EXPECT_THROW(conv_weights(Tensor{"f", {1, 1, 3, 5}, std::vector<float>(15)}, &bias), WeightLoadError);
}

}  // namespace
}  // namespace safelynx::vision
