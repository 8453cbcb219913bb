#include "vision/model_paths.hpp"

#include <cstdlib>

namespace safelynx::vision {

std::filesystem::path resolve_models_dir(const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir) return *explicit_dir;
  if (const char* env = std::getenv("SAFELYNX_MODELS"); env && *env) return env;
  const std::filesystem::path local = "models";
  if (std::filesystem::exists(local / kRecognitionManifest)) return local;
#ifdef SAFELYNX_DEFAULT_MODELS_DIR
  return SAFELYNX_DEFAULT_MODELS_DIR;
#else
  return local;
#endif
}

}  // namespace safelynx::vision
