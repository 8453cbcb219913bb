#include "vision/gemm_convolution.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>

#include "vision/blas.hpp"

namespace safelynx::vision {
namespace {

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Tiles are multiples of the sgemm kernels' 16-float vectors, so the split does
// not create ragged tiles in the middle of a GEMM.
constexpr int kTileAlignment = 16;
int tile_size(int extent, int parts) { return ceil_div(ceil_div(extent, parts), kTileAlignment) * kTileAlignment; }

// One spatial axis as TensorFlow computes it: 'same' pads (out - 1) * stride + kernel - in
// in total, the odd pixel at the end; 'valid' does not pad.
struct Axis {
  int out;
  int pad_begin;
};
Axis tf_axis(int in, int kernel, int stride, Padding padding) {
  if (padding == Padding::Valid) return {in >= kernel ? (in - kernel) / stride + 1 : 0, 0};
  const int out = ceil_div(in, stride);
  return {out, std::max((out - 1) * stride + kernel - in, 0) / 2};
}

struct Geometry {
  int batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, out_h = 0, out_w = 0;
  int kernel_h = 0, kernel_w = 0, stride = 1, pad_top = 0, pad_left = 0;

  // The GEMM per image: weights [m x k] times columns [k x n] gives the output [m x n].
  int m() const { return out_channels; }
  int k() const { return in_channels * kernel_h * kernel_w; }
  int n() const { return out_h * out_w; }
  // A 1x1 stride-1 convolution's input planes already are its [k x n] operand.
  bool needs_im2col() const { return kernel_h != 1 || kernel_w != 1 || stride != 1; }
  std::size_t input_image_size() const {
    return static_cast<std::size_t>(in_channels) * static_cast<std::size_t>(in_h) * static_cast<std::size_t>(in_w);
  }
  std::size_t output_image_size() const { return static_cast<std::size_t>(m()) * static_cast<std::size_t>(n()); }
  std::size_t columns_size() const { return static_cast<std::size_t>(k()) * static_cast<std::size_t>(n()); }
};

// Columns [n0, n1) of one image's im2col matrix, written to `columns` with row
// stride `ld`: row (c, ky, kx), column (oy, ox) holds
// input[c][oy * stride + ky - pad_top][ox * stride + kx - pad_left], zero outside.
void im2col(const Geometry& g, const float* image, int n0, int n1, float* columns, std::size_t ld) {
  const std::size_t plane = static_cast<std::size_t>(g.in_h) * static_cast<std::size_t>(g.in_w);
  std::size_t row = 0;
  for (int c = 0; c < g.in_channels; ++c) {
    const float* input_plane = image + static_cast<std::size_t>(c) * plane;
    for (int ky = 0; ky < g.kernel_h; ++ky)
      for (int kx = 0; kx < g.kernel_w; ++kx, ++row) {
        float* dst = columns + row * ld;  // dst[pos - n0]
        // Output columns whose input column ox * stride + shift lies inside the image.
        const int shift = kx - g.pad_left;
        const int ox_first = shift >= 0 ? 0 : ceil_div(-shift, g.stride);
        const int ox_last = g.in_w - 1 - shift < 0 ? -1 : (g.in_w - 1 - shift) / g.stride;  // inclusive
        for (int pos = n0; pos < n1;) {
          const int oy = pos / g.out_w, ox_begin = pos % g.out_w;
          const int ox_end = std::min(g.out_w, ox_begin + (n1 - pos));
          float* out = dst + (pos - n0);  // out[i] is output column ox_begin + i
          const int count = ox_end - ox_begin;
          const int iy = oy * g.stride + ky - g.pad_top;
          if (iy < 0 || iy >= g.in_h) {
            std::fill(out, out + count, 0.0f);
          } else {
            const float* src = input_plane + static_cast<std::size_t>(iy) * static_cast<std::size_t>(g.in_w);
            const int inside_begin = std::clamp(ox_first, ox_begin, ox_end) - ox_begin;
            const int inside_end = std::clamp(ox_last + 1, ox_begin + inside_begin, ox_end) - ox_begin;
            std::fill(out, out + inside_begin, 0.0f);
            const int ix_begin = (ox_begin + inside_begin) * g.stride + shift;  // >= 0 by ox_first
            if (g.stride == 1) {
              std::copy(src + ix_begin, src + ix_begin + (inside_end - inside_begin), out + inside_begin);
            } else {
              for (int i = inside_begin; i < inside_end; ++i) out[i] = src[ix_begin + (i - inside_begin) * g.stride];
            }
            std::fill(out + inside_end, out + count, 0.0f);
          }
          pos += ox_end - ox_begin;
        }
      }
  }
}

const char* activation_name(Activation::Kind kind) {
  switch (kind) {
    case Activation::Kind::None: return "none";
    case Activation::Kind::Relu: return "relu";
    case Activation::Kind::Relu6: return "relu6";
    case Activation::Kind::LeakyRelu: return "leaky_relu";
  }
  throw std::invalid_argument("unknown activation");
}

Activation::Kind activation_kind(const std::string& name) {
  for (auto kind : {Activation::Kind::None, Activation::Kind::Relu, Activation::Kind::Relu6, Activation::Kind::LeakyRelu})
    if (name == activation_name(kind)) return kind;
  throw std::invalid_argument("unknown activation '" + name + "'");
}

// A column block's im2col matrix and output (256 KB) should stay in L2 (2 MB per
// core here, shared with OpenBLAS's packed panels) from im2col to sgemm to the
// bias/activation pass: whole-image blocks made the 3-channel input layers
// memory-bound (tiny detector ~20% faster with 256 KB blocks; 128 KB measured
// the same, 512 KB and more slower).
constexpr int kScratchFloatsPerBlock = 64 * 1024;
// Each sgemm call re-packs the weights, so blocks (and the images batched into
// one block) have at least this many columns unless the layer is smaller.
constexpr int kMinBlockColumns = 256;

// How one forward pass spreads over the threads. The GEMM columns of all images
// form one sequence (image-major): batching small images into one sgemm saves
// re-packing the weights for each image (the descriptor at batch 8 measured a
// few percent faster than with one sgemm per image).
//  - Column blocks: each task builds a block's im2col matrix in its thread's
//    scratch (or, for 1x1 stride-1 layers, multiplies the input planes
//    directly) and writes the output. Blocks are scheduled dynamically, so a
//    core taken by another process delays one block, not half the layer.
//  - Channel tiles, when there are fewer columns than output channels and too
//    few to split: the im2col matrix of all images is built once (in OpenCV's
//    blob pool), and each task computes a range of output channels (splitting
//    columns instead would make every task re-pack all the weights).
struct WorkPlan {
  int workers = 1;  // 1: run everything on the calling thread
  bool split_channels = false;
  bool per_image = false;  // blocks never straddle images; 1x1 layers multiply the input directly
  int block_n = 1;
  int blocks_per_image = 1;  // per_image only
  int blocks = 1;
  int m_tile = 1, m_tiles = 1;  // split_channels only
  bool gather = false;          // the GEMM operand is built by im2col
  bool staged_output = false;   // blocks may straddle images: the GEMM writes to scratch first
  // Scratch: per thread for column blocks, in OpenCV's blob pool for channel tiles.
  std::size_t operand_floats = 0, output_floats = 0;

  std::size_t scratch_floats() const { return operand_floats + output_floats; }
};

WorkPlan plan_work(const Geometry& g, int workers) {
  WorkPlan plan;
  workers = plan.workers = std::max(1, workers);
  const int total = g.batch * g.n();
  const auto floats = [](int a, int b) { return static_cast<std::size_t>(a) * static_cast<std::size_t>(b); };

  if (workers > 1 && total < g.m() && total < workers * kMinBlockColumns) {
    plan.split_channels = true;
    plan.m_tile = tile_size(g.m(), workers);
    plan.m_tiles = ceil_div(g.m(), plan.m_tile);
    plan.gather = g.needs_im2col() || g.batch > 1;
    plan.staged_output = g.batch > 1;
    plan.block_n = tile_size(total, workers);  // for building the im2col matrix in parallel
    plan.blocks = ceil_div(total, plan.block_n);
    plan.operand_floats = plan.gather ? floats(g.k(), total) : 0;
    plan.output_floats = plan.staged_output ? floats(g.m(), total) : 0;
    return plan;
  }

  // Columns whose operand and output fit the cache budget, but not so few that
  // re-packing the weights for each block would dominate.
  const int per_column = (g.needs_im2col() ? g.k() : 0) + g.m();
  const int target = std::max(kMinBlockColumns, kScratchFloatsPerBlock / per_column / kTileAlignment * kTileAlignment);
  if (!g.needs_im2col() && (g.n() >= kMinBlockColumns || g.batch == 1)) {
    plan.per_image = true;
    // Blocks per image such that the block count is a multiple of the worker count.
    const int parts = workers / std::gcd(g.batch, workers);
    plan.block_n = tile_size(g.n(), ceil_div(ceil_div(g.n(), target), parts) * parts);
    plan.blocks_per_image = ceil_div(g.n(), plan.block_n);
    plan.blocks = g.batch * plan.blocks_per_image;
    return plan;
  }

  plan.gather = true;
  plan.blocks = ceil_div(ceil_div(total, target), workers) * workers;
  plan.block_n = tile_size(total, plan.blocks);
  plan.blocks = ceil_div(total, plan.block_n);
  plan.staged_output = g.batch > 1;
  plan.operand_floats = floats(g.k(), plan.block_n);
  plan.output_floats = plan.staged_output ? floats(g.m(), plan.block_n) : 0;
  return plan;
}

// Runs body(range) over tasks [0, count): in OpenCV's thread pool, or on the
// calling thread when OpenBLAS does the threading itself.
template <typename Body>
void run_tasks(int workers, int count, const Body& body) {
  if (workers == 1 || count == 1)
    body(cv::Range(0, count));
  else
    cv::parallel_for_(cv::Range(0, count), body, count);
}

int parallel_workers() {
  // When OpenBLAS itself is multi-threaded (OPENBLAS_NUM_THREADS set by the user),
  // splitting again would oversubscribe the cores.
  return blas::threads() > 1 ? 1 : std::max(1, cv::getNumThreads());
}

template <typename Function>
void add_bias_and_apply(const float* src, std::size_t src_stride, float* dst, std::size_t dst_stride, int m0, int m1,
                        int count, const float* bias, Function f) {
  for (int m = m0; m < m1; ++m) {
    const float* in = src + static_cast<std::size_t>(m) * src_stride;
    float* out = dst + static_cast<std::size_t>(m) * dst_stride;
    const float b = bias ? bias[m] : 0.0f;
    for (int i = 0; i < count; ++i) out[i] = f(in[i] + b);
  }
}

class GemmConvolutionLayer final : public cv::dnn::Layer {
 public:
  explicit GemmConvolutionLayer(const cv::dnn::LayerParams& params) {
    setParamsFrom(params);
    CV_Assert(!blobs.empty() && blobs[0].dims == 4 && blobs[0].type() == CV_32F && blobs[0].isContinuous());
    out_channels_ = blobs[0].size[0];
    in_channels_ = blobs[0].size[1];
    kernel_h_ = blobs[0].size[2];
    kernel_w_ = blobs[0].size[3];
    stride_ = params.get<int>("stride", 1);
    CV_Assert(stride_ >= 1);
    padding_ = params.get<cv::String>("pad_mode", "SAME") == "VALID" ? Padding::Valid : Padding::Same;
    activation_.kind = activation_kind(params.get<cv::String>("activation", "none"));
    activation_.negative_slope = params.get<float>("negative_slope", 0.0f);
    if (blobs.size() > 1) {
      CV_Assert(blobs[1].type() == CV_32F && blobs[1].total() == static_cast<std::size_t>(out_channels_));
      bias_.assign(blobs[1].ptr<float>(), blobs[1].ptr<float>() + out_channels_);
    }
  }

  static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams& params) {
    return cv::makePtr<GemmConvolutionLayer>(params);
  }

  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, const int /*required_outputs*/,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override {
    CV_Assert(inputs.size() == 1);
    const Geometry g = geometry(inputs[0]);
    outputs.assign(1, cv::dnn::MatShape{g.batch, g.out_channels, g.out_h, g.out_w});
    internals.clear();
    // The scratch lives in OpenCV's blob pool: allocated with the network and
    // shared with other layers, not allocated per forward.
    const WorkPlan plan = plan_work(g, parallel_workers());
    const std::size_t scratch = plan.split_channels ? plan.scratch_floats() : 0;
    CV_Assert(scratch <= static_cast<std::size_t>(std::numeric_limits<int>::max()));
    if (scratch > 0) internals.push_back(cv::dnn::MatShape{1, static_cast<int>(scratch)});
    return false;
  }

  int64 getFLOPS(const std::vector<cv::dnn::MatShape>& inputs,
                 const std::vector<cv::dnn::MatShape>& /*outputs*/) const override {
    const Geometry g = geometry(inputs.at(0));
    return 2 * static_cast<int64>(g.batch) * g.m() * g.k() * g.n();
  }

  void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
               cv::OutputArrayOfArrays internals_arr) override {
    std::vector<cv::Mat> inputs, outputs, internals;
    inputs_arr.getMatVector(inputs);
    outputs_arr.getMatVector(outputs);
    internals_arr.getMatVector(internals);
    CV_Assert(inputs.size() == 1 && outputs.size() == 1);
    const cv::Mat& input = inputs[0];
    cv::Mat& output = outputs[0];
    CV_Assert(input.type() == CV_32F && output.type() == CV_32F && input.isContinuous() && output.isContinuous());
    const Geometry g = geometry(cv::dnn::MatShape(input.size.p, input.size.p + input.dims));

    WorkPlan plan = plan_work(g, parallel_workers());
    if (plan.split_channels) {
      const std::size_t allocated = internals.empty() ? 0 : internals[0].total();
      if (allocated < plan.scratch_floats()) {
        plan = plan_work(g, 1);  // the thread count changed since allocation
      } else {
        float* scratch = nullptr;
        if (plan.scratch_floats() > 0) {
          CV_Assert(internals[0].type() == CV_32F && internals[0].isContinuous());
          scratch = internals[0].ptr<float>();
        }
        forward_channel_tiles(g, plan,
                              {input.ptr<float>(), output.ptr<float>(), scratch,
                               scratch ? scratch + plan.operand_floats : nullptr});
        return;
      }
    }
    forward_column_blocks(g, plan, {input.ptr<float>(), output.ptr<float>(), nullptr, nullptr});
  }

 private:
  struct Buffers {
    const float* input;
    float* output;
    float* operand_scratch;  // channel tiles: the im2col matrix of all images
    float* output_scratch;   // channel tiles: GEMM results before they go into the images

    const float* input_image(const Geometry& g, int b) const {
      return input + static_cast<std::size_t>(b) * g.input_image_size();
    }
    float* output_image(const Geometry& g, int b) const {
      return output + static_cast<std::size_t>(b) * g.output_image_size();
    }
  };

  Geometry geometry(const cv::dnn::MatShape& input) const {
    CV_Assert(input.size() == 4 && input[1] == in_channels_);
    Geometry g;
    g.batch = input[0];
    g.in_channels = in_channels_;
    g.in_h = input[2];
    g.in_w = input[3];
    g.out_channels = out_channels_;
    g.kernel_h = kernel_h_;
    g.kernel_w = kernel_w_;
    g.stride = stride_;
    const Axis rows = tf_axis(g.in_h, kernel_h_, stride_, padding_), cols = tf_axis(g.in_w, kernel_w_, stride_, padding_);
    g.out_h = rows.out;
    g.pad_top = rows.pad_begin;
    g.out_w = cols.out;
    g.pad_left = cols.pad_begin;
    CV_Assert(g.out_h > 0 && g.out_w > 0);
    return g;
  }

  // Global columns [c0, c1) of the batch (image-major) as im2col columns, row stride ld.
  static void gather_columns(const Geometry& g, const Buffers& buffers, int c0, int c1, float* dst, std::size_t ld) {
    for (int c = c0; c < c1;) {
      const int b = c / g.n(), n0 = c % g.n(), n1 = std::min(g.n(), n0 + (c1 - c));
      im2col(g, buffers.input_image(g, b), n0, n1, dst + (c - c0), ld);
      c += n1 - n0;
    }
  }

  // Bias and activation of output channels [m0, m1) for global columns [c0, c1),
  // read from `src` (row stride src_ld; may be the output itself) into the images.
  void finish_columns(const Geometry& g, const Buffers& buffers, const float* src, std::size_t src_ld, int c0, int c1,
                      int m0, int m1) const {
    for (int c = c0; c < c1;) {
      const int b = c / g.n(), n0 = c % g.n(), n1 = std::min(g.n(), n0 + (c1 - c));
      finish(src + (c - c0), src_ld, buffers.output_image(g, b) + n0, static_cast<std::size_t>(g.n()), m0, m1, n1 - n0);
      c += n1 - n0;
    }
  }

  // Scratch of the calling thread, kept between calls: no allocation once warm.
  static float* thread_scratch(std::size_t floats) {
    thread_local std::vector<float> scratch;
    if (scratch.size() < floats) scratch.resize(floats);
    return scratch.data();
  }

  void forward_column_blocks(const Geometry& g, const WorkPlan& plan, const Buffers& buffers) const {
    const int n = g.n();
    run_tasks(
        plan.workers, plan.blocks,
        [&](const cv::Range& range) {
          float* const operand_scratch = plan.gather ? thread_scratch(plan.scratch_floats()) : nullptr;
          float* const output_scratch = plan.staged_output ? operand_scratch + plan.operand_floats : nullptr;
          for (int block = range.start; block < range.end; ++block) {
            int c0 = block * plan.block_n, c1 = std::min(g.batch * n, c0 + plan.block_n);
            if (plan.per_image) {
              const int b = block / plan.blocks_per_image, n0 = block % plan.blocks_per_image * plan.block_n;
              c0 = b * n + n0;
              c1 = b * n + std::min(n, n0 + plan.block_n);
            }
            const int columns = c1 - c0, first_image = c0 / n;
            const float* operand = buffers.input_image(g, first_image) + (c0 - first_image * n);
            int operand_ld = n;
            if (plan.gather) {
              gather_columns(g, buffers, c0, c1, operand_scratch, static_cast<std::size_t>(columns));
              operand = operand_scratch;
              operand_ld = columns;
            }
            if (first_image == (c1 - 1) / n) {  // within one image: straight into the output
              float* out = buffers.output_image(g, first_image) + (c0 - first_image * n);
              blas::sgemm(g.m(), columns, g.k(), weights(), g.k(), operand, operand_ld, out, n);
              finish(out, static_cast<std::size_t>(n), out, static_cast<std::size_t>(n), 0, g.m(), columns);
            } else {
              blas::sgemm(g.m(), columns, g.k(), weights(), g.k(), operand, operand_ld, output_scratch, columns);
              finish_columns(g, buffers, output_scratch, static_cast<std::size_t>(columns), c0, c1, 0, g.m());
            }
          }
        });
  }

  void forward_channel_tiles(const Geometry& g, const WorkPlan& plan, const Buffers& buffers) const {
    const int total = g.batch * g.n();
    if (plan.gather)
      run_tasks(
          plan.workers, plan.blocks,
          [&](const cv::Range& range) {
            for (int block = range.start; block < range.end; ++block) {
              const int c0 = block * plan.block_n, c1 = std::min(total, c0 + plan.block_n);
              gather_columns(g, buffers, c0, c1, buffers.operand_scratch + c0, static_cast<std::size_t>(total));
            }
          });
    // Without gathering there is one image, whose input planes are the operand.
    const float* operand = plan.gather ? buffers.operand_scratch : buffers.input;
    float* result = plan.staged_output ? buffers.output_scratch : buffers.output;
    run_tasks(
        plan.workers, plan.m_tiles,
        [&](const cv::Range& range) {
          for (int tile = range.start; tile < range.end; ++tile) {
            const int m0 = tile * plan.m_tile, m1 = std::min(g.m(), m0 + plan.m_tile);
            float* rows = result + static_cast<std::size_t>(m0) * static_cast<std::size_t>(total);
            blas::sgemm(m1 - m0, total, g.k(), weights() + static_cast<std::size_t>(m0) * g.k(), g.k(), operand, total,
                        rows, total);
            finish_columns(g, buffers, result, static_cast<std::size_t>(total), 0, total, m0, m1);
          }
        });
  }

  const float* weights() const { return blobs[0].ptr<float>(); }  // [m x k], row-major

  // dst[m][i] = activation(src[m][i] + bias[m]) for rows [m0, m1), columns [0, count).
  void finish(const float* src, std::size_t src_ld, float* dst, std::size_t dst_ld, int m0, int m1, int count) const {
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    switch (activation_.kind) {
      case Activation::Kind::None:
        if (bias || src != dst)
          add_bias_and_apply(src, src_ld, dst, dst_ld, m0, m1, count, bias, [](float x) { return x; });
        break;
      case Activation::Kind::Relu:
        add_bias_and_apply(src, src_ld, dst, dst_ld, m0, m1, count, bias, [](float x) { return std::max(x, 0.0f); });
        break;
      case Activation::Kind::Relu6:
        add_bias_and_apply(src, src_ld, dst, dst_ld, m0, m1, count, bias,
                           [](float x) { return std::min(std::max(x, 0.0f), 6.0f); });
        break;
      case Activation::Kind::LeakyRelu: {
        const float slope = activation_.negative_slope;
        // Branch-free, so that it vectorises: GCC does not if-convert a float
        // multiply under -ftrapping-math, and the branch cost ~5 ms per tiny-detector frame.
        add_bias_and_apply(src, src_ld, dst, dst_ld, m0, m1, count, bias,
                           [slope](float x) { return std::max(x, 0.0f) + slope * std::min(x, 0.0f); });
        break;
      }
    }
  }

  int out_channels_ = 0, in_channels_ = 0, kernel_h_ = 0, kernel_w_ = 0, stride_ = 1;
  Padding padding_ = Padding::Same;
  Activation activation_;
  std::vector<float> bias_;
};

}  // namespace

void register_gemm_convolution_layer() {
  static std::once_flag once;
  std::call_once(once, [] { cv::dnn::LayerFactory::registerLayer(kGemmConvolutionLayerType, GemmConvolutionLayer::create); });
}

cv::dnn::LayerParams gemm_convolution_params(const cv::Mat& oihw_filters, const std::vector<float>& bias, int stride,
                                             Padding padding, Activation activation) {
  if (oihw_filters.dims != 4 || oihw_filters.type() != CV_32F)
    throw std::invalid_argument("gemm convolution: filters must be 4-D float32 (OIHW)");
  if (!bias.empty() && bias.size() != static_cast<std::size_t>(oihw_filters.size[0]))
    throw std::invalid_argument("gemm convolution: one bias per output channel");
  if (stride < 1) throw std::invalid_argument("gemm convolution: stride must be at least 1");
  cv::dnn::LayerParams p;
  p.set("stride", stride);
  p.set("pad_mode", padding == Padding::Same ? "SAME" : "VALID");
  p.set("activation", activation_name(activation.kind));
  p.set("negative_slope", activation.negative_slope);
  p.blobs.push_back(oihw_filters.clone());
  if (!bias.empty()) p.blobs.push_back(cv::Mat(bias, true).reshape(1, 1));
  return p;
}

}  // namespace safelynx::vision
