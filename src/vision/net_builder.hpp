// Builds OpenCV DNN networks layer by layer from TF.js tensors. TF.js stores
// conv filters as HWIO; OpenCV wants OIHW. Batch norms and scale layers are
// folded into the preceding convolution's weights. Full convolutions run as
// im2col + OpenBLAS sgemm (vision/gemm_convolution.hpp) when OpenBLAS loads.
#pragma once

#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/gemm_convolution.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

struct ConvWeights {
  cv::Mat filters;          // OIHW float32
  std::vector<float> bias;  // one per output channel; empty = no bias
  int groups = 1;

  int output_channels() const { return filters.size[0]; }
  // Multiplies output channel c (weights and bias) by scale[c], then adds shift[c]
  // to the bias: folds y = conv(x) * scale + shift into the convolution.
  void fold_affine(const std::vector<float>& scale, const std::vector<float>& shift);
};

// A regular convolution from HWIO filters, with an optional bias tensor.
ConvWeights conv_weights(const Tensor& hwio_filters, const Tensor* bias);
// A depthwise convolution from [kh, kw, channels, 1] filters.
ConvWeights depthwise_weights(const Tensor& filters, const Tensor* bias);

// Which layer computes full (groups == 1) convolutions. Depthwise ones always use OpenCV's.
enum class ConvImplementation {
  Automatic,  // OpenBLAS when it loads, unless the environment has SAFELYNX_GEMM_CONV=0
  OpenCv,     // OpenCV's Convolution layer
  Gemm,       // im2col + OpenBLAS sgemm; throws if OpenBLAS is unavailable
};

class NetBuilder {
 public:
  // SAFELYNX_GEMM_CONV=0 in the environment makes Automatic mean OpenCv: an
  // escape hatch, and a way to compare the two (e.g. with `safelynx bench engine`).
  explicit NetBuilder(ConvImplementation conv_implementation = ConvImplementation::Automatic);

  static constexpr int kInput = 0;  // the id of the network input (NCHW, float32)

  // A convolution followed by `activation`. The OpenBLAS layer applies the
  // activation itself; with OpenCV's layer it is a separate layer that OpenCV fuses.
  int conv(int input, const ConvWeights& weights, int stride, Padding padding, const std::string& name,
           Activation activation = Activation::none());
  int relu(int input);
  int relu6(int input);
  int leaky_relu(int input, float negative_slope);
  int max_pool(int input, int kernel, int stride, Padding padding);
  int avg_pool(int input, int kernel, int stride, Padding padding);
  int global_avg_pool(int input);
  int add(int a, int b);
  // Zero padding of an NCHW tensor: channels at the end, rows at the bottom, columns at the right.
  int pad_end(int input, int channels, int rows, int cols);
  // Fully connected layer from TF.js [in, out] weights.
  int fully_connected(int input, const Tensor& weights_in_out, const Tensor* bias, const std::string& name);

  const std::string& layer_name(int id) const { return names_.at(static_cast<std::size_t>(id)); }
  cv::dnn::Net& net() { return net_; }
  // True when full convolutions use the OpenBLAS layer.
  bool uses_gemm_convolution() const { return gemm_conv_; }

 private:
  int add_layer(const std::string& type, cv::dnn::LayerParams& params, const std::vector<int>& inputs,
                const std::string& prefix);
  int activate(int input, Activation activation);

  bool gemm_conv_ = false;
  cv::dnn::Net net_;
  std::vector<std::string> names_;
};

// Configures backend and target (plain CPU) and the number of threads used.
void configure_cpu_net(cv::dnn::Net& net);

}  // namespace safelynx::vision
