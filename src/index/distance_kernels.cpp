#include "index/distance_kernels.hpp"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace safelynx::index {
namespace {

float squared_l2_scalar(const float* a, const float* b, std::size_t dimension) {
  // Four partial sums, like the SIMD version, so both round alike.
  float sums[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= dimension; i += 4)
    for (std::size_t j = 0; j < 4; ++j) {
      const float d = a[i + j] - b[i + j];
      sums[j] += d * d;
    }
  for (; i < dimension; ++i) sums[0] += (a[i] - b[i]) * (a[i] - b[i]);
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

float dot_scalar(const float* a, const float* b, std::size_t dimension) {
  float sums[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= dimension; i += 4)
    for (std::size_t j = 0; j < 4; ++j) sums[j] += a[i + j] * b[i + j];
  for (; i < dimension; ++i) sums[0] += a[i] * b[i];
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

std::int32_t int8_dot_scalar(const std::int8_t* a, const std::int8_t* b, std::size_t dimension) {
  std::int32_t sum = 0;
  for (std::size_t i = 0; i < dimension; ++i) sum += std::int32_t(a[i]) * std::int32_t(b[i]);
  return sum;
}

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  const __m128 pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quad = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
  return _mm_cvtss_f32(_mm_add_ss(quad, _mm_shuffle_ps(quad, quad, 1)));
}

// Two accumulators hide the FMA latency; 128-d descriptors are 16 steps.
__attribute__((target("avx2,fma"))) float squared_l2_avx2(const float* a, const float* b, std::size_t dimension) {
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dimension; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    sum0 = _mm256_fmadd_ps(d0, d0, sum0);
    sum1 = _mm256_fmadd_ps(d1, d1, sum1);
  }
  for (; i + 8 <= dimension; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    sum0 = _mm256_fmadd_ps(d, d, sum0);
  }
  float sum = horizontal_sum(_mm256_add_ps(sum0, sum1));
  for (; i < dimension; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::size_t dimension) {
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= dimension; i += 16) {
    sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
    sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), sum1);
  }
  for (; i + 8 <= dimension; i += 8) sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
  float sum = horizontal_sum(_mm256_add_ps(sum0, sum1));
  for (; i < dimension; ++i) sum += a[i] * b[i];
  return sum;
}

// Sign-extends 16 int8 to int16 and multiply-adds pairs into int32: exact.
__attribute__((target("avx2,fma"))) std::int32_t int8_dot_avx2(const std::int8_t* a, const std::int8_t* b,
                                                               std::size_t dimension) {
  __m256i sum = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 16 <= dimension; i += 16) {
    const __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(va, vb));
  }
  const __m128i pair = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  const __m128i quad = _mm_add_epi32(pair, _mm_shuffle_epi32(pair, _MM_SHUFFLE(1, 0, 3, 2)));
  std::int32_t total = _mm_cvtsi128_si32(_mm_add_epi32(quad, _mm_shuffle_epi32(quad, _MM_SHUFFLE(2, 3, 0, 1))));
  for (; i < dimension; ++i) total += std::int32_t(a[i]) * std::int32_t(b[i]);
  return total;
}

constexpr DistanceKernels kScalar{"scalar", squared_l2_scalar, dot_scalar, int8_dot_scalar};
constexpr DistanceKernels kAvx2{"avx2", squared_l2_avx2, dot_avx2, int8_dot_avx2};

}  // namespace

const DistanceKernels& scalar_kernels() { return kScalar; }
const DistanceKernels& avx2_kernels() { return kAvx2; }

bool cpu_supports_avx2_fma() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const DistanceKernels& best_kernels() {
  static const DistanceKernels& chosen = [] () -> const DistanceKernels& {
    const char* forced = std::getenv("SAFELYNX_SIMD");
    if (forced && std::strcmp(forced, "scalar") == 0) return kScalar;
    return cpu_supports_avx2_fma() ? kAvx2 : kScalar;
  }();
  return chosen;
}

}  // namespace safelynx::index
