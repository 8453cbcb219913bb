#include "vision/ssd_mobilenet_detector.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "vision/model_paths.hpp"
#include "vision/net_builder.hpp"
#include "vision/tf_preprocess.hpp"

namespace safelynx::vision {
namespace {

constexpr float kBatchNormEpsilon = 0.0010000000474974513f;
constexpr float kNmsIou = 0.5f;
constexpr int kAnchorCount = 5118;

struct PredictorSpec {
  int feature;      // layer id of the feature map it reads
  int channels;     // channels of that feature map
  int anchors;      // anchors per cell
};

// face-api's pointwiseConvLayer: convolution, batch-norm offset as bias, ReLU6.
int pointwise_layer(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix,
                    std::vector<int> filter_shape, int stride) {
  const int out = filter_shape[3];
  const Tensor& filters = w.require(prefix + "/weights", filter_shape);
  const Tensor& offset = w.require(prefix + "/convolution_bn_offset", {out});
  return b.conv(input, conv_weights(filters, &offset), stride, Padding::Same, "pw", Activation::relu6());
}

// Depthwise convolution with its batch norm folded in, then ReLU6.
int depthwise_layer(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int channels,
                    int stride) {
  ConvWeights dw = depthwise_weights(w.require(prefix + "/depthwise_weights", {3, 3, channels, 1}), nullptr);
  const auto& gamma = w.require(prefix + "/BatchNorm/gamma", {channels}).values;
  const auto& beta = w.require(prefix + "/BatchNorm/beta", {channels}).values;
  const auto& mean = w.require(prefix + "/BatchNorm/moving_mean", {channels}).values;
  const auto& variance = w.require(prefix + "/BatchNorm/moving_variance", {channels}).values;
  std::vector<float> scale(static_cast<std::size_t>(channels)), shift(static_cast<std::size_t>(channels));
  for (std::size_t c = 0; c < scale.size(); ++c) {
    scale[c] = gamma[c] / std::sqrt(variance[c] + kBatchNormEpsilon);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  dw.fold_affine(scale, shift);
  return b.conv(input, dw, stride, Padding::Same, "dw", Activation::relu6());
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

SsdMobilenetDetector::SsdMobilenetDetector(const std::filesystem::path& models_dir)
    : SsdMobilenetDetector(load_tfjs_weights(models_dir / kSsdManifest)) {}

SsdMobilenetDetector::SsdMobilenetDetector(const WeightMap& w, int max_results) : max_results_(max_results) {
  NetBuilder b;
  // MobileNet v1 body.
  int x = pointwise_layer(b, w, NetBuilder::kInput, "MobilenetV1/Conv2d_0_pointwise", {3, 3, 3, 32}, 2);
  const int body_channels[] = {32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
  int conv11 = -1;
  for (int i = 1; i <= 13; ++i) {
    const int in = body_channels[i - 1], out = body_channels[i];
    const int stride = (i == 2 || i == 4 || i == 6 || i == 12) ? 2 : 1;
    const std::string idx = std::to_string(i);
    x = depthwise_layer(b, w, x, "MobilenetV1/Conv2d_" + idx + "_depthwise", in, stride);
    x = pointwise_layer(b, w, x, "MobilenetV1/Conv2d_" + idx + "_pointwise", {1, 1, in, out}, 1);
    if (i == 11) conv11 = x;
  }
  // Extra feature layers of the SSD head.
  const std::vector<std::vector<int>> head_shapes = {{1, 1, 1024, 256}, {3, 3, 256, 512}, {1, 1, 512, 128},
                                                     {3, 3, 128, 256},  {1, 1, 256, 128}, {3, 3, 128, 256},
                                                     {1, 1, 256, 64},   {3, 3, 64, 128}};
  std::vector<int> head;
  int h = x;
  for (int i = 0; i < 8; ++i) {
    h = pointwise_layer(b, w, h, "Prediction/Conv2d_" + std::to_string(i) + "_pointwise",
                        head_shapes[static_cast<std::size_t>(i)], i % 2 == 1 ? 2 : 1);
    head.push_back(h);
  }
  const PredictorSpec predictors[] = {{conv11, 512, 3}, {x, 1024, 6},       {head[1], 512, 6},
                                      {head[3], 256, 6}, {head[5], 256, 6}, {head[7], 128, 6}};
  for (int i = 0; i < 6; ++i) {
    const auto& p = predictors[i];
    const std::string prefix = "Prediction/BoxPredictor_" + std::to_string(i);
    const int box_out = p.anchors * 4, class_out = p.anchors * 3;
    const int box = b.conv(p.feature,
                           conv_weights(w.require(prefix + "/BoxEncodingPredictor/weights", {1, 1, p.channels, box_out}),
                                        &w.require(prefix + "/BoxEncodingPredictor/biases", {box_out})),
                           1, Padding::Same, "box");
    const int cls = b.conv(p.feature,
                           conv_weights(w.require(prefix + "/ClassPredictor/weights", {1, 1, p.channels, class_out}),
                                        &w.require(prefix + "/ClassPredictor/biases", {class_out})),
                           1, Padding::Same, "class");
    box_outputs_.push_back(b.layer_name(box));
    class_outputs_.push_back(b.layer_name(cls));
  }
  output_names_ = box_outputs_;
  output_names_.insert(output_names_.end(), class_outputs_.begin(), class_outputs_.end());
  anchors_ = w.require("Output/extra_dim", {1, kAnchorCount, 4}).values;
  net_ = b.net();
  configure_cpu_net(net_);
  const int sizes[] = {1, 3, kInputSize, kInputSize};
  input_.create(4, sizes, CV_32F);
}

std::vector<FaceDetection> SsdMobilenetDetector::detect(const cv::Mat& bgr, float min_score) {
  if (bgr.empty()) return {};
  square_resize_normalise(bgr, kInputSize, SquarePadding::End, {{127.5f, 127.5f, 127.5f}, 1.0f / 127.5f},
                          input_.ptr<float>());
  net_.setInput(input_);
  std::vector<cv::Mat> outs;
  net_.forward(outs, output_names_);

  // Decode every anchor in face-api's order: predictor, then row, column, anchor.
  std::vector<float> scores;
  std::vector<std::array<float, 4>> boxes;  // ymin, xmin, ymax, xmax (relative to the padded square)
  scores.reserve(kAnchorCount);
  boxes.reserve(kAnchorCount);
  for (std::size_t p = 0; p < box_outputs_.size(); ++p) {
    const cv::Mat& enc = outs[p];
    const cv::Mat& cls = outs[p + box_outputs_.size()];
    const int rows = enc.size[2], cols = enc.size[3], anchors = enc.size[1] / 4;
    const std::size_t plane = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    const float* e = enc.ptr<float>();
    const float* c = cls.ptr<float>();
    for (int y = 0; y < rows; ++y)
      for (int xx = 0; xx < cols; ++xx)
        for (int a = 0; a < anchors; ++a) {
          const std::size_t cell = static_cast<std::size_t>(y) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(xx);
          auto at = [&](const float* data, int channel) { return data[static_cast<std::size_t>(channel) * plane + cell]; };
          const std::size_t k = boxes.size();
          if (k >= static_cast<std::size_t>(kAnchorCount)) throw std::logic_error("SSD produced more anchors than expected");
          const float* anchor = &anchors_[k * 4];
          const float size_y = anchor[2] - anchor[0], size_x = anchor[3] - anchor[1];
          const float centre_y = anchor[0] + size_y / 2, centre_x = anchor[1] + size_x / 2;
          const float half_h = std::exp(at(e, a * 4 + 2) / 5) * size_y / 2;
          const float half_w = std::exp(at(e, a * 4 + 3) / 5) * size_x / 2;
          const float cy = at(e, a * 4 + 0) / 10 * size_y + centre_y;
          const float cx = at(e, a * 4 + 1) / 10 * size_x + centre_x;
          boxes.push_back({cy - half_h, cx - half_w, cy + half_h, cx + half_w});
          scores.push_back(sigmoid(at(c, a * 3 + 1)));
        }
  }

  // Greedy non-maximum suppression over the candidates above min_score.
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(scores.size()); ++i)
    if (scores[static_cast<std::size_t>(i)] > min_score) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int l, int r) { return scores[static_cast<std::size_t>(l)] > scores[static_cast<std::size_t>(r)]; });
  auto iou = [&](int i, int j) {
    const auto& bi = boxes[static_cast<std::size_t>(i)];
    const auto& bj = boxes[static_cast<std::size_t>(j)];
    const Box a{std::min(bi[1], bi[3]), std::min(bi[0], bi[2]), std::abs(bi[3] - bi[1]), std::abs(bi[2] - bi[0])};
    const Box c{std::min(bj[1], bj[3]), std::min(bj[0], bj[2]), std::abs(bj[3] - bj[1]), std::abs(bj[2] - bj[0])};
    return intersection_over_union(a, c);
  };
  std::vector<int> selected;
  for (int candidate : order) {
    if (static_cast<int>(selected.size()) >= max_results_) break;
    const bool suppressed = std::any_of(selected.begin(), selected.end(), [&](int s) { return iou(candidate, s) > kNmsIou; });
    if (!suppressed) selected.push_back(candidate);
  }

  // Back to image pixels; face-api clips to the padded square before undoing the padding.
  const cv::Size reshaped = reshaped_dimensions(bgr.size(), kInputSize);
  const float pad_x = static_cast<float>(kInputSize) / static_cast<float>(reshaped.width);
  const float pad_y = static_cast<float>(kInputSize) / static_cast<float>(reshaped.height);
  std::vector<FaceDetection> result;
  for (int s : selected) {
    const auto& bx = boxes[static_cast<std::size_t>(s)];
    const float top = std::max(0.0f, bx[0]) * pad_y, bottom = std::min(1.0f, bx[2]) * pad_y;
    const float left = std::max(0.0f, bx[1]) * pad_x, right = std::min(1.0f, bx[3]) * pad_x;
    result.push_back({Box{left * static_cast<float>(bgr.cols), top * static_cast<float>(bgr.rows),
                          (right - left) * static_cast<float>(bgr.cols), (bottom - top) * static_cast<float>(bgr.rows)},
                      scores[static_cast<std::size_t>(s)]});
  }
  return result;
}

}  // namespace safelynx::vision
