#include "vision/blas.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <strings.h>

namespace safelynx::vision::blas {
namespace {

// cblas_sgemm's C signature with its enums as ints, so no cblas.h is needed.
using CblasSgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;

constexpr const char* kLibrary = "libopenblas.so.0";
constexpr const char* kCoreTypeVariable = "OPENBLAS_CORETYPE";

struct Library {
  CblasSgemm sgemm = nullptr;
  int (*get_num_threads)() = nullptr;
  std::string description;
};

// The OpenBLAS kernel set for this CPU, or nullptr to leave the choice to OpenBLAS.
const char* core_type_for_this_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc also checks that the OS saves the AVX-512 / AVX registers (XCR0).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

// How capable an OpenBLAS core type's sgemm kernels are: 3 AVX-512, 2 AVX2+FMA, 1 older.
int kernel_level(std::string_view core) {
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core.size() == std::string_view(name).size() && strncasecmp(core.data(), name, core.size()) == 0) return 3;
  for (const char* name : {"Haswell", "Zen"})
    if (core.size() == std::string_view(name).size() && strncasecmp(core.data(), name, core.size()) == 0) return 2;
  return 1;
}

// Sets an environment variable for its lifetime, then restores the previous state,
// so that our choice of kernel does not leak into child processes.
class ScopedEnvironmentVariable {
 public:
  ScopedEnvironmentVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnvironmentVariable() {
    if (previous_)
      setenv(name_, previous_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnvironmentVariable(const ScopedEnvironmentVariable&) = delete;
  ScopedEnvironmentVariable& operator=(const ScopedEnvironmentVariable&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

template <typename Function>
Function symbol(void* handle, const char* name) {
  return reinterpret_cast<Function>(dlsym(handle, name));
}

std::string library_path(void* handle) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) return map->l_name;
  return kLibrary;
}

bool thread_count_set_by_user() {
  // The variables OpenBLAS's pthread build reads at load time.
  for (const char* name : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"})
    if (std::getenv(name)) return true;
  return false;
}

Library load() {
  Library lib;
  const bool core_set_by_user = std::getenv(kCoreTypeVariable) != nullptr;
  const char* wanted_core = core_set_by_user ? nullptr : core_type_for_this_cpu();

  // OpenCV may already have loaded OpenBLAS (Debian's liblapack.so.3/libblas.so.3
  // alternatives point to it), in which case it chose its kernels before main().
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  const bool loaded_before = handle != nullptr;
  if (!handle && wanted_core) {
    // OpenBLAS reads OPENBLAS_CORETYPE in its constructor, i.e. during dlopen.
    ScopedEnvironmentVariable core(kCoreTypeVariable, wanted_core);
    handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  } else if (!handle) {
    handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  }
  if (!handle) {
    const char* error = dlerror();
    lib.description = std::string("OpenBLAS unavailable (") + (error ? error : kLibrary) + ")";
    return lib;
  }
  lib.sgemm = symbol<CblasSgemm>(handle, "cblas_sgemm");
  lib.get_num_threads = symbol<int (*)()>(handle, "openblas_get_num_threads");
  const auto set_num_threads = symbol<void (*)(int)>(handle, "openblas_set_num_threads");
  const auto get_corename = symbol<char* (*)()>(handle, "openblas_get_corename");
  const auto get_config = symbol<char* (*)()>(handle, "openblas_get_config");
  if (!lib.sgemm || !lib.get_num_threads || !set_num_threads || !get_corename) {
    lib.sgemm = nullptr;
    lib.description = std::string(kLibrary) + " lacks cblas_sgemm or the openblas_* functions; not used";
    return lib;
  }

  std::string core_origin = core_set_by_user ? "OPENBLAS_CORETYPE from the environment"
                            : wanted_core    ? "chosen from the CPU's features"
                                             : "OpenBLAS's own choice";
  const std::string core_before = get_corename();
  if (loaded_before && wanted_core && kernel_level(core_before) < kernel_level(wanted_core)) {
    // Too late for the environment variable alone: redo OpenBLAS's kernel
    // selection (DYNAMIC_ARCH builds export these; gotoblas_dynamic_init reads
    // OPENBLAS_CORETYPE). Safe only while no BLAS call is running, which holds
    // at our first use: nothing else in Safelynx calls BLAS concurrently.
    const auto quit = symbol<void (*)()>(handle, "gotoblas_dynamic_quit");
    const auto init = symbol<void (*)()>(handle, "gotoblas_dynamic_init");
    if (quit && init) {
      ScopedEnvironmentVariable core(kCoreTypeVariable, wanted_core);
      quit();
      init();
      core_origin += "; OpenBLAS, loaded before us, had chosen " + core_before;
    } else {
      core_origin = "OpenBLAS loaded before us; could not switch it to " + std::string(wanted_core);
    }
  }

  // OpenBLAS runs single-threaded; the convolution layer splits its GEMMs
  // across OpenCV's thread pool instead (measured faster than OpenBLAS's own
  // threads, which spin after each call and compete with OpenCV's workers).
  if (!thread_count_set_by_user()) set_num_threads(1);

  const int threads = lib.get_num_threads();
  lib.description = std::string(get_config ? get_config() : "OpenBLAS") + " (" + library_path(handle) + "), core " +
                    get_corename() + " (" + core_origin + "), " + std::to_string(threads) +
                    (threads == 1 ? " thread" : " threads");
  return lib;
}

const Library& library() {
  static std::once_flag once;
  static Library lib;
  std::call_once(once, [] { lib = load(); });
  return lib;
}

}  // namespace

bool available() { return library().sgemm != nullptr; }

const std::string& description() { return library().description; }

int threads() {
  const Library& lib = library();
  return lib.get_num_threads ? lib.get_num_threads() : 1;
}

void sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  const Library& lib = library();
  if (!lib.sgemm) throw std::logic_error("blas::sgemm called without OpenBLAS: " + lib.description);
  lib.sgemm(kCblasRowMajor, kCblasNoTrans, kCblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

}  // namespace safelynx::vision::blas
