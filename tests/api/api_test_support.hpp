// A real `safelynx serve` per test suite, logged in as admin.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/test_paths.hpp"

namespace safelynx::testing {

using nlohmann::json;

inline constexpr const char* kAdminPassword = "correct-horse-battery";

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("safelynx-api-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A server on `data_dir` (kept across restarts), with a logged-in client.
class RunningServer {
 public:
  explicit RunningServer(std::filesystem::path data_dir, std::map<std::string, std::string> env = {})
      : data_dir_(std::move(data_dir)), env_(std::move(env)) {
    env_.emplace("SAFELYNX_ADMIN_PASSWORD", kAdminPassword);
    env_.emplace("SAFELYNX_MODELS", models_dir().string());
    // The tests send requests quickly from one address.
    env_.emplace("SAFELYNX_SERVER_RATE_LIMIT_PER_SECOND", "0");
    // File cameras play the shared clip (suites may name other folders).
    env_.emplace("SAFELYNX_CAMERAS_FILE_ROOTS", testdata_dir().string());
    start();
  }

  void start() {
    process_ = std::make_unique<ServerProcess>();
    process_->start(SAFELYNX_CLI_PATH, data_dir_, {}, env_);
    client_ = std::make_unique<HttpClient>(process_->port());
    const HttpResult login = client_->post_json(
        "/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
    if (login.status != 200) throw std::runtime_error("login failed: " + login.body);
    token_ = json::parse(login.body).at("token").get<std::string>();
    client_->set_token(token_);
  }
  void restart() {
    EXPECT_EQ(process_->stop(), 0) << process_->log();
    start();
  }
  void kill_and_restart() {
    process_->kill_hard();
    start();
  }

  HttpClient& client() { return *client_; }
  HttpClient anonymous() const { return HttpClient(process_->port()); }
  ServerProcess& process() { return *process_; }
  const std::string& token() const { return token_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  std::filesystem::path data_dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
};

// A test suite sharing one server (started by the suite's own
// SetUpTestSuite, which assigns server_); its tests skip without the models.
template <typename Suite>
class SharedServerTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir() << " (run scripts/fetch-models.sh)";
    ASSERT_NE(server_, nullptr) << "the suite's server did not start";
  }
  HttpClient& client() { return server_->client(); }

  static inline RunningServer* server_ = nullptr;
};

inline json parse(const HttpResult& result) {
  json body = json::parse(result.body, nullptr, false);
  EXPECT_FALSE(body.is_discarded()) << "not JSON: " << result.body.substr(0, 300);
  return body;
}

inline std::string error_code(const HttpResult& result) {
  const json body = json::parse(result.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return "<no error object: " + result.body.substr(0, 200) + ">";
  return body["error"].value("code", "<no code>");
}

inline std::string error_message(const HttpResult& result) {
  const json body = json::parse(result.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return {};
  return body["error"].value("message", "");
}

// Enrols a person from photo files; returns the response.
inline HttpResult enrol(HttpClient& client, const std::string& name, const std::vector<std::filesystem::path>& photos,
                        const std::string& classification = "known") {
  Multipart form;
  form.field("name", name).field("classification", classification);
  for (const auto& photo : photos)
    form.file("photo", photo.filename().string(), photo.extension() == ".png" ? "image/png" : "image/jpeg",
              read_file(photo));
  return client.request("POST", "/api/v1/profiles", form.body(), form.content_type());
}

inline std::vector<std::filesystem::path> photos_of(const std::string& identity) {
  std::vector<std::filesystem::path> photos;
  for (const auto& entry : std::filesystem::directory_iterator(testdata_dir() / "faces" / identity))
    photos.push_back(entry.path());
  std::sort(photos.begin(), photos.end());
  return photos;
}

inline const std::vector<std::string>& identities() {
  static const std::vector<std::string> names = {"alex_lacamoire", "biden", "kit_harington",
                                                 "lin_manuel_miranda", "obama", "rose_leslie"};
  return names;
}

// Names identified in a scene (unknown faces as "?"), via POST /api/v1/identify.
inline std::multiset<std::string> identify_names(HttpClient& client, const std::filesystem::path& image) {
  const std::string type = image.extension() == ".png" ? "image/png" : "image/jpeg";
  const HttpResult result = client.request("POST", "/api/v1/identify", read_file(image), type);
  EXPECT_EQ(result.status, 200) << result.body;
  std::multiset<std::string> names;
  const json body = parse(result);
  for (const json& face : body.value("faces", json::array()))
    names.insert(face["profile"].is_null() ? "?" : face["profile"]["name"].get<std::string>());
  return names;
}

inline const std::map<std::string, std::multiset<std::string>>& scene_people() {
  static const std::map<std::string, std::multiset<std::string>> expected = {
      {"obama_biden_1.jpg", {"biden", "obama"}},      {"obama_biden_2.jpg", {"biden", "obama"}},
      {"kit_rose.jpg", {"kit_harington", "rose_leslie"}}, {"kit_test.jpg", {"kit_harington"}},
      {"obama_partial_face.jpg", {"obama"}},           {"rgba_32bit.png", {"obama"}}};
  return expected;
}

}  // namespace safelynx::testing
