// Cameras as an attacker with a valid token would use them: a file camera
// must not read files outside [cameras] file_roots nor anything that is not
// a video, nor tell whether a path exists; passwords in camera URLs are
// write-only; numbers are bounded.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "api_test_support.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path suite_dir() { return fs::temp_directory_path() / ("safelynx-api-camsec-" + std::to_string(::getpid())); }
fs::path videos() { return suite_dir() / "videos"; }
fs::path outside() { return suite_dir() / "outside"; }
fs::path clip() { return testdata_dir() / "video" / "short_hamilton_clip.mp4"; }

class CameraSecurityApi : public SharedServerTest<CameraSecurityApi> {
 public:
  static void SetUpTestSuite() {
    if (!have_models() || !have_testdata()) return;
    fs::remove_all(suite_dir());
    fs::create_directories(videos());
    fs::create_directories(outside());
    fs::copy_file(clip(), videos() / "clip.mp4");
    fs::copy_file(clip(), outside() / "clip.mp4");
    std::ofstream(outside() / "secret.nfo") << "root password: hunter2\n";
    std::ofstream(videos() / "inside.nfo") << "an .nfo file FFmpeg would render as video\n";
    std::ofstream(videos() / "notes.txt") << "plain text\n";
    server_ = new RunningServer(suite_dir() / "data", {{"SAFELYNX_CAMERAS_FILE_ROOTS", videos().string()}});
  }
  static void TearDownTestSuite() {
    SharedServerTest::TearDownTestSuite();
    std::error_code ignored;
    fs::remove_all(suite_dir(), ignored);
  }

 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    if (!have_testdata()) GTEST_SKIP() << "shared test data not found at " << testdata_dir();
  }

  HttpResult create_file_camera(const std::string& path) {
    return client().post_json("/api/v1/cameras", json{{"name", "file"}, {"kind", "file"}, {"source", path}}.dump());
  }
  // The 422 message with the path taken out, to compare refusals.
  std::string refusal_without_path(const std::string& path) {
    const HttpResult result = create_file_camera(path);
    EXPECT_EQ(result.status, 422) << path << ": " << result.body;
    std::string message = error_message(result);
    for (auto at = message.find(path); at != std::string::npos; at = message.find(path))
      message.replace(at, path.size(), "<path>");
    return message;
  }
  json camera(const std::string& id) { return parse(client().get("/api/v1/cameras/" + id)); }
};

TEST_F(CameraSecurityApi, FileCamerasOutsideTheRootsAreRefusedWithOneMessageWhateverThePath) {
  const std::string expected = refusal_without_path((outside() / "clip.mp4").string());
  EXPECT_NE(expected.find("file_roots"), std::string::npos) << expected;
  EXPECT_EQ(expected.find("hunter2"), std::string::npos);

  fs::create_symlink(outside() / "clip.mp4", videos() / "link-out.mp4");
  fs::create_symlink(outside(), videos() / "folder-link");
  const fs::path unreadable = videos() / "unreadable.mp4";
  fs::copy_file(clip(), unreadable);
  fs::permissions(unreadable, fs::perms::none);
  std::vector<std::string> refused = {
      (outside() / "secret.nfo").string(),
      (videos() / ".." / "outside" / "clip.mp4").string(),  // ".." escaping the root
      (videos() / "link-out.mp4").string(),                 // a symlink inside pointing outside
      (videos() / "folder-link" / "clip.mp4").string(),     // through a linked folder
      (videos() / "missing.mp4").string(),                  // missing: the same as unreadable
      "/etc/passwd",
      "/no/such/file.mp4",
      videos().string(),  // a folder
  };
  if (::geteuid() != 0) refused.push_back(unreadable.string());  // root reads any file
  for (const std::string& path : refused) EXPECT_EQ(refusal_without_path(path), expected) << path;

  EXPECT_EQ(create_file_camera("videos/clip.mp4").status, 422);  // relative: refused
  EXPECT_EQ(create_file_camera((videos() / "clip.mp4").string()).status, 201);
}

TEST_F(CameraSecurityApi, TextFilesInsideTheRootsAreNotVideos) {
  for (const char* name : {"inside.nfo", "notes.txt"}) {
    const HttpResult result = create_file_camera((videos() / name).string());
    EXPECT_EQ(result.status, 422) << result.body;
    EXPECT_NE(error_message(result).find("not a video file"), std::string::npos) << result.body;
  }
}

TEST_F(CameraSecurityApi, UpdatingAFileCameraToAPathOutsideIsRefused) {
  const HttpResult created = create_file_camera((videos() / "clip.mp4").string());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  const HttpResult moved =
      client().put_json("/api/v1/cameras/" + id, json{{"source", (outside() / "clip.mp4").string()}}.dump());
  EXPECT_EQ(moved.status, 422) << moved.body;
  EXPECT_EQ(camera(id)["source"], (videos() / "clip.mp4").string());
}

TEST_F(CameraSecurityApi, AFileSwappedAfterCreationIsCheckedAgainWhenOpened) {
  // Accepted while the link points inside; then pointed at a text file outside.
  const fs::path link = videos() / "swapped.mp4";
  fs::create_symlink(videos() / "clip.mp4", link);
  const HttpResult created = create_file_camera(link.string());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  fs::remove(link);
  fs::create_symlink(outside() / "secret.nfo", link);

  ASSERT_EQ(client().request("POST", "/api/v1/cameras/" + id + "/stream/start").status, 200);
  json state;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    state = camera(id);
    if (state["status"] == "error") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(state["status"], "error") << state.dump();
  EXPECT_NE(state["status_message"].get<std::string>().find("file_roots"), std::string::npos) << state.dump();
  const HttpResult snapshot = client().get("/api/v1/cameras/" + id + "/snapshot.jpg");
  EXPECT_NE(snapshot.status, 200);
  EXPECT_EQ(snapshot.body.find("hunter2"), std::string::npos);
  client().request("POST", "/api/v1/cameras/" + id + "/stream/stop");
}

TEST_F(CameraSecurityApi, CameraPasswordsAreWriteOnly) {
  const std::string url = "rtsp://admin:s3cret-pw@127.0.0.1:1/live";
  const HttpResult created =
      client().post_json("/api/v1/cameras", json{{"name", "door"}, {"kind", "rtsp"}, {"source", url}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body.find("s3cret-pw"), std::string::npos) << created.body;
  const json body = parse(created);
  const std::string id = body["id"];
  EXPECT_EQ(body["source"], "rtsp://admin:***@127.0.0.1:1/live");

  const HttpResult list = client().get("/api/v1/cameras?per_page=200");
  EXPECT_EQ(list.body.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(client().get("/api/v1/cameras/" + id).body.find("s3cret-pw"), std::string::npos);

  // The edit form sends the masked URL back: the stored password stays.
  const HttpResult renamed = client().put_json(
      "/api/v1/cameras/" + id, json{{"name", "front door"}, {"source", "rtsp://admin:***@127.0.0.1:1/other"}}.dump());
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(parse(renamed)["source"], "rtsp://admin:***@127.0.0.1:1/other");
  // ...but not to another host or user, which would send it elsewhere.
  for (const char* elsewhere : {"rtsp://admin:***@attacker.example/live", "rtsp://root:***@127.0.0.1:1/live",
                                "rtsp://admin:***@127.0.0.1:2/live"}) {
    const HttpResult moved = client().put_json("/api/v1/cameras/" + id, json{{"source", elsewhere}}.dump());
    EXPECT_EQ(moved.status, 422) << elsewhere << ": " << moved.body;
    EXPECT_NE(error_message(moved).find("source"), std::string::npos);
  }
  // A new camera cannot take a masked password either.
  EXPECT_EQ(client()
                .post_json("/api/v1/cameras",
                           json{{"name", "x"}, {"kind", "rtsp"}, {"source", "rtsp://admin:***@127.0.0.1:1/live"}}.dump())
                .status,
            422);

  // What is stored: the real password, with the new path.
  ASSERT_EQ(server_->process().stop(), 0);
  {
    auto database = storage::open_sqlite_database(server_->data_dir() / "safelynx.db");
    const auto stored = database->cameras().find(Uuid::parse(id));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->source, "rtsp://admin:s3cret-pw@127.0.0.1:1/other");
  }
  server_->start();
}

TEST_F(CameraSecurityApi, FramesPerSecondAreBounded) {
  for (const char* fps : {"1e9", "121", "-1"}) {
    const HttpResult result = client().post_json(
        "/api/v1/cameras", std::string(R"({"name": "x", "kind": "usb", "source": "0", "fps": )") + fps + "}");
    EXPECT_EQ(result.status, 422) << fps << ": " << result.body;
    EXPECT_TRUE(error_message(result).starts_with("fps")) << result.body;
  }
  const HttpResult created = create_file_camera((videos() / "clip.mp4").string());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  for (const char* fps : {"1e9", "5x", "99999999999", "0"}) {
    const HttpResult live = client().get("/api/v1/cameras/" + id + "/live.mjpeg?fps=" + fps);
    EXPECT_EQ(live.status, 400) << fps << ": " << live.body;
    EXPECT_NE(error_message(live).find("fps"), std::string::npos) << live.body;
  }
}

}  // namespace
}  // namespace safelynx::testing
