// The live pipeline end to end, through a real `safelynx serve`: a file
// camera playing the shared Hamilton clip in real time must produce a
// sighting of Lin-Manuel Miranda with a snapshot, a recording that covers
// it, metrics, and few unknown profiles.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "api/api_test_support.hpp"
#include "domain/entities.hpp"
#include "vision/face_crops.hpp"
#include "vision/ssd_mobilenet_detector.hpp"

namespace safelynx::testing {
namespace {

using namespace std::chrono_literals;

std::filesystem::path clip() { return testdata_dir() / "video" / "short_hamilton_clip.mp4"; }

std::string create_file_camera(HttpClient& client, const std::string& name) {
  const HttpResult created = client.post_json(
      "/api/v1/cameras", json{{"name", name}, {"kind", "file"}, {"source", clip().string()}}.dump());
  EXPECT_EQ(created.status, 201) << created.body;
  return parse(created).value("id", "");
}

// The value of an unlabelled Prometheus series, or -1 when absent.
double metric_value(const std::string& text, const std::string& name) {
  const std::regex line("(^|\n)" + name + " ([0-9.e+-]+)");
  std::smatch match;
  if (!std::regex_search(text, match, line)) return -1;
  return std::stod(match[2]);
}

// The first bytes of a streamed response (headers and the first parts), read
// from a raw socket: the response never ends while the camera runs.
std::string read_stream_start(unsigned short port, const std::string& target, std::size_t bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string received;
  char chunk[65536];
  boost::system::error_code error;
  while (received.size() < bytes) {
    const std::size_t n = socket.read_some(boost::asio::buffer(chunk), error);
    if (error) break;
    received.append(chunk, n);
  }
  return received;
}

// Reads what the server sends on `socket` into `received` until `done` says
// enough, the server closes (returns true then) or `timeout` passes.
bool read_until(boost::asio::ip::tcp::socket& socket, std::string& received, std::chrono::milliseconds timeout,
                const std::function<bool(const std::string&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[65536];
  while (!done(received)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd ready{socket.native_handle(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n <= 0) return true;
    received.append(chunk, static_cast<std::size_t>(n));
  }
  return false;
}

// The payload of the next NewSighting of `profile_id` on the event
// WebSocket, or nullopt when none came by `deadline`.
std::optional<json> next_sighting_of(WebSocketClient& events, const std::string& profile_id,
                                     std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const auto message = events.read(left);
    if (!message) return std::nullopt;
    const json event = json::parse(*message);
    if (event["type"] == "NewSighting" && event["payload"]["sighting"]["profile_id"] == profile_id)
      return event["payload"]["sighting"];
  }
  return std::nullopt;
}

class LivePipeline : public SharedServerTest<LivePipeline> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models() || !std::filesystem::exists(clip())) return;
    // A short post-trigger buffer so the recording is finished soon after the clip ends.
    server_ = new RunningServer(fresh_dir("pipeline"), {{"SAFELYNX_RECORDING_POST_BUFFER_S", "2"}});
  }
  void SetUp() override {
    if (!std::filesystem::exists(clip())) GTEST_SKIP() << "test video not found at " << clip();
    SharedServerTest::SetUp();
  }
};

TEST_F(LivePipeline, AFileCameraSightsAnEnrolledPersonWithSnapshotRecordingAndMetrics) {
  const HttpResult lin = enrol(client(), "lin_manuel_miranda", {testdata_dir() / "faces/lin_manuel_miranda/lin1.png"});
  ASSERT_EQ(lin.status, 201) << lin.body;
  const std::string lin_id = parse(lin)["id"];
  const HttpResult alex = enrol(client(), "alex_lacamoire", photos_of("alex_lacamoire"));
  ASSERT_EQ(alex.status, 201) << alex.body;

  WebSocketClient events(server_->process().port(), "/ws?token=" + server_->token());
  const std::string camera = create_file_camera(client(), "stage");
  const auto started = std::chrono::steady_clock::now();
  const HttpResult start = client().request("POST", "/api/v1/cameras/" + camera + "/stream/start");
  ASSERT_EQ(start.status, 200) << start.body;

  // Within 30 s the WebSocket carries a NewSighting of Lin-Manuel Miranda.
  const std::optional<json> sighting = next_sighting_of(events, lin_id, started + 30s);
  ASSERT_TRUE(sighting) << "no NewSighting of lin_manuel_miranda within 30 s\n" << server_->process().log();
  EXPECT_EQ((*sighting)["camera_id"], camera);

  // The sighting is listed for the profile, with a snapshot that shows a face.
  const HttpResult listed = client().get("/api/v1/sightings?profile_id=" + lin_id);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json page = parse(listed);
  ASSERT_GE(page["total"].get<int>(), 1);
  const json first = page["items"][0];
  ASSERT_TRUE(first["frame_url"].is_string()) << first;
  const HttpResult frame = client().get(first["frame_url"].get<std::string>());
  ASSERT_EQ(frame.status, 200);
  EXPECT_EQ(frame.header("content-type"), "image/jpeg");
  const cv::Mat picture = cv::imdecode(std::vector<std::uint8_t>(frame.body.begin(), frame.body.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(picture.empty()) << "the frame snapshot is not a JPEG";
  vision::SsdMobilenetDetector detector(models_dir());
  EXPECT_FALSE(detector.detect(picture, 0.5f).empty()) << "no face in the sighting's frame snapshot";
  const HttpResult face = client().get(first["snapshot_url"].get<std::string>());
  ASSERT_EQ(face.status, 200);
  EXPECT_TRUE(face.body.starts_with("\xFF\xD8\xFF")) << "the face snapshot is not a JPEG";

  // The clip plays once (9 s); then the recording is finished (post-buffer 2 s).
  ASSERT_TRUE(first["recording_id"].is_string()) << "the sighting is not linked to a recording: " << first;
  const std::string recording_id = first["recording_id"];
  json recording;
  for (int i = 0; i < 120; ++i) {
    const HttpResult r = client().get("/api/v1/recordings/" + recording_id);
    ASSERT_EQ(r.status, 200) << r.body;
    recording = parse(r);
    if (!recording["end"].is_null()) break;
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_FALSE(recording["end"].is_null()) << "the recording was not finished: " << recording;
  const TimePoint seen = parse_iso8601((*sighting)["time"].get<std::string>());
  EXPECT_LE(parse_iso8601(recording["start"].get<std::string>()), seen);
  EXPECT_GE(parse_iso8601(recording["end"].get<std::string>()), seen);
  const double offset = first["recording_offset_s"];
  EXPECT_GE(offset, 0.0);
  EXPECT_LE(offset, recording["duration_s"].get<double>());

  const HttpResult video = client().get("/api/v1/recordings/" + recording_id + "/video");
  ASSERT_EQ(video.status, 200) << video.body.substr(0, 200);
  const auto file = fresh_dir("pipeline-video") / "recording.mp4";
  {
    std::ofstream out(file, std::ios::binary);
    out << video.body;
  }
  cv::VideoCapture decoded(file.string(), cv::CAP_FFMPEG);
  ASSERT_TRUE(decoded.isOpened()) << "the recording does not open";
  cv::Mat image;
  int frames = 0;
  while (decoded.read(image) && !image.empty()) ++frames;
  EXPECT_GT(frames, 30) << "the recording decodes to too few frames";
  const int fourcc = static_cast<int>(decoded.get(cv::CAP_PROP_FOURCC));
  const std::string codec{static_cast<char>(fourcc & 0xFF), static_cast<char>((fourcc >> 8) & 0xFF),
                          static_cast<char>((fourcc >> 16) & 0xFF), static_cast<char>((fourcc >> 24) & 0xFF)};
  EXPECT_TRUE(codec == "avc1" || codec == "h264" || codec == "H264") << "not H.264: " << codec;

  // Few strangers: the quality gates keep passing faces from becoming profiles.
  const HttpResult unknown = client().get("/api/v1/profiles?classification=unknown");
  ASSERT_EQ(unknown.status, 200);
  EXPECT_LE(parse(unknown)["total"].get<int>(), 3);

  const HttpResult metrics = client().get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_GT(metric_value(metrics.body, "faces_detected_total"), 0) << metrics.body.substr(0, 2000);
  EXPECT_GT(metric_value(metrics.body, "profiles_matched_total"), 0);
  EXPECT_GE(metric_value(metrics.body, "embedding_cache_size"), 2);
  EXPECT_EQ(server_->anonymous().get("/metrics").status, 401);

  // Operators and admins may delete a finished recording (a viewer may not):
  // its row and its file go, and the audit log says who.
  const HttpResult viewer = client().post_json("/api/v1/auth/tokens", R"({"name": "viewer", "role": "viewer"})");
  ASSERT_EQ(viewer.status, 201) << viewer.body;
  HttpClient viewer_client = server_->anonymous();
  viewer_client.set_token(parse(viewer)["token"]);
  const HttpResult refused = viewer_client.request("DELETE", "/api/v1/recordings/" + recording_id);
  EXPECT_EQ(refused.status, 403) << refused.body;
  const auto video_files = [&] {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(server_->data_dir() / "recordings"))
      if (entry.is_regular_file()) ++count;
    return count;
  };
  const std::size_t files_before = video_files();
  ASSERT_GE(files_before, 1u);
  const HttpResult deleted = client().request("DELETE", "/api/v1/recordings/" + recording_id);
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(video_files(), files_before - 1);
  EXPECT_EQ(client().get("/api/v1/recordings/" + recording_id).status, 404);
  EXPECT_EQ(client().get("/api/v1/recordings/" + recording_id + "/video").status, 404);
  EXPECT_EQ(client().request("DELETE", "/api/v1/recordings/" + recording_id).status, 404);
  const json audit = parse(client().get("/api/v1/audit?action=recording.delete"));
  ASSERT_EQ(audit["total"], 1) << audit.dump();
  EXPECT_EQ(audit["items"][0]["object_id"], recording_id) << audit.dump();
}

TEST_F(LivePipeline, AnUnreachableCameraReportsErrorAndTheServerKeepsServing) {
  const HttpResult created = client().post_json(
      "/api/v1/cameras", json{{"name", "gone"}, {"kind", "http"}, {"source", "http://user:secret@127.0.0.1:9/none"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string camera = parse(created)["id"];
  ASSERT_EQ(client().request("POST", "/api/v1/cameras/" + camera + "/stream/start").status, 200);
  json state;
  for (int i = 0; i < 80; ++i) {
    state = parse(client().get("/api/v1/cameras/" + camera));
    if (state["status"] == "error") break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(state["status"], "error") << state;
  EXPECT_NE(state["status_message"].get<std::string>().find("127.0.0.1:9"), std::string::npos) << state;
  EXPECT_EQ(state["status_message"].get<std::string>().find("secret"), std::string::npos) << "credentials leaked: " << state;
  EXPECT_EQ(client().get("/api/v1/health").status, 200);
  const HttpResult stop = client().request("POST", "/api/v1/cameras/" + camera + "/stream/stop");
  EXPECT_EQ(stop.status, 200);
  EXPECT_EQ(parse(stop)["status"], "stopped");
  EXPECT_EQ(client().get("/api/v1/cameras/" + camera + "/snapshot.jpg").status, 409);
}

// The page's camera: JPEG frames over the camera's WebSocket become
// sightings like any other camera's, and the live view shows them.
TEST(BrowserCamera, FramesPushedOverTheWebSocketAreSightedAndShownLive) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  if (!std::filesystem::exists(clip())) GTEST_SKIP() << "test video not found at " << clip();
  RunningServer server(fresh_dir("pipeline-browser"));
  const HttpResult lin = enrol(server.client(), "lin_manuel_miranda", {testdata_dir() / "faces/lin_manuel_miranda/lin1.png"});
  ASSERT_EQ(lin.status, 201) << lin.body;
  const std::string lin_id = parse(lin)["id"];
  const HttpResult created =
      server.client().post_json("/api/v1/cameras", json{{"name", "laptop"}, {"kind", "browser"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string camera = parse(created)["id"];
  const std::string ingest = "/api/v1/cameras/" + camera + "/browser?token=" + server.token();
  // Only a started browser camera takes frames.
  EXPECT_THROW(WebSocketClient(server.process().port(), ingest), boost::system::system_error);
  ASSERT_EQ(server.client().request("POST", "/api/v1/cameras/" + camera + "/stream/start").status, 200);

  // The clip's frames as a page would send them: JPEG, about 15 a second, looping.
  std::vector<std::string> jpegs;
  {
    cv::VideoCapture video(clip().string());
    cv::Mat image;
    for (int i = 0; video.read(image) && !image.empty(); ++i)
      if (i % 2 == 0) jpegs.push_back(vision::encode_jpeg(image, 80));
  }
  ASSERT_GT(jpegs.size(), 50u);
  WebSocketClient events(server.process().port(), "/ws?token=" + server.token());
  std::atomic<bool> sending{true};
  std::atomic<int> sent{0};
  std::thread page([&] {
    try {
      WebSocketClient feed(server.process().port(), ingest);
      for (std::size_t i = 0; sending; i = (i + 1) % jpegs.size()) {
        feed.send_binary(jpegs[i]);
        ++sent;
        std::this_thread::sleep_for(66ms);
      }
      feed.close();
    } catch (const std::exception& e) {
      if (sent == 0) ADD_FAILURE() << "the page could not send frames: " << e.what();
    }
  });
  struct StopPage {
    std::atomic<bool>& sending;
    std::thread& page;
    ~StopPage() {
      sending = false;
      page.join();
    }
  } stop_page{sending, page};

  const std::optional<json> sighting = next_sighting_of(events, lin_id, std::chrono::steady_clock::now() + 30s);
  ASSERT_TRUE(sighting) << "no NewSighting from the browser camera within 30 s (" << sent << " frames sent)\n"
                        << server.process().log();
  EXPECT_EQ((*sighting)["camera_id"], camera);

  const json state = parse(server.client().get("/api/v1/cameras/" + camera));
  EXPECT_EQ(state["status"], "active") << state;
  ASSERT_TRUE(state["live"].is_object()) << state;
  EXPECT_GT(state["live"]["frames"].get<int>(), 0) << state;

  // The live view while frames arrive: a snapshot and MJPEG parts, all JPEGs.
  const HttpResult live = server.client().get("/api/v1/cameras/" + camera + "/snapshot.jpg?overlay=true");
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.header("content-type"), "image/jpeg");
  EXPECT_FALSE(cv::imdecode(std::vector<std::uint8_t>(live.body.begin(), live.body.end()), cv::IMREAD_COLOR).empty());
  const std::string mjpeg = read_stream_start(server.process().port(),
                                              "/api/v1/cameras/" + camera + "/live.mjpeg?fps=10&token=" + server.token(), 20'000);
  ASSERT_TRUE(mjpeg.starts_with("HTTP/1.1 200")) << mjpeg.substr(0, 300);
  EXPECT_NE(mjpeg.find("multipart/x-mixed-replace; boundary=safelynxframe"), std::string::npos) << mjpeg.substr(0, 300);
  const auto part = mjpeg.find("--safelynxframe\r\nContent-Type: image/jpeg");
  ASSERT_NE(part, std::string::npos) << mjpeg.substr(0, 300);
  EXPECT_NE(mjpeg.find("\xFF\xD8\xFF", part), std::string::npos) << "the part is not a JPEG";

  // A live view opened with a token ends soon after the token is revoked.
  {
    const HttpResult wall = server.client().post_json("/api/v1/auth/tokens", R"({"name": "wall display"})");
    ASSERT_EQ(wall.status, 201) << wall.body;
    const json token = parse(wall);
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket watching(io);
    watching.connect({boost::asio::ip::make_address("127.0.0.1"), server.process().port()});
    boost::asio::write(watching, boost::asio::buffer("GET /api/v1/cameras/" + camera + "/live.mjpeg?fps=10&token=" +
                                                     token["token"].get<std::string>() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    std::string received;
    const auto parts = [](const std::string& text) {
      std::size_t count = 0;
      for (auto at = text.find("--safelynxframe\r\n"); at != std::string::npos; at = text.find("--safelynxframe\r\n", at + 1))
        ++count;
      return count;
    };
    ASSERT_FALSE(read_until(watching, received, 20s, [&](const std::string& text) { return parts(text) >= 2; }))
        << "the stream closed before two parts: " << received.substr(0, 300);
    ASSERT_GE(parts(received), 2u) << received.substr(0, 300);
    ASSERT_EQ(server.client().del("/api/v1/auth/tokens/" + token["id"].get<std::string>()).status, 204);
    received.clear();
    EXPECT_TRUE(read_until(watching, received, 5s, [](const std::string&) { return false; }))
        << "the live view went on for 5 s after its token was revoked";
  }

  // A text message is refused with a reason, closing that socket.
  {
    WebSocketClient wrong(server.process().port(), ingest);
    wrong.send_text("not a frame");
    EXPECT_FALSE(wrong.read(5s)) << "the server answered a text frame instead of closing";
    EXPECT_EQ(wrong.close_reason().code, 1008) << "not a policy-violation close";
    EXPECT_NE(wrong.close_reason().reason.find("binary JPEG"), std::string::npos) << wrong.close_reason().reason;
  }
  WebSocketClient late(server.process().port(), ingest);

  // Stopped: the page's WebSocket is no longer taken and the status says so.
  const HttpResult stop = server.client().request("POST", "/api/v1/cameras/" + camera + "/stream/stop");
  ASSERT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(parse(stop)["status"], "stopped");
  EXPECT_EQ(parse(server.client().get("/api/v1/cameras/" + camera))["status"], "stopped");
  EXPECT_THROW(WebSocketClient(server.process().port(), ingest), boost::system::system_error);
  // A socket still open from before the stop is closed at its next frame, saying why.
  late.send_binary(jpegs.front());
  EXPECT_FALSE(late.read(5s)) << "a frame for a stopped camera was taken";
  EXPECT_NE(late.close_reason().reason.find("was stopped"), std::string::npos) << late.close_reason().reason;
}

// kill -9 while recording: the next start keeps the segment that was open,
// up to its last written fragment, under the same id (sightings point to
// it), finished and playable; no unfinished recording or partial file is
// left behind.
TEST(LivePipelineCrash, KillDuringRecordingKeepsTheOpenSegment) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  if (!std::filesystem::exists(clip())) GTEST_SKIP() << "test video not found at " << clip();
  RunningServer server(fresh_dir("pipeline-crash"));
  ASSERT_EQ(enrol(server.client(), "lin_manuel_miranda", {testdata_dir() / "faces/lin_manuel_miranda/lin1.png"}).status, 201);
  const std::string camera = create_file_camera(server.client(), "crash");
  ASSERT_EQ(server.client().request("POST", "/api/v1/cameras/" + camera + "/stream/start").status, 200);
  // The open segment's row (no end yet) is stored before its first frame.
  std::string open_id;
  for (int i = 0; i < 120 && open_id.empty(); ++i) {
    const json listed = parse(server.client().get("/api/v1/recordings?camera_id=" + camera));
    for (const json& r : listed["items"])
      if (r["end"].is_null()) open_id = r["id"].get<std::string>();
    if (open_id.empty()) std::this_thread::sleep_for(250ms);
  }
  ASSERT_FALSE(open_id.empty()) << "the camera never started recording\n" << server.process().log();
  std::this_thread::sleep_for(2s);  // the pre-buffer and a few fragments are on disk
  const json before = parse(server.client().get("/api/v1/recordings/" + open_id));
  ASSERT_TRUE(before["end"].is_null()) << "the segment closed before the kill: " << before;
  server.kill_and_restart();

  // The camera was streaming, so it resumes; stopping it finishes its new segment.
  ASSERT_EQ(server.client().request("POST", "/api/v1/cameras/" + camera + "/stream/stop").status, 200);
  const HttpResult kept = server.client().get("/api/v1/recordings/" + open_id);
  ASSERT_EQ(kept.status, 200) << "the recording open at the kill is gone: " << kept.body << "\n" << server.process().log();
  const json row = parse(kept);
  ASSERT_FALSE(row["end"].is_null()) << row;
  EXPECT_GT(row["duration_s"].get<double>(), 0) << row;
  EXPECT_GT(row["size_bytes"].get<std::uint64_t>(), 0u) << row;
  for (const json& sighting : before["sighting_ids"])
    EXPECT_NE(std::find(row["sighting_ids"].begin(), row["sighting_ids"].end(), sighting), row["sighting_ids"].end())
        << "sighting " << sighting << " lost its recording";
  const HttpResult video = server.client().get("/api/v1/recordings/" + open_id + "/video");
  ASSERT_EQ(video.status, 200) << video.body;
  EXPECT_EQ(video.body.size(), row["size_bytes"].get<std::size_t>());
  const std::filesystem::path copy = server.data_dir() / "kept-copy.mp4";
  {
    std::ofstream out(copy, std::ios::binary);
    out << video.body;
  }
  cv::VideoCapture capture(copy.string(), cv::CAP_FFMPEG);
  ASSERT_TRUE(capture.isOpened()) << "the kept video does not open";
  int frames = 0;
  for (cv::Mat frame; capture.read(frame);) ++frames;
  EXPECT_GT(frames, 0) << "the kept video has no frame that decodes";
  const double fps = capture.get(cv::CAP_PROP_FPS);
  ASSERT_GT(fps, 0);
  // The row's duration is the video's.
  EXPECT_NEAR(row["duration_s"].get<double>(), frames / fps, 0.1) << row;

  const json recordings = parse(server.client().get("/api/v1/recordings?camera_id=" + camera));
  for (const json& r : recordings["items"]) {
    EXPECT_FALSE(r["end"].is_null()) << "an unfinished recording is listed: " << r;
    EXPECT_EQ(server.client().get("/api/v1/recordings/" + r["id"].get<std::string>() + "/video").status, 200) << r;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(server.data_dir() / "recordings"))
    EXPECT_FALSE(entry.path().filename().string().ends_with(".partial.mp4")) << "a crashed segment was left: " << entry.path();
  EXPECT_EQ(server.client().get("/api/v1/health").status, 200);
}

}  // namespace
}  // namespace safelynx::testing
