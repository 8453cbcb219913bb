// The OpenBLAS convolution layer must compute what OpenCV's Convolution layer
// (followed by OpenCV's activation layer) computes, for every way it splits the
// work: blocks of columns within or across images, channel tiles, 1x1 layers
// that multiply the input directly.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <opencv2/core/utility.hpp>

#include "vision/blas.hpp"
#include "vision/net_builder.hpp"

namespace safelynx::vision {
namespace {

#define SKIP_WITHOUT_OPENBLAS() \
  if (!blas::available()) GTEST_SKIP() << "OpenBLAS not usable, so the layer is not either: " << blas::description()

cv::Mat random_blob(std::vector<int> sizes, std::mt19937& rng) {
  cv::Mat m(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < m.total(); ++i) m.ptr<float>()[i] = dist(rng);
  return m;
}

std::vector<float> random_values(int count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

cv::Mat run_conv(ConvImplementation implementation, const cv::Mat& input, const ConvWeights& w, int stride,
                 Padding padding, Activation activation, std::string* layer_type = nullptr) {
  NetBuilder b(implementation);
  const int id = b.conv(NetBuilder::kInput, w, stride, padding, "conv", activation);
  configure_cpu_net(b.net());
  b.net().setInput(input);
  cv::Mat out = b.net().forward();
  if (layer_type) *layer_type = b.net().getLayer(id)->type;
  return out.clone();
}

// Largest |a - b| relative to max(|b|, 1).
double max_relative_difference(const cv::Mat& a, const cv::Mat& b) {
  double worst = 0;
  for (std::size_t i = 0; i < b.total(); ++i) {
    const double x = a.ptr<float>()[i], y = b.ptr<float>()[i];
    worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), 1.0));
  }
  return worst;
}

struct ConvCase {
  std::string name;
  int batch, in_channels, height, width, out_channels, kernel, stride;
  Padding padding;
  Activation activation;
  bool bias = true;
};

class GemmConvolutionAgainstOpenCv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(GemmConvolutionAgainstOpenCv, MatchesOpenCvConvolutionAndActivation) {
  SKIP_WITHOUT_OPENBLAS();
  const ConvCase& p = GetParam();
  std::mt19937 rng(11);
  const cv::Mat input = random_blob({p.batch, p.in_channels, p.height, p.width}, rng);
  ConvWeights w;
  w.filters = random_blob({p.out_channels, p.in_channels, p.kernel, p.kernel}, rng);
  if (p.bias) w.bias = random_values(p.out_channels, rng);

  std::string type;
  const cv::Mat expected = run_conv(ConvImplementation::OpenCv, input, w, p.stride, p.padding, p.activation);
  const cv::Mat actual = run_conv(ConvImplementation::Gemm, input, w, p.stride, p.padding, p.activation, &type);
  EXPECT_EQ(type, kGemmConvolutionLayerType);
  ASSERT_EQ(cv::dnn::MatShape(actual.size.p, actual.size.p + actual.dims),
            cv::dnn::MatShape(expected.size.p, expected.size.p + expected.dims));
  EXPECT_LE(max_relative_difference(actual, expected), 1e-4);
}

const Activation kLeaky = Activation::leaky_relu(0.1f);

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmConvolutionAgainstOpenCv,
    ::testing::Values(
        // 1x1 stride 1: the input planes are the operand (per image), or gathered when small.
        ConvCase{"pointwise_16x16", 1, 8, 16, 16, 12, 1, 1, Padding::Same, Activation::none()},
        ConvCase{"pointwise_batch3_16x16_relu6", 3, 8, 16, 16, 12, 1, 1, Padding::Same, Activation::relu6()},
        ConvCase{"pointwise_batch3_7x7_relu", 3, 16, 7, 7, 8, 1, 1, Padding::Same, Activation::relu()},
        ConvCase{"pointwise_channel_tiles_4x4", 1, 32, 4, 4, 64, 1, 1, Padding::Valid, Activation::relu6()},
        ConvCase{"pointwise_batch3_channel_tiles_3x3", 3, 32, 3, 3, 64, 1, 1, Padding::Same, kLeaky},
        ConvCase{"pointwise_many_blocks_96x96", 1, 4, 96, 96, 64, 1, 1, Padding::Same, kLeaky},
        ConvCase{"pointwise_stride2_9x9", 1, 8, 9, 9, 8, 1, 2, Padding::Same, Activation::relu()},
        // 3x3 'same', stride 1 and 2, even and odd sizes.
        ConvCase{"conv3x3_stride1_same_8x8_relu", 1, 5, 8, 8, 7, 3, 1, Padding::Same, Activation::relu()},
        ConvCase{"conv3x3_stride1_same_batch3_9x9_relu6", 3, 5, 9, 9, 7, 3, 1, Padding::Same, Activation::relu6()},
        ConvCase{"conv3x3_stride2_same_10x10_leaky", 1, 4, 10, 10, 6, 3, 2, Padding::Same, kLeaky},
        ConvCase{"conv3x3_stride2_same_batch3_11x11", 3, 4, 11, 11, 6, 3, 2, Padding::Same, Activation::none()},
        ConvCase{"conv3x3_stride2_same_9x12_no_bias", 1, 3, 9, 12, 5, 3, 2, Padding::Same, Activation::relu(), false},
        ConvCase{"conv3x3_stride2_valid_batch3_9x9", 3, 3, 9, 9, 5, 3, 2, Padding::Valid, Activation::relu()},
        // 7x7 stride 2 'valid' (the descriptor's first layer).
        ConvCase{"conv7x7_stride2_valid_23x23_relu", 1, 3, 23, 23, 8, 7, 2, Padding::Valid, Activation::relu()},
        ConvCase{"conv7x7_stride2_valid_batch3_24x24", 3, 3, 24, 24, 8, 7, 2, Padding::Valid, Activation::none()},
        // Many column blocks, some straddling two images.
        ConvCase{"conv3x3_valid_batch3_100x100_leaky", 3, 3, 100, 100, 16, 3, 1, Padding::Valid, kLeaky},
        // Wide kernels on small maps: channel tiles after gathering every image.
        ConvCase{"conv3x3_same_batch3_channel_tiles_5x5", 3, 64, 5, 5, 128, 3, 1, Padding::Same, Activation::relu()},
        ConvCase{"conv3x3_same_channel_tiles_4x4", 1, 64, 4, 4, 96, 3, 1, Padding::Same, Activation::none()}),
    [](const ::testing::TestParamInfo<ConvCase>& param_info) { return param_info.param.name; });

// Plans depend on the thread count, which may change after OpenCV allocated the
// layer's scratch: with one thread both layers multiply column blocks; with two,
// the second splits output channels and needs scratch that was not allocated.
TEST(GemmConvolution, MatchesOpenCvWhenTheThreadCountChanges) {
  SKIP_WITHOUT_OPENBLAS();
  std::mt19937 rng(5);
  struct Shape {
    int batch, channels, size, out_channels;
  };
  const int threads = cv::getNumThreads();
  for (const Shape s : {Shape{3, 16, 13, 24}, Shape{1, 64, 4, 96}}) {
    const cv::Mat input = random_blob({s.batch, s.channels, s.size, s.size}, rng);
    ConvWeights w;
    w.filters = random_blob({s.out_channels, s.channels, 3, 3}, rng);
    w.bias = random_values(s.out_channels, rng);
    const cv::Mat expected = run_conv(ConvImplementation::OpenCv, input, w, 1, Padding::Same, Activation::relu());

    NetBuilder b(ConvImplementation::Gemm);
    b.conv(NetBuilder::kInput, w, 1, Padding::Same, "conv", Activation::relu());
    configure_cpu_net(b.net());
    for (int n : {1, 2, 1}) {
      cv::setNumThreads(n);
      b.net().setInput(input);
      EXPECT_LE(max_relative_difference(b.net().forward(), expected), 1e-4) << n << " threads, " << s.channels << " channels";
    }
  }
  cv::setNumThreads(threads);
}

// Each engine owns its networks; engines in parallel threads call OpenBLAS
// concurrently (single-threaded OpenBLAS calls are thread-safe).
TEST(GemmConvolution, NetworksInParallelThreadsGiveTheSameResults) {
  SKIP_WITHOUT_OPENBLAS();
  std::mt19937 rng(9);
  const cv::Mat input = random_blob({2, 8, 40, 40}, rng);
  ConvWeights w1, w2;
  w1.filters = random_blob({16, 8, 3, 3}, rng);
  w1.bias = random_values(16, rng);
  w2.filters = random_blob({32, 16, 1, 1}, rng);
  auto build = [&](NetBuilder& b) {
    b.conv(b.conv(NetBuilder::kInput, w1, 2, Padding::Same, "c1", Activation::relu()), w2, 1, Padding::Same, "c2");
    configure_cpu_net(b.net());
  };
  NetBuilder reference(ConvImplementation::Gemm);
  build(reference);
  reference.net().setInput(input);
  const cv::Mat expected = reference.net().forward().clone();

  constexpr int kThreads = 3, kRuns = 30;
  std::vector<double> worst(kThreads, 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      NetBuilder b(ConvImplementation::Gemm);
      build(b);
      for (int i = 0; i < kRuns; ++i) {
        b.net().setInput(input);
        worst[static_cast<std::size_t>(t)] =
            std::max(worst[static_cast<std::size_t>(t)], max_relative_difference(b.net().forward(), expected));
      }
    });
  for (auto& thread : threads) thread.join();
  for (double d : worst) EXPECT_LE(d, 1e-5);
}

TEST(GemmConvolution, EnvironmentVariableSelectsOpenCvConvolution) {
  SKIP_WITHOUT_OPENBLAS();
  const char* old = std::getenv("SAFELYNX_GEMM_CONV");
  const std::optional<std::string> previous = old ? std::optional<std::string>(old) : std::nullopt;
  std::mt19937 rng(3);
  const cv::Mat input = random_blob({1, 2, 5, 5}, rng);
  ConvWeights w;
  w.filters = random_blob({3, 2, 3, 3}, rng);

  setenv("SAFELYNX_GEMM_CONV", "0", 1);
  std::string type;
  run_conv(ConvImplementation::Automatic, input, w, 1, Padding::Same, Activation::none(), &type);
  EXPECT_EQ(type, "Convolution");
  EXPECT_FALSE(NetBuilder().uses_gemm_convolution());
  unsetenv("SAFELYNX_GEMM_CONV");
  run_conv(ConvImplementation::Automatic, input, w, 1, Padding::Same, Activation::none(), &type);
  EXPECT_EQ(type, kGemmConvolutionLayerType);
  EXPECT_TRUE(NetBuilder().uses_gemm_convolution());

  if (previous) setenv("SAFELYNX_GEMM_CONV", previous->c_str(), 1);
}

TEST(GemmConvolution, DepthwiseConvolutionsStayOpenCvLayers) {
  SKIP_WITHOUT_OPENBLAS();
  ConvWeights w = depthwise_weights(Tensor{"f", {3, 3, 4, 1}, std::vector<float>(36, 0.5f)}, nullptr);
  NetBuilder b(ConvImplementation::Gemm);
  const int id = b.conv(NetBuilder::kInput, w, 1, Padding::Same, "dw", Activation::relu6());
  // The activation is a separate layer (which OpenCV fuses), returned as the result.
  EXPECT_EQ(b.net().getLayer(id)->type, "ReLU6");
  EXPECT_EQ(b.net().getLayer(id - 1)->type, "Convolution");
}

TEST(Blas, SgemmMultipliesRowMajorMatrices) {
  SKIP_WITHOUT_OPENBLAS();
  EXPECT_NE(blas::description().find("core"), std::string::npos) << blas::description();
  EXPECT_GE(blas::threads(), 1);
  // [2 x 3] * [3 x 2], with row strides larger than the widths.
  const float a[] = {1, 2, 3, 0, 4, 5, 6, 0};
  const float b[] = {7, 8, 0, 9, 10, 0, 11, 12, 0};
  float c[6] = {-1, -1, -1, -1, -1, -1};
  blas::sgemm(2, 2, 3, a, 4, b, 3, c, 3);
  EXPECT_FLOAT_EQ(c[0], 58);   // 1*7 + 2*9 + 3*11
  EXPECT_FLOAT_EQ(c[1], 64);   // 1*8 + 2*10 + 3*12
  EXPECT_FLOAT_EQ(c[2], -1);   // outside the 2 columns: untouched
  EXPECT_FLOAT_EQ(c[3], 139);  // 4*7 + 5*9 + 6*11
  EXPECT_FLOAT_EQ(c[4], 154);  // 4*8 + 5*10 + 6*12
}

}  // namespace
}  // namespace safelynx::vision
