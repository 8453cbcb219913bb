#pragma once

#include <filesystem>
#include <optional>

namespace safelynx::vision {

inline constexpr const char* kSsdManifest = "ssd_mobilenetv1_model-weights_manifest.json";
inline constexpr const char* kTinyDetectorManifest = "tiny_face_detector_model-weights_manifest.json";
inline constexpr const char* kLandmarkManifest = "face_landmark_68_model-weights_manifest.json";
inline constexpr const char* kRecognitionManifest = "face_recognition_model-weights_manifest.json";

// The models directory: `explicit_dir` if given, else $SAFELYNX_MODELS, else
// `models/` in the current directory, else `models/` next to the source tree
// the binary was built from.
std::filesystem::path resolve_models_dir(const std::optional<std::filesystem::path>& explicit_dir);

}  // namespace safelynx::vision
