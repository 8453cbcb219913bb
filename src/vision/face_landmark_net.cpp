#include "vision/face_landmark_net.hpp"

#include <algorithm>
#include <cmath>

#include "vision/model_paths.hpp"
#include "vision/net_builder.hpp"
#include "vision/tf_preprocess.hpp"

namespace safelynx::vision {
namespace {

// Separable convolution with bias (face-api's common depthwiseSeparableConv), then `activation`.
int separable(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int in, int out, int stride,
              Activation activation = Activation::none()) {
  const int dw = b.conv(input, depthwise_weights(w.require(prefix + "/depthwise_filter", {3, 3, in, 1}), nullptr),
                        stride, Padding::Same, "dw");
  return b.conv(dw, conv_weights(w.require(prefix + "/pointwise_filter", {1, 1, in, out}), &w.require(prefix + "/bias", {out})),
                1, Padding::Same, "pw", activation);
}

// face-api's denseBlock4: each layer sees the sum of all earlier outputs.
int dense_block(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int in, int out, bool first) {
  const int out1 = first ? b.conv(input,
                                  conv_weights(w.require(prefix + "/conv0/filters", {3, 3, in, out}),
                                               &w.require(prefix + "/conv0/bias", {out})),
                                  2, Padding::Same, "conv0", Activation::relu())
                         : separable(b, w, input, prefix + "/conv0", in, out, 2, Activation::relu());
  const int out2 = separable(b, w, out1, prefix + "/conv1", out, out, 1);
  const int sum12 = b.add(out1, out2);
  const int out3 = separable(b, w, b.relu(sum12), prefix + "/conv2", out, out, 1);
  const int sum123 = b.add(sum12, out3);
  const int out4 = separable(b, w, b.relu(sum123), prefix + "/conv3", out, out, 1);
  return b.relu(b.add(sum123, out4));
}

}  // namespace

FaceLandmarkNet::FaceLandmarkNet(const std::filesystem::path& models_dir)
    : FaceLandmarkNet(load_tfjs_weights(models_dir / kLandmarkManifest)) {}

FaceLandmarkNet::FaceLandmarkNet(const WeightMap& w) {
  NetBuilder b;
  int x = dense_block(b, w, NetBuilder::kInput, "dense0", 3, 32, true);
  x = dense_block(b, w, x, "dense1", 32, 64, false);
  x = dense_block(b, w, x, "dense2", 64, 128, false);
  x = dense_block(b, w, x, "dense3", 128, 256, false);
  x = b.avg_pool(x, 7, 2, Padding::Valid);
  b.fully_connected(x, w.require("fc/weights", {256, 136}), &w.require("fc/bias", {136}), "fc");
  net_ = b.net();
  configure_cpu_net(net_);
}

std::vector<Landmarks68> FaceLandmarkNet::detect_landmarks_batch(std::span<const cv::Mat> crops) {
  if (crops.empty()) return {};
  const int batch = static_cast<int>(crops.size());
  const int sizes[] = {batch, 3, kInputSize, kInputSize};
  cv::Mat input(4, sizes, CV_32F);
  const std::size_t per_image = 3u * kInputSize * kInputSize;
  for (int i = 0; i < batch; ++i)
    square_resize_normalise(crops[static_cast<std::size_t>(i)], kInputSize, SquarePadding::Centred,
                            {{122.782f, 117.001f, 104.298f}, 1.0f / 255.0f},
                            input.ptr<float>() + static_cast<std::size_t>(i) * per_image);
  net_.setInput(input);
  const cv::Mat out = net_.forward().reshape(1, batch);  // [batch, 136]: x0, y0, x1, y1, ...

  std::vector<Landmarks68> result(crops.size());
  for (int i = 0; i < batch; ++i) {
    const cv::Mat& crop = crops[static_cast<std::size_t>(i)];
    // Undo the centred padding: points come relative to the padded square.
    const float scale = static_cast<float>(kInputSize) / static_cast<float>(std::max(crop.cols, crop.rows));
    const float scaled_w = static_cast<float>(crop.cols) * scale, scaled_h = static_cast<float>(crop.rows) * scale;
    const float pad_x = scaled_w < scaled_h ? std::abs(scaled_w - scaled_h) / 2 : 0.0f;
    const float pad_y = scaled_h < scaled_w ? std::abs(scaled_w - scaled_h) / 2 : 0.0f;
    const float* row = out.ptr<float>(i);
    for (std::size_t p = 0; p < kLandmarkCount; ++p) {
      const float rel_x = (row[2 * p] * kInputSize - pad_x) / scaled_w;
      const float rel_y = (row[2 * p + 1] * kInputSize - pad_y) / scaled_h;
      result[static_cast<std::size_t>(i)][p] = {rel_x * static_cast<float>(crop.cols), rel_y * static_cast<float>(crop.rows)};
    }
  }
  return result;
}

}  // namespace safelynx::vision
