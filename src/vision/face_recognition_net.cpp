#include "vision/face_recognition_net.hpp"

#include <algorithm>
#include <stdexcept>

#include "vision/model_paths.hpp"
#include "vision/net_builder.hpp"
#include "vision/tf_preprocess.hpp"

namespace safelynx::vision {
namespace {

// conv + bias, then the scale layer (x * weights + biases) folded into it.
ConvWeights scaled_conv(const WeightMap& w, const std::string& prefix, std::vector<int> shape) {
  const int out = shape[3];
  ConvWeights c = conv_weights(w.require(prefix + "/conv/filters", shape), &w.require(prefix + "/conv/bias", {out}));
  c.fold_affine(w.require(prefix + "/scale/weights", {out}).values, w.require(prefix + "/scale/biases", {out}).values);
  return c;
}

int residual(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int channels) {
  const int conv1 = b.conv(input, scaled_conv(w, prefix + "/conv1", {3, 3, channels, channels}), 1, Padding::Same, "c1",
                           Activation::relu());
  const int conv2 = b.conv(conv1, scaled_conv(w, prefix + "/conv2", {3, 3, channels, channels}), 1, Padding::Same, "c2");
  return b.relu(b.add(conv2, input));
}

// Strided residual block: the shortcut is a 2x2 average pool, zero-padded in
// channels; the main path is zero-padded at the bottom/right when a 'valid'
// strided convolution leaves it one row/column short (face-api's residualDown).
int residual_down(NetBuilder& b, const WeightMap& w, int input, const std::string& prefix, int in, int out,
                  int input_side) {
  const int conv1 = b.conv(input, scaled_conv(w, prefix + "/conv1", {3, 3, in, out}), 2, Padding::Valid, "c1",
                           Activation::relu());
  int conv2 = b.conv(conv1, scaled_conv(w, prefix + "/conv2", {3, 3, out, out}), 1, Padding::Same, "c2");
  const int conv_side = (input_side - 3) / 2 + 1;
  const int pooled_side = input_side / 2;
  if (conv_side != pooled_side) conv2 = b.pad_end(conv2, 0, pooled_side - conv_side, pooled_side - conv_side);
  int pooled = b.avg_pool(input, 2, 2, Padding::Valid);
  if (in != out) pooled = b.pad_end(pooled, out - in, 0, 0);
  return b.relu(b.add(pooled, conv2));
}

}  // namespace

FaceRecognitionNet::FaceRecognitionNet(const std::filesystem::path& models_dir)
    : FaceRecognitionNet(load_tfjs_weights(models_dir / kRecognitionManifest)) {}

FaceRecognitionNet::FaceRecognitionNet(const WeightMap& w) {
  NetBuilder b;
  int x = b.conv(NetBuilder::kInput, scaled_conv(w, "conv32_down", {7, 7, 3, 32}), 2, Padding::Valid, "c", Activation::relu());
  x = b.max_pool(x, 3, 2, Padding::Valid);
  int side = ((kInputSize - 7) / 2 + 1 - 3) / 2 + 1;  // 35
  for (const char* block : {"conv32_1", "conv32_2", "conv32_3"}) x = residual(b, w, x, block, 32);
  x = residual_down(b, w, x, "conv64_down", 32, 64, side);
  side /= 2;
  for (const char* block : {"conv64_1", "conv64_2", "conv64_3"}) x = residual(b, w, x, block, 64);
  x = residual_down(b, w, x, "conv128_down", 64, 128, side);
  side /= 2;
  for (const char* block : {"conv128_1", "conv128_2"}) x = residual(b, w, x, block, 128);
  x = residual_down(b, w, x, "conv256_down", 128, 256, side);
  side /= 2;
  for (const char* block : {"conv256_1", "conv256_2"}) x = residual(b, w, x, block, 256);
  x = residual_down(b, w, x, "conv256_down_out", 256, 256, side);
  x = b.global_avg_pool(x);
  b.fully_connected(x, w.require("fc", {256, 128}), nullptr, "fc");
  net_ = b.net();
  configure_cpu_net(net_);
}

std::vector<FaceDescriptor> FaceRecognitionNet::extract_embeddings_batch(std::span<const cv::Mat> faces,
                                                                          std::size_t batch_size) {
  if (batch_size == 0) throw std::invalid_argument("descriptor batch size must be at least 1");
  std::vector<FaceDescriptor> result;
  result.reserve(faces.size());
  const std::size_t per_image = 3u * kInputSize * kInputSize;
  for (std::size_t start = 0; start < faces.size(); start += batch_size) {
    const std::size_t count = std::min(batch_size, faces.size() - start);
    const int sizes[] = {static_cast<int>(count), 3, kInputSize, kInputSize};
    cv::Mat input(4, sizes, CV_32F);
    for (std::size_t i = 0; i < count; ++i)
      square_resize_normalise(faces[start + i], kInputSize, SquarePadding::Centred,
                              {{122.782f, 117.001f, 104.298f}, 1.0f / 255.0f}, input.ptr<float>() + i * per_image);
    net_.setInput(input);
    const cv::Mat out = net_.forward().reshape(1, static_cast<int>(count));
    for (std::size_t i = 0; i < count; ++i) {
      FaceDescriptor d;
      std::copy_n(out.ptr<float>(static_cast<int>(i)), kDescriptorSize, d.begin());
      result.push_back(d);
    }
  }
  return result;
}

}  // namespace safelynx::vision
