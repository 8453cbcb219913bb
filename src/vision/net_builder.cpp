#include "vision/net_builder.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "vision/blas.hpp"

namespace safelynx::vision {
namespace {

bool gemm_convolution_disabled_by_environment() {
  const char* value = std::getenv("SAFELYNX_GEMM_CONV");
  return value && std::string_view(value) == "0";
}

bool use_gemm_convolution(ConvImplementation implementation) {
  switch (implementation) {
    case ConvImplementation::OpenCv: return false;
    case ConvImplementation::Gemm:
      if (!blas::available()) throw std::runtime_error("OpenBLAS convolution requested: " + blas::description());
      return true;
    case ConvImplementation::Automatic: return !gemm_convolution_disabled_by_environment() && blas::available();
  }
  return false;
}

std::vector<float> bias_values(const Tensor* bias, int channels, const std::string& what) {
  if (!bias) return {};
  if (bias->values.size() != static_cast<std::size_t>(channels))
    throw WeightLoadError("tensor '" + bias->name + "': " + std::to_string(bias->values.size()) + " bias values for " +
                          std::to_string(channels) + " " + what + " channels");
  return bias->values;
}

}  // namespace

void ConvWeights::fold_affine(const std::vector<float>& scale, const std::vector<float>& shift) {
  const int out = output_channels();
  const std::size_t per_channel = filters.total() / static_cast<std::size_t>(out);
  if (bias.empty()) bias.assign(static_cast<std::size_t>(out), 0.0f);
  auto* w = filters.ptr<float>();
  for (int o = 0; o < out; ++o) {
    const float s = scale.empty() ? 1.0f : scale.at(static_cast<std::size_t>(o));
    for (std::size_t i = 0; i < per_channel; ++i) w[static_cast<std::size_t>(o) * per_channel + i] *= s;
    bias[static_cast<std::size_t>(o)] =
        bias[static_cast<std::size_t>(o)] * s + (shift.empty() ? 0.0f : shift.at(static_cast<std::size_t>(o)));
  }
}

ConvWeights conv_weights(const Tensor& hwio, const Tensor* bias) {
  if (hwio.shape.size() != 4) throw WeightLoadError("tensor '" + hwio.name + "': conv filters must be 4-D");
  const int kh = hwio.shape[0], kw = hwio.shape[1], in = hwio.shape[2], out = hwio.shape[3];
  ConvWeights w;
  const int sizes[] = {out, in, kh, kw};
  w.filters.create(4, sizes, CV_32F);
  auto* dst = w.filters.ptr<float>();
  for (int y = 0; y < kh; ++y)
    for (int x = 0; x < kw; ++x)
      for (int i = 0; i < in; ++i)
        for (int o = 0; o < out; ++o)
          dst[((o * in + i) * kh + y) * kw + x] = hwio.values[static_cast<std::size_t>(((y * kw + x) * in + i) * out + o)];
  w.bias = bias_values(bias, out, "output");
  return w;
}

ConvWeights depthwise_weights(const Tensor& filters, const Tensor* bias) {
  if (filters.shape.size() != 4 || filters.shape[3] != 1)
    throw WeightLoadError("tensor '" + filters.name + "': depthwise filters must be [kh, kw, channels, 1]");
  const int kh = filters.shape[0], kw = filters.shape[1], channels = filters.shape[2];
  ConvWeights w;
  const int sizes[] = {channels, 1, kh, kw};
  w.filters.create(4, sizes, CV_32F);
  auto* dst = w.filters.ptr<float>();
  for (int y = 0; y < kh; ++y)
    for (int x = 0; x < kw; ++x)
      for (int c = 0; c < channels; ++c)
        dst[(c * kh + y) * kw + x] = filters.values[static_cast<std::size_t>((y * kw + x) * channels + c)];
  w.groups = channels;
  w.bias = bias_values(bias, channels, "depthwise");
  return w;
}

NetBuilder::NetBuilder(ConvImplementation conv_implementation)
    : gemm_conv_(use_gemm_convolution(conv_implementation)) {
  if (gemm_conv_) register_gemm_convolution_layer();
  names_.push_back("_input");
}

int NetBuilder::add_layer(const std::string& type, cv::dnn::LayerParams& params, const std::vector<int>& inputs,
                          const std::string& prefix) {
  const std::string name = prefix + "_" + std::to_string(names_.size());
  params.name = name;
  params.type = type;
  const int id = net_.addLayer(name, type, params);
  for (std::size_t i = 0; i < inputs.size(); ++i) net_.connect(inputs[i], 0, id, static_cast<int>(i));
  if (id != static_cast<int>(names_.size())) throw std::logic_error("unexpected OpenCV layer id");
  names_.push_back(name);
  return id;
}

int NetBuilder::conv(int input, const ConvWeights& w, int stride, Padding padding, const std::string& name,
                     Activation activation) {
  if (gemm_conv_ && w.groups == 1) {
    cv::dnn::LayerParams p = gemm_convolution_params(w.filters, w.bias, stride, padding, activation);
    return add_layer(kGemmConvolutionLayerType, p, {input}, name);
  }
  cv::dnn::LayerParams p;
  p.set("kernel_h", w.filters.size[2]);
  p.set("kernel_w", w.filters.size[3]);
  p.set("stride", stride);
  p.set("num_output", w.output_channels());
  p.set("group", w.groups);
  p.set("pad_mode", padding == Padding::Same ? "SAME" : "VALID");
  p.set("bias_term", !w.bias.empty());
  p.blobs.push_back(w.filters.clone());
  if (!w.bias.empty()) p.blobs.push_back(cv::Mat(w.bias, true).reshape(1, 1));
  return activate(add_layer("Convolution", p, {input}, name), activation);
}

int NetBuilder::activate(int input, Activation activation) {
  switch (activation.kind) {
    case Activation::Kind::None: return input;
    case Activation::Kind::Relu: return relu(input);
    case Activation::Kind::Relu6: return relu6(input);
    case Activation::Kind::LeakyRelu: return leaky_relu(input, activation.negative_slope);
  }
  throw std::invalid_argument("unknown activation");
}

int NetBuilder::relu(int input) {
  cv::dnn::LayerParams p;
  return add_layer("ReLU", p, {input}, "relu");
}

int NetBuilder::relu6(int input) {
  cv::dnn::LayerParams p;
  p.set("min_value", 0.0f);
  p.set("max_value", 6.0f);
  return add_layer("ReLU6", p, {input}, "relu6");
}

int NetBuilder::leaky_relu(int input, float negative_slope) {
  cv::dnn::LayerParams p;
  p.set("negative_slope", negative_slope);
  return add_layer("ReLU", p, {input}, "leaky");
}

namespace {
cv::dnn::LayerParams pool_params(const char* kind, int kernel, int stride, Padding padding) {
  cv::dnn::LayerParams p;
  p.set("pool", kind);
  p.set("kernel_size", kernel);
  p.set("stride", stride);
  p.set("pad_mode", padding == Padding::Same ? "SAME" : "VALID");
  return p;
}
}  // namespace

int NetBuilder::max_pool(int input, int kernel, int stride, Padding padding) {
  auto p = pool_params("max", kernel, stride, padding);
  return add_layer("Pooling", p, {input}, "maxpool");
}

int NetBuilder::avg_pool(int input, int kernel, int stride, Padding padding) {
  auto p = pool_params("ave", kernel, stride, padding);
  return add_layer("Pooling", p, {input}, "avgpool");
}

int NetBuilder::global_avg_pool(int input) {
  cv::dnn::LayerParams p;
  p.set("pool", "ave");
  p.set("global_pooling", true);
  return add_layer("Pooling", p, {input}, "gap");
}

int NetBuilder::add(int a, int b) {
  cv::dnn::LayerParams p;
  p.set("operation", "sum");
  return add_layer("Eltwise", p, {a, b}, "add");
}

int NetBuilder::pad_end(int input, int channels, int rows, int cols) {
  cv::dnn::LayerParams p;
  const int paddings[] = {0, 0, 0, channels, 0, rows, 0, cols};
  p.set("paddings", cv::dnn::DictValue::arrayInt(paddings, 8));
  p.set("value", 0.0f);
  return add_layer("Padding", p, {input}, "pad");
}

int NetBuilder::fully_connected(int input, const Tensor& weights, const Tensor* bias, const std::string& name) {
  if (weights.shape.size() != 2) throw WeightLoadError("tensor '" + weights.name + "': fully connected weights must be 2-D");
  const int in = weights.shape[0], out = weights.shape[1];
  cv::Mat w(out, in, CV_32F);
  for (int i = 0; i < in; ++i)
    for (int o = 0; o < out; ++o) w.at<float>(o, i) = weights.values[static_cast<std::size_t>(i * out + o)];
  cv::dnn::LayerParams p;
  p.set("num_output", out);
  p.set("bias_term", bias != nullptr);
  p.set("axis", 1);
  p.blobs.push_back(w);
  if (bias) p.blobs.push_back(cv::Mat(bias_values(bias, out, "fully connected"), true).reshape(1, 1));
  return add_layer("InnerProduct", p, {input}, name);
}

void configure_cpu_net(cv::dnn::Net& net) {
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
}

}  // namespace safelynx::vision
