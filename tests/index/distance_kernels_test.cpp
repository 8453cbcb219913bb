#include "index/distance_kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace safelynx::index {
namespace {

// Dimensions around the SIMD widths exercise the tails as well as the 128-d case.
const std::size_t kDimensions[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 128, 129, 512};

double reference_squared_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += double(a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

double reference_dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += double(a[i]) * b[i];
  return sum;
}

std::vector<const DistanceKernels*> available_kernels() {
  std::vector<const DistanceKernels*> kernels{&scalar_kernels()};
  if (cpu_supports_avx2_fma()) kernels.push_back(&avx2_kernels());
  return kernels;
}

TEST(DistanceKernels, FloatKernelsMatchADoublePrecisionReferenceOnRandomData) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (const DistanceKernels* kernels : available_kernels()) {
    for (std::size_t dimension : kDimensions) {
      for (int trial = 0; trial < 50; ++trial) {
        std::vector<float> a(dimension), b(dimension);
        for (float& x : a) x = value(rng);
        for (float& x : b) x = value(rng);
        const double l2 = reference_squared_l2(a, b), dot = reference_dot(a, b);
        EXPECT_NEAR(kernels->squared_l2(a.data(), b.data(), dimension), l2, 1e-5 * std::max(1.0, l2))
            << kernels->name << " d=" << dimension;
        EXPECT_NEAR(kernels->dot(a.data(), b.data(), dimension), dot, 1e-5 * std::max(1.0, std::fabs(dot)))
            << kernels->name << " d=" << dimension;
      }
    }
  }
}

TEST(DistanceKernels, Avx2AndScalarAgreeWithin1e5OnUnitDescriptors) {
  if (!cpu_supports_avx2_fma()) GTEST_SKIP() << "this CPU has no AVX2/FMA: only the scalar kernels run here";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  double worst = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<float> a(128), b(128);
    double na = 0, nb = 0;
    for (std::size_t i = 0; i < 128; ++i) {
      a[i] = normal(rng);
      b[i] = normal(rng);
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    for (std::size_t i = 0; i < 128; ++i) {
      a[i] = float(a[i] / std::sqrt(na));
      b[i] = float(b[i] / std::sqrt(nb));
    }
    const float l2_simd = avx2_kernels().squared_l2(a.data(), b.data(), 128);
    const float l2_scalar = scalar_kernels().squared_l2(a.data(), b.data(), 128);
    const float dot_simd = avx2_kernels().dot(a.data(), b.data(), 128);
    const float dot_scalar = scalar_kernels().dot(a.data(), b.data(), 128);
    worst = std::max({worst, double(std::fabs(l2_simd - l2_scalar)), double(std::fabs(dot_simd - dot_scalar))});
  }
  EXPECT_LE(worst, 1e-5);
}

TEST(DistanceKernels, Int8DotIsExactOnBothPaths) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> code(-127, 127);
  for (const DistanceKernels* kernels : available_kernels()) {
    for (std::size_t dimension : kDimensions) {
      std::vector<std::int8_t> a(dimension), b(dimension);
      std::int64_t expected = 0;
      for (std::size_t i = 0; i < dimension; ++i) {
        a[i] = static_cast<std::int8_t>(code(rng));
        b[i] = static_cast<std::int8_t>(code(rng));
        expected += std::int64_t(a[i]) * b[i];
      }
      EXPECT_EQ(kernels->int8_dot(a.data(), b.data(), dimension), expected) << kernels->name << " d=" << dimension;
    }
  }
}

TEST(DistanceKernels, ExtremeCodesDoNotOverflow) {
  // 512 products of -127 * -127 stay far inside int32: the pairwise int16 adds must not saturate.
  for (const DistanceKernels* kernels : available_kernels()) {
    std::vector<std::int8_t> a(512, -127), b(512, -127);
    EXPECT_EQ(kernels->int8_dot(a.data(), b.data(), 512), 512 * 127 * 127) << kernels->name;
  }
}

TEST(DistanceKernels, BestKernelsUseSimdWhenTheCpuHasIt) {
  const char* forced = std::getenv("SAFELYNX_SIMD");
  if (forced && std::string(forced) == "scalar") {
    EXPECT_STREQ(best_kernels().name, "scalar");
  } else {
    EXPECT_STREQ(best_kernels().name, cpu_supports_avx2_fma() ? "avx2" : "scalar");
  }
}

}  // namespace
}  // namespace safelynx::index
