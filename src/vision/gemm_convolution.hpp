// Full (groups == 1) convolutions as im2col + OpenBLAS sgemm, as an OpenCV DNN
// custom layer. OpenCV 4.6's own Convolution layer reaches only ~28 GFLOPS per
// core here; OpenBLAS's AVX-512 sgemm about 130. Depthwise convolutions, pooling
// and the rest stay OpenCV layers.
#pragma once

#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

namespace safelynx::vision {

enum class Padding { Same, Valid };  // TensorFlow's meaning

// The activation applied to a convolution's output. The custom layer applies it
// itself: OpenCV fuses activations only into its own layers.
struct Activation {
  enum class Kind { None, Relu, Relu6, LeakyRelu };
  Kind kind = Kind::None;
  float negative_slope = 0.0f;  // LeakyRelu only

  static Activation none() { return {}; }
  static Activation relu() { return {Kind::Relu, 0.0f}; }
  static Activation relu6() { return {Kind::Relu6, 0.0f}; }
  static Activation leaky_relu(float negative_slope) { return {Kind::LeakyRelu, negative_slope}; }
};

inline constexpr const char* kGemmConvolutionLayerType = "SafelynxGemmConv";

// Registers kGemmConvolutionLayerType with OpenCV's layer factory (once; thread-safe).
void register_gemm_convolution_layer();

// Parameters for a kGemmConvolutionLayerType layer: NCHW input, OIHW float32
// filters, one bias per output channel (or none), TensorFlow padding (the odd
// pixel of 'same' goes at the end), then the activation.
cv::dnn::LayerParams gemm_convolution_params(const cv::Mat& oihw_filters, const std::vector<float>& bias, int stride,
                                             Padding padding, Activation activation);

}  // namespace safelynx::vision
