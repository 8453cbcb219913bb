// Distance kernels for the embedding indexes: AVX2/FMA where the CPU has it
// (chosen once, at run time), a portable scalar version everywhere else. Both
// compute the same sums; they differ only by float rounding order (~1e-6).
#pragma once

#include <cstddef>
#include <cstdint>

namespace safelynx::index {

using FloatDistanceFn = float (*)(const float* a, const float* b, std::size_t dimension);
// Exact integer dot product of two int8 vectors.
using Int8DotFn = std::int32_t (*)(const std::int8_t* a, const std::int8_t* b, std::size_t dimension);

struct DistanceKernels {
  const char* name;              // "avx2" or "scalar"
  FloatDistanceFn squared_l2;    // sum (a_i - b_i)^2
  FloatDistanceFn dot;           // sum a_i * b_i
  Int8DotFn int8_dot;
};

const DistanceKernels& scalar_kernels();
// Only valid when cpu_supports_avx2_fma().
const DistanceKernels& avx2_kernels();
bool cpu_supports_avx2_fma();

// The kernels every index uses: AVX2/FMA when the CPU supports it, unless
// SAFELYNX_SIMD=scalar is set in the environment (for comparisons).
const DistanceKernels& best_kernels();

}  // namespace safelynx::index
