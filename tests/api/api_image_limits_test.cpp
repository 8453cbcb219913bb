// Hostile images through a real server (issue 13, findings 2 and 3): every
// decode path reads the format and size from the header first. A 400 KB PNG
// of 20000x20000 sent as a browser-camera frame took the server from 270 MB
// to 1.6 GB; a 20000x20000 TIFF sent to /identify was decoded in full before
// the size check.
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <thread>

#include "api/api_test_support.hpp"
#include "support/hostile_images.hpp"
#include "vision/face_crops.hpp"

namespace safelynx::testing {
namespace {

using namespace std::chrono_literals;

// A /proc/<pid>/status field in kB (VmRSS, VmHWM: the peak), or 0.
std::uint64_t status_kb(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field + ":")) return std::stoull(line.substr(field.size() + 1));
  return 0;
}

std::string base64(const std::string& bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? static_cast<std::uint8_t>(bytes[i + k]) : 0U);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? digits[group >> (18 - 6 * k) & 63] : '=');
  }
  return out;
}

std::string small_jpeg(int width, int height) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(40, 90, 160));
  return vision::encode_jpeg(image, 80);
}

class ImageLimitsApi : public SharedServerTest<ImageLimitsApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    server_ = new RunningServer(fresh_dir("image-limits"));
  }
  std::uint64_t peak_kb() { return status_kb(server_->process().pid(), "VmHWM"); }
};

TEST_F(ImageLimitsApi, IdentifyRefusesHugeAndUnsupportedImagesFromTheirHeaders) {
  const std::uint64_t peak_before = peak_kb();
  // TIFF, whatever its size: 415 naming the formats that are read.
  const HttpResult tiff = client().request("POST", "/api/v1/identify", hostile::tiff_header(20000, 20000), "image/tiff");
  EXPECT_EQ(tiff.status, 415) << tiff.body;
  EXPECT_EQ(error_code(tiff), "unsupported_image_format");
  EXPECT_NE(error_message(tiff).find("TIFF images are not accepted; send JPEG, PNG or WebP"), std::string::npos)
      << tiff.body;
  // A valid PNG of 20000x20000 in about 400 KB, and a WebP claiming as much: 413.
  const std::string png = hostile::black_png(20000, 20000);
  ASSERT_LT(png.size(), 1'000'000U);
  for (const auto& [bytes, type] : {std::pair{png, "image/png"}, std::pair{hostile::webp_header(20000, 20000), "image/webp"}}) {
    const HttpResult huge = client().request("POST", "/api/v1/identify", bytes, type);
    EXPECT_EQ(huge.status, 413) << type << ": " << huge.body;
    EXPECT_EQ(error_code(huge), "image_too_large");
    EXPECT_NE(error_message(huge).find("20000x20000"), std::string::npos) << huge.body;
  }
  // Enrolment reads photos the same way.
  Multipart form;
  form.field("name", "scan").file("photo", "scan.tiff", "image/tiff", hostile::tiff_header(64, 64));
  const HttpResult enrol = client().request("POST", "/api/v1/profiles", form.body(), form.content_type());
  EXPECT_EQ(enrol.status, 415) << enrol.body;
  EXPECT_NE(error_message(enrol).find("photo 1 (scan.tiff): TIFF images are not accepted"), std::string::npos) << enrol.body;
  // Nothing was decoded: the peak memory did not move by the 400 MB a decode takes.
  EXPECT_LT(peak_kb(), peak_before + 150'000) << "peak RSS grew from " << peak_before << " kB";
}

TEST_F(ImageLimitsApi, BrowserCameraClosesOnHugeOrNonJpegFramesWithoutDecodingThem) {
  const HttpResult created = client().post_json("/api/v1/cameras", json{{"name", "laptop"}, {"kind", "browser"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string camera = parse(created)["id"];
  ASSERT_EQ(client().request("POST", "/api/v1/cameras/" + camera + "/stream/start").status, 200);
  const std::string ingest = "/api/v1/cameras/" + camera + "/browser?token=" + server_->token();
  const unsigned short port = server_->process().port();
  const std::uint64_t peak_before = peak_kb();

  const std::vector<std::pair<std::string, std::string>> refused = {
      {hostile::black_png(20000, 20000), "frame refused: not a JPEG (PNG)"},
      {hostile::with_jpeg_size(small_jpeg(16, 16), 20000, 20000), "frame refused: frame too large: 20000x20000"},
  };
  for (const auto& [frame, reason] : refused) {
    WebSocketClient page(port, ingest);
    page.send_binary(frame);
    EXPECT_FALSE(page.read(5s)) << "the server answered instead of closing";
    EXPECT_EQ(page.close_reason().code, 1008) << reason;
    EXPECT_NE(page.close_reason().reason.find(reason), std::string::npos) << page.close_reason().reason;
  }
  std::this_thread::sleep_for(1s);  // a decode, had one started, runs on the capture thread
  EXPECT_LT(peak_kb(), peak_before + 150'000) << "peak RSS grew from " << peak_before << " kB";

  // The camera takes good frames as before.
  WebSocketClient page(port, ingest);
  std::uint64_t frames = 0;
  for (int i = 0; i < 50 && frames == 0; ++i) {
    page.send_binary(small_jpeg(64, 48));
    std::this_thread::sleep_for(100ms);
    const json state = parse(client().get("/api/v1/cameras/" + camera));
    if (state["live"].is_object()) frames = state["live"]["frames"].get<std::uint64_t>();
  }
  EXPECT_GT(frames, 0U) << "no frame was taken after the refusals";
  page.close();
  EXPECT_EQ(client().request("POST", "/api/v1/cameras/" + camera + "/stream/stop").status, 200);
}

TEST_F(ImageLimitsApi, ImportRefusesAThumbnailThatIsNotASmallCompleteJpeg) {
  const auto import_with = [&](const std::string& thumbnail) {
    const json profile = {{"id", "7d0f1a52-5b1e-4c6e-9d65-3f7f4f3a1b01"},
                          {"created_at", "2026-01-01T00:00:00Z"},
                          {"updated_at", "2026-01-01T00:00:00Z"},
                          {"embeddings", json::array()},
                          {"thumbnail", base64(thumbnail)}};
    return client().post_json("/api/v1/profiles/import",
                              json{{"format", "safelynx-profiles"}, {"version", 1}, {"profiles", {profile}}}.dump());
  };
  const HttpResult huge = import_with(hostile::with_jpeg_size(small_jpeg(16, 16), 60000, 60000));
  EXPECT_EQ(huge.status, 422) << huge.body;
  EXPECT_NE(error_message(huge).find("profiles[0].thumbnail: is 60000x60000, not a thumbnail size"), std::string::npos) << huge.body;
  const HttpResult cut = import_with(small_jpeg(16, 16).substr(0, 100));
  EXPECT_EQ(cut.status, 422) << cut.body;
  EXPECT_NE(error_message(cut).find("profiles[0].thumbnail: is not a complete JPEG"), std::string::npos) << cut.body;
}

}  // namespace
}  // namespace safelynx::testing
