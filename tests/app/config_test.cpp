#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

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
    (void)load_config(file, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_F(ConfigTest, ReadsEverySetting) {
  const auto c = load_config(write(R"([detection]
detector = "tiny"
tiny_input_size = 320
min_score = 0.7
max_image_pixels = 1000000
[recognition]
match_threshold = 0.55
descriptor_batch_size = 16
[models]
dir = "/opt/models"
)"), {}).engine;
  EXPECT_EQ(c.detector, vision::DetectorKind::Tiny);
  EXPECT_EQ(c.tiny_input_size, 320);
  EXPECT_FLOAT_EQ(c.min_score, 0.7f);
  EXPECT_EQ(c.max_image_pixels, 1000000u);
  EXPECT_FLOAT_EQ(c.match_threshold, 0.55f);
  EXPECT_EQ(c.descriptor_batch_size, 16u);
  EXPECT_EQ(c.models_dir, std::filesystem::path("/opt/models"));
}

TEST_F(ConfigTest, DefaultsAreDocumentedValues) {
  const auto c = load_config(write(""), {}).engine;
  EXPECT_EQ(c.detector, vision::DetectorKind::Ssd);
  EXPECT_FLOAT_EQ(c.match_threshold, 0.5f);
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
      {"[detection]\nmax_image_pixels = -1\n", "detection.max_image_pixels: must be in [0, "},
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

TEST_F(ConfigTest, TheSecondDetectionPassIsConfigurableAndCheckedWhenRead) {
  const auto c = load_config(write("[pipeline]\nsecond_pass_every = 7\nsecond_pass_input_size = 512\nsecond_pass_turn_degrees = 15\n"), {}).pipeline;
  EXPECT_EQ(c.second_pass_every, 7u);
  EXPECT_EQ(c.second_pass.small_face_input, 512);
  EXPECT_DOUBLE_EQ(c.second_pass.turn_degrees, 15);
  const auto off = load_config(write("[pipeline]\nsecond_pass_every = 0\nsecond_pass_input_size = 0\n"), {}).pipeline;
  EXPECT_EQ(off.second_pass_every, 0u);
  EXPECT_EQ(off.second_pass.small_face_input, 0);
  for (const char* bad : {"second_pass_every = -1", "second_pass_input_size = 500", "second_pass_input_size = 64",
                          "second_pass_turn_degrees = 90"}) {
    const std::string message = error_of(write(std::string("[pipeline]\n") + bad + "\n"));
    const std::string key(bad, std::string(bad).find(' '));
    EXPECT_NE(message.find("pipeline." + key), std::string::npos) << bad << " -> " << message;
  }
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  EXPECT_NE(error_of("/nonexistent/safelynx.toml").find("/nonexistent/safelynx.toml"), std::string::npos);
}


TEST_F(ConfigTest, ServeSectionsAndSettingsKeys) {
  const Config c = load_config(write(R"([server]
host = "0.0.0.0"
port = 8080
rate_limit_per_second = 5.5
rate_limit_burst = 10
[database]
max_connections = 4
acquire_timeout = 5
[recording]
pre_buffer_s = 3
[storage]
data_dir = "/srv/safelynx"
auto_cleanup = false
[auth]
session_ttl_hours = 2
)"),
                                 {});
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_DOUBLE_EQ(c.server.rate_limit_per_second, 5.5);
  EXPECT_EQ(c.database.max_connections, 4);
  EXPECT_EQ(c.database.acquire_timeout_s, 5);
  EXPECT_EQ(c.settings.recording.pre_buffer_s, 3);
  EXPECT_FALSE(c.settings.storage.auto_cleanup);
  EXPECT_EQ(c.data_dir, std::filesystem::path("/srv/safelynx"));
  EXPECT_EQ(c.auth.session_ttl_hours, 2);
  EXPECT_EQ(c.settings_keys, (std::set<std::string>{"recording.pre_buffer_s", "storage.auto_cleanup"}));
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  const Config c = load_config(write("[server]\nport = 8080\n[recognition]\nmatch_threshold = 0.5\n"),
                               {{"SAFELYNX_SERVER_PORT", "9090"},
                                {"SAFELYNX_RECOGNITION_MATCH_THRESHOLD", "0.45"},
                                {"SAFELYNX_MODELS", "/elsewhere"},        // not a section: ignored here
                                {"SAFELYNX_ADMIN_PASSWORD", "secret!!"},  // likewise
                                {"PATH", "/usr/bin"}});
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_FLOAT_EQ(c.engine.match_threshold, 0.45f);
  EXPECT_FLOAT_EQ(c.settings.recognition.match_threshold, 0.45f);
  EXPECT_TRUE(c.settings_keys.count("recognition.match_threshold"));
  EXPECT_FALSE(c.engine.models_dir.has_value());
}

TEST_F(ConfigTest, WebDirDefaultsToTheCheckoutsBuildAndCanBeSet) {
  const Config defaults = load_config(std::nullopt, {});
  EXPECT_EQ(defaults.server.web_dir, std::filesystem::path(SAFELYNX_SOURCE_DIR) / "web/dist");
  EXPECT_EQ(defaults.server.web_dir, default_web_dir());
  EXPECT_EQ(load_config(write("[server]\nweb_dir = \"/srv/ui\"\n"), {}).server.web_dir, std::filesystem::path("/srv/ui"));
  EXPECT_EQ(load_config(write("[server]\nweb_dir = \"/srv/ui\"\n"), {{"SAFELYNX_SERVER_WEB_DIR", "/opt/ui"}}).server.web_dir,
            std::filesystem::path("/opt/ui"));
  EXPECT_NE(error_of(write("[server]\nweb_dir = \"\"\n")).find("server.web_dir: must not be empty"), std::string::npos);
}

TEST_F(ConfigTest, BadEnvironmentVariablesAreNamed) {
  auto message = [](std::map<std::string, std::string> env) {
    try {
      (void)load_config(std::nullopt, env);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({{"SAFELYNX_SERVER_PROT", "1"}}).find("SAFELYNX_SERVER_PROT: no such key server.prot"), std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_SERVER_PORT", "eighty"}}).find("SAFELYNX_SERVER_PORT: must be an integer"), std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_SERVER_PORT", "70000"}}).find("server.port: must be in [0, 65535]"), std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_STORAGE_AUTO_CLEANUP", "maybe"}}).find("true or false"), std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_RECORDING_MAX_SEGMENT_S", "5"}}).find("recording.max_segment_s must be in [10, 3600]"),
            std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_DATABASE_BACKEND", "oracle"}}).find("database.backend"), std::string::npos);
  EXPECT_NE(message({{"SAFELYNX_SERVER_TLS_CERTIFICATE", "/x.pem"}}).find("set together"), std::string::npos);
}


TEST_F(ConfigTest, SecurityListsAreParsedAndCheckedOneByOne) {
  const auto c = load_config(write(R"([server]
allowed_origins = "https://nvr.example.org, http://10.0.0.5:7889"
trusted_proxies = "127.0.0.1,::1"
[auth]
max_concurrent_logins = 2
)"),
                             {});
  EXPECT_EQ(c.server.allowed_origins, (std::vector<std::string>{"https://nvr.example.org", "http://10.0.0.5:7889"}));
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(c.auth.max_concurrent_logins, 2);
  EXPECT_EQ(load_config(std::nullopt, {}).auth.max_concurrent_logins, 1);
  EXPECT_NE(error_of(write("[server]\nallowed_origins = \"https://ok.example, nvr.example.org\"\n"))
                .find("'nvr.example.org' is not an origin"),
            std::string::npos);
  EXPECT_NE(error_of(write("[server]\nallowed_origins = \"https://ok.example/path\"\n")).find("allowed_origins"),
            std::string::npos);
  EXPECT_NE(error_of(write("[server]\ntrusted_proxies = \"localhost\"\n")).find("'localhost' is not an IP address"),
            std::string::npos);
  EXPECT_NE(error_of(write("[auth]\nmax_concurrent_logins = 0\n")).find("auth.max_concurrent_logins"), std::string::npos);
}

TEST_F(ConfigTest, CameraFileRootsAreAListOfAbsoluteFolders) {
  using Paths = std::vector<std::filesystem::path>;
  EXPECT_FALSE(load_config(std::nullopt, {}).camera_file_roots.has_value());  // serve uses <data dir>/videos
  EXPECT_EQ(load_config(write("[cameras]\nfile_roots = [\"/srv/videos\", \"/mnt/clips\"]\n"), {}).camera_file_roots,
            (Paths{"/srv/videos", "/mnt/clips"}));
  EXPECT_EQ(load_config(std::nullopt, {{"SAFELYNX_CAMERAS_FILE_ROOTS", "/srv/videos:/mnt/clips:"}}).camera_file_roots,
            (Paths{"/srv/videos", "/mnt/clips"}));
  EXPECT_EQ(load_config(write("[cameras]\nfile_roots = []\n"), {}).camera_file_roots, Paths{});  // no file camera at all
  EXPECT_NE(error_of(write("[cameras]\nfile_roots = [\"videos\"]\n")).find("cameras.file_roots: 'videos' is not an absolute path"),
            std::string::npos);
  EXPECT_NE(error_of(write("[cameras]\nfile_roots = \"/srv/videos\"\n")).find("cameras.file_roots: must be a list of strings"),
            std::string::npos);
  EXPECT_NE(error_of(write("[cameras]\nfile_roots = [1]\n")).find("must be a list of strings"), std::string::npos);
}

}  // namespace
}  // namespace safelynx::app
