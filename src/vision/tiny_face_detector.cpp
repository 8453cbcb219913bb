#include "vision/tiny_face_detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vision/model_paths.hpp"
#include "vision/net_builder.hpp"
#include "vision/tf_preprocess.hpp"

namespace safelynx::vision {
namespace {

constexpr float kNmsIou = 0.4f;
constexpr float kLeakySlope = 0.10000000149011612f;
constexpr int kAnchors = 5;
constexpr float kAnchorSizes[kAnchors][2] = {
    {1.603231f, 2.094468f}, {6.041143f, 7.080126f}, {2.882459f, 3.518061f}, {4.266906f, 5.178857f}, {9.041765f, 10.66308f}};

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Depthwise 3x3 (padded by one) then pointwise 1x1 with bias, then leaky ReLU.
int separable_layer(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int in, int out) {
  const int dw = b.conv(input, depthwise_weights(w.require(prefix + "/depthwise_filter", {3, 3, in, 1}), nullptr), 1,
                        Padding::Same, "dw");
  return b.conv(dw, conv_weights(w.require(prefix + "/pointwise_filter", {1, 1, in, out}), &w.require(prefix + "/bias", {out})),
                1, Padding::Same, "pw", Activation::leaky_relu(kLeakySlope));
}

}  // namespace

void validate_tiny_input_size(int size) {
  if (size <= 0 || size % 32 != 0 || size > 2048)
    throw std::invalid_argument("tiny detector input size must be a multiple of 32 between 32 and 2048, got " +
                                std::to_string(size));
}

TinyFaceDetector::TinyFaceDetector(const std::filesystem::path& models_dir, int input_size)
    : TinyFaceDetector(load_tfjs_weights(models_dir / kTinyDetectorManifest), input_size) {}

TinyFaceDetector::TinyFaceDetector(const WeightMap& w, int input_size) : input_size_(input_size) {
  validate_tiny_input_size(input_size);
  NetBuilder b;
  int x = b.conv(NetBuilder::kInput, conv_weights(w.require("conv0/filters", {3, 3, 3, 16}), &w.require("conv0/bias", {16})),
                 1, Padding::Valid, "conv0", Activation::leaky_relu(kLeakySlope));
  const int channels[] = {16, 32, 64, 128, 256, 512};
  for (int i = 1; i <= 5; ++i) {
    x = b.max_pool(x, 2, 2, Padding::Same);
    x = separable_layer(b, w, x, "conv" + std::to_string(i), channels[i - 1], channels[i]);
  }
  x = b.max_pool(x, 2, 1, Padding::Same);
  b.conv(x, conv_weights(w.require("conv8/filters", {1, 1, 512, kAnchors * 5}), &w.require("conv8/bias", {kAnchors * 5})),
         1, Padding::Valid, "conv8");
  net_ = b.net();
  configure_cpu_net(net_);
  const int sizes[] = {1, 3, input_size_, input_size_};
  input_.create(4, sizes, CV_32F);
}

std::vector<FaceDetection> TinyFaceDetector::detect(const cv::Mat& bgr, float min_score) {
  if (bgr.empty()) return {};
  square_resize_normalise(bgr, input_size_, SquarePadding::End, {{117.001f, 114.697f, 97.404f}, 1.0f / 255.0f},
                          input_.ptr<float>());
  net_.setInput(input_);
  const cv::Mat out = net_.forward();  // [1, anchors * 5, cells, cells]
  const int cells = out.size[2];
  const std::size_t plane = static_cast<std::size_t>(cells) * static_cast<std::size_t>(out.size[3]);
  const float* data = out.ptr<float>();

  const cv::Size reshaped = reshaped_dimensions(bgr.size(), input_size_);
  const float side = static_cast<float>(std::max(reshaped.width, reshaped.height));
  const float correction_x = side / static_cast<float>(reshaped.width);
  const float correction_y = side / static_cast<float>(reshaped.height);

  struct Candidate {
    Box relative;  // fractions of the image
    float score;
  };
  std::vector<Candidate> candidates;
  for (int row = 0; row < cells; ++row)
    for (int col = 0; col < out.size[3]; ++col)
      for (int a = 0; a < kAnchors; ++a) {
        const std::size_t cell = static_cast<std::size_t>(row) * static_cast<std::size_t>(out.size[3]) + static_cast<std::size_t>(col);
        auto at = [&](int k) { return data[static_cast<std::size_t>(a * 5 + k) * plane + cell]; };
        const float score = sigmoid(at(4));
        if (!(score > min_score)) continue;
        const float n = static_cast<float>(cells);
        const float cx = (static_cast<float>(col) + sigmoid(at(0))) / n * correction_x;
        const float cy = (static_cast<float>(row) + sigmoid(at(1))) / n * correction_y;
        const float w = std::exp(at(2)) * kAnchorSizes[a][0] / n * correction_x;
        const float h = std::exp(at(3)) * kAnchorSizes[a][1] / n * correction_y;
        candidates.push_back({Box{cx - w / 2, cy - h / 2, w, h}, score});
      }

  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& l, const Candidate& r) { return l.score > r.score; });
  std::vector<FaceDetection> result;
  std::vector<Box> kept;
  for (const auto& c : candidates) {
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Box& k) {
      return intersection_over_union(k, c.relative) > kNmsIou;
    });
    if (suppressed) continue;
    kept.push_back(c.relative);
    const float w = static_cast<float>(bgr.cols), h = static_cast<float>(bgr.rows);
    result.push_back({Box{c.relative.x * w, c.relative.y * h, c.relative.width * w, c.relative.height * h}, c.score});
  }
  return result;
}

}  // namespace safelynx::vision
