// Where the tests find the shared test data and the models; tests that need
// them skip with a message saying what is missing.
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace safelynx::testing {

inline std::filesystem::path testdata_dir() {
  if (const char* env = std::getenv("SAFELYNX_TESTDATA")) return env;
  return SAFELYNX_TESTDATA_DIR;
}

inline std::filesystem::path models_dir() {
  if (const char* env = std::getenv("SAFELYNX_MODELS")) return env;
  return SAFELYNX_MODELS_DIR;
}

inline bool have_testdata() { return std::filesystem::exists(testdata_dir() / "reference" / "face-api-1.7.15.json"); }
inline bool have_models() { return std::filesystem::exists(models_dir() / "face_recognition_model.bin"); }

}  // namespace safelynx::testing

#define SAFELYNX_REQUIRE_TESTDATA_AND_MODELS()                                                                  \
  do {                                                                                                          \
    if (!::safelynx::testing::have_testdata())                                                                  \
      GTEST_SKIP() << "shared test data not found at " << ::safelynx::testing::testdata_dir()                  \
                   << " (set SAFELYNX_TESTDATA)";                                                               \
    if (!::safelynx::testing::have_models())                                                                    \
      GTEST_SKIP() << "models not found at " << ::safelynx::testing::models_dir()                              \
                   << " (run scripts/fetch-models.sh)";                                                         \
  } while (0)
