#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/config.hpp"

namespace safelynx::app {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() / ("safelynx_config_test_" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

std::string error_of(const std::filesystem::path& file) {
  try {
    load_engine_config(file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_F(ConfigTest, ReadsEverySetting) {
  const auto c = load_engine_config(write(R"([detection]
detector = "tiny"
tiny_input_size = 320
min_score = 0.7
max_image_pixels = 1000000
[recognition]
match_threshold = 0.55
descriptor_batch_size = 16
[models]
dir = "/opt/models"
)"));
  EXPECT_EQ(c.detector, vision::DetectorKind::Tiny);
  EXPECT_EQ(c.tiny_input_size, 320);
  EXPECT_FLOAT_EQ(c.min_score, 0.7f);
  EXPECT_EQ(c.max_image_pixels, 1000000u);
  EXPECT_FLOAT_EQ(c.match_threshold, 0.55f);
  EXPECT_EQ(c.descriptor_batch_size, 16u);
  EXPECT_EQ(c.models_dir, std::filesystem::path("/opt/models"));
}

TEST_F(ConfigTest, DefaultsAreDocumentedValues) {
  const auto c = load_engine_config(write(""));
  EXPECT_EQ(c.detector, vision::DetectorKind::Ssd);
  EXPECT_FLOAT_EQ(c.match_threshold, 0.6f);
  EXPECT_FLOAT_EQ(c.min_score, 0.5f);
}

TEST_F(ConfigTest, ErrorsNameTheFileAndTheKey) {
  struct Bad {
    const char* text;
    const char* must_mention;
  };
  const Bad cases[] = {
      {"[detection]\nmin_scor = 0.5\n", "detection.min_scor: unknown key"},
      {"[detecton]\nmin_score = 0.5\n", "detecton: unknown section"},
      {"[detection]\ndetector = \"yolo\"\n", "detection.detector"},
      {"[detection]\ndetector = 3\n", "detection.detector: must be a string"},
      {"[detection]\nmin_score = 1.5\n", "min_score"},
      {"[detection]\nmin_score = \"high\"\n", "detection.min_score: must be a number"},
      {"[detection]\ntiny_input_size = 100\n", "tiny_input_size"},
      {"[detection]\nmax_image_pixels = -1\n", "detection.max_image_pixels: must not be negative"},
      {"[recognition]\nmatch_threshold = 0\n", "match_threshold"},
      {"[recognition]\ndescriptor_batch_size = 0\n", "descriptor_batch_size"},
      {"[detection\n", "malformed TOML"},
      {"detector = \"ssd\"\n", "detector: expected a [section]"},
  };
  for (const Bad& bad : cases) {
    const auto file = write(bad.text);
    const std::string message = error_of(file);
    EXPECT_NE(message.find(file.string()), std::string::npos) << bad.text << " -> " << message;
    EXPECT_NE(message.find(bad.must_mention), std::string::npos) << bad.text << " -> " << message;
  }
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  EXPECT_NE(error_of("/nonexistent/safelynx.toml").find("/nonexistent/safelynx.toml"), std::string::npos);
}

}  // namespace
}  // namespace safelynx::app
