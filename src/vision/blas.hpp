// OpenBLAS, loaded at run time (dlopen of libopenblas.so.0) so that we can pick
// its kernels. Debian's OpenBLAS 0.3.21 does not recognise recent Xeons
// (Sapphire Rapids) and falls back to its slowest x86-64 kernels ("Prescott",
// about 5x slower sgemm); we choose the kernel from the CPU's features instead,
// unless the user set OPENBLAS_CORETYPE (some processors need a specific one
// because older OpenBLAS builds compute wrong results there).
//
// Everything here is thread-safe: the library is loaded once, on first use.
#pragma once

#include <string>

namespace safelynx::vision::blas {

// True when OpenBLAS could be loaded and has cblas_sgemm. Loads it on first call.
bool available();

// One line for benchmarks and logs: library path and version, the kernel (core
// type) in use and why, and the thread count; or why OpenBLAS is unavailable.
const std::string& description();

// Threads OpenBLAS uses for one sgemm call (1 when unavailable). When 1, callers
// split their work across OpenCV's thread pool themselves.
int threads();

// C = A * B with row-major float matrices: A is m x k, B is k x n, C is m x n;
// lda/ldb/ldc are row strides in elements. Requires available().
void sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

}  // namespace safelynx::vision::blas
