// Builds OpenCV DNN networks layer by layer from TF.js tensors. TF.js stores
// conv filters as HWIO; OpenCV wants OIHW. Batch norms and scale layers are
// folded into the preceding convolution's weights.
#pragma once

#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

enum class Padding { Same, Valid };  // TensorFlow's meaning

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

class NetBuilder {
 public:
  NetBuilder();

  static constexpr int kInput = 0;  // the id of the network input (NCHW, float32)

  int conv(int input, const ConvWeights& weights, int stride, Padding padding, const std::string& name);
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

 private:
  int add_layer(const std::string& type, cv::dnn::LayerParams& params, const std::vector<int>& inputs,
                const std::string& prefix);

  cv::dnn::Net net_;
  std::vector<std::string> names_;
};

// Configures backend and target (plain CPU) and the number of threads used.
void configure_cpu_net(cv::dnn::Net& net);

}  // namespace safelynx::vision
