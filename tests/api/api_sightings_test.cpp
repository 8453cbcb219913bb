// Sightings, recordings and analytics through the API, with data written by
// the storage layer before the server starts (the camera pipeline that will
// produce them is issue 5): lists and filters, snapshots, the recording's
// video with Range requests, the dashboard's counts, and a profile's files
// removed with it.
#include <opencv2/imgcodecs.hpp>

#include "api/api_test_support.hpp"
#include "storage/media_store.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::testing {
namespace {

std::string jpeg_of(int width, int height) {
  const cv::Mat image(height, width, CV_8UC3, cv::Scalar(40, 90, 160));
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

class SightingsApi : public SharedServerTest<SightingsApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    const auto dir = fresh_dir("sightings");
    const auto data = dir / "data";
    const TimePoint now = now_ms();
    {
      auto database = storage::open_sqlite_database(data / "safelynx.db");
      storage::MediaStore media(data);
      Profile profile;
      profile.id = Uuid::parse("11111111-1111-4111-8111-111111111111");
      profile.name = "visitor";
      profile.classification = Classification::Flagged;
      profile.created_at = profile.updated_at = now;
      std::vector<StoredEmbedding> embeddings(1);
      embeddings[0].descriptor.fill(0.05f);
      embeddings[0].created_at = now;
      database->profiles().create(profile, embeddings);

      Camera camera;
      camera.id = Uuid::parse("22222222-2222-4222-8222-222222222222");
      camera.name = "porch";
      camera.kind = CameraKind::Rtsp;
      camera.source = "rtsp://10.0.0.2/live";
      camera.created_at = camera.updated_at = now;
      database->cameras().create(camera);

      Recording recording;
      recording.id = Uuid::parse("33333333-3333-4333-8333-333333333333");
      recording.camera_id = camera.id;
      recording.start = now - std::chrono::minutes(10);
      recording.end = now - std::chrono::minutes(9);
      recording.file = "porch-1.mp4";
      video_ = std::string(100'000, '\0');
      for (std::size_t i = 0; i < video_.size(); ++i) video_[i] = static_cast<char>(i * 7 % 251);
      std::ofstream(media.recordings_dir() / recording.file, std::ios::binary) << video_;
      recording.size_bytes = video_.size();
      database->recordings().create(recording);

      for (int i = 0; i < 3; ++i) {
        Sighting sighting;
        sighting.id = Uuid::from_random_bytes({static_cast<std::uint8_t>(i + 1), 7, 7, 7});
        sighting.profile_id = profile.id;
        sighting.camera_id = camera.id;
        sighting.time = now - std::chrono::minutes(10 - i);
        sighting.box = {10, 20, 100, 120};
        sighting.detector_score = 0.9f;
        sighting.match_distance = 0.4f;
        sighting.has_face_snapshot = sighting.has_frame_snapshot = true;
        sighting.recording_id = recording.id;
        sighting.recording_offset_s = 12.5;
        media.write(storage::MediaKind::FaceSnapshot, sighting.id, jpeg_of(100, 120));
        media.write(storage::MediaKind::FrameSnapshot, sighting.id, jpeg_of(640, 360));
        database->sightings().create(sighting);
        sightings_.push_back(sighting.id.to_string());
      }
    }
    server_ = new RunningServer(data);
  }

  static std::vector<std::string> sightings_;
  static std::string video_;
  static constexpr const char* kProfile = "11111111-1111-4111-8111-111111111111";
  static constexpr const char* kCamera = "22222222-2222-4222-8222-222222222222";
  static constexpr const char* kRecording = "33333333-3333-4333-8333-333333333333";
};

std::vector<std::string> SightingsApi::sightings_;
std::string SightingsApi::video_;

TEST_F(SightingsApi, ListsFilterAndPage) {
  const json all = parse(client().get(std::string("/api/v1/sightings?profile_id=") + kProfile));
  EXPECT_EQ(all["total"], 3);
  ASSERT_EQ(all["items"].size(), 3u);
  EXPECT_EQ(all["items"][0]["id"], sightings_[2]);  // newest first
  EXPECT_EQ(all["items"][0]["recording_id"], kRecording);
  EXPECT_EQ(all["items"][0]["box"], json({10.0, 20.0, 100.0, 120.0}));
  EXPECT_EQ(all["items"][0]["distance"], 0.4);
  // Each listed sighting names its profile: no request per row.
  EXPECT_EQ(all["items"][0]["profile"]["name"], "visitor");
  EXPECT_EQ(all["items"][2]["profile"]["classification"], "flagged");
  EXPECT_EQ(all["items"][1]["profile"]["id"], kProfile);
  EXPECT_EQ(parse(client().get(std::string("/api/v1/sightings?camera_id=") + kCamera + "&per_page=2"))["items"].size(), 2u);
  EXPECT_EQ(parse(client().get("/api/v1/sightings?classification=flagged"))["total"], 3);
  EXPECT_EQ(parse(client().get("/api/v1/sightings?classification=trusted"))["total"], 0);
  EXPECT_EQ(parse(client().get("/api/v1/sightings?to=2000-01-01"))["total"], 0);
  EXPECT_EQ(parse(client().get(std::string("/api/v1/profiles/") + kProfile + "/sightings"))["total"], 3);
  const json one = parse(client().get("/api/v1/sightings/" + sightings_[0]));
  EXPECT_EQ(one["profile"]["name"], "visitor");
  const json profile = parse(client().get(std::string("/api/v1/profiles/") + kProfile));
  EXPECT_EQ(profile["sighting_count"], 3);
  EXPECT_FALSE(profile["last_seen"].is_null());
}

TEST_F(SightingsApi, SnapshotsAreJpegs) {
  for (const char* kind : {"", "?kind=face", "?kind=frame"}) {
    const HttpResult snapshot = client().get("/api/v1/sightings/" + sightings_[1] + "/snapshot" + kind);
    ASSERT_EQ(snapshot.status, 200) << kind;
    EXPECT_EQ(snapshot.header("content-type"), "image/jpeg");
    const cv::Mat image = cv::imdecode(std::vector<std::uint8_t>(snapshot.body.begin(), snapshot.body.end()), cv::IMREAD_COLOR);
    EXPECT_EQ(image.cols, std::string(kind) == "?kind=frame" ? 640 : 100) << kind;
  }
  EXPECT_EQ(client().get("/api/v1/sightings/" + sightings_[1] + "/snapshot?kind=thumbnail").status, 400);
  // An <img src> cannot send headers: the token may come as a query parameter.
  EXPECT_EQ(server_->anonymous().get("/api/v1/sightings/" + sightings_[1] + "/snapshot?token=" + server_->token()).status, 200);
}

TEST_F(SightingsApi, RecordingsListAndPlayWithRanges) {
  const json list = parse(client().get(std::string("/api/v1/recordings?camera_id=") + kCamera));
  ASSERT_EQ(list["total"], 1);
  EXPECT_EQ(list["items"][0]["duration_s"], 60.0);
  EXPECT_EQ(list["items"][0]["sighting_count"], 3);
  const json recording = parse(client().get(std::string("/api/v1/recordings/") + kRecording));
  EXPECT_EQ(recording["sighting_ids"].size(), 3u);
  EXPECT_EQ(recording["size_bytes"], video_.size());

  const std::string video = std::string("/api/v1/recordings/") + kRecording + "/video";
  const HttpResult whole = client().get(video);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.header("content-type"), "video/mp4");
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.body, video_);
  const HttpResult part = client().request("GET", video, "", "", {{"Range", "bytes=1000-1999"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.header("content-range"), "bytes 1000-1999/100000");
  EXPECT_EQ(part.body, video_.substr(1000, 1000));
  const HttpResult tail = client().request("GET", video, "", "", {{"Range", "bytes=-10"}});
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, video_.substr(video_.size() - 10));
  EXPECT_EQ(client().request("GET", video, "", "", {{"Range", "bytes=200000-"}}).status, 416);
  EXPECT_EQ(parse(client().get("/api/v1/recordings?from=2000-01-01&to=2000-01-02"))["total"], 0);
}

TEST_F(SightingsApi, AnalyticsCountTheSightings) {
  const json dashboard = parse(client().get("/api/v1/analytics/dashboard"));
  EXPECT_EQ(dashboard["profiles"]["by_classification"]["flagged"], 1);
  ASSERT_EQ(dashboard["most_seen"].size(), 1u);
  EXPECT_EQ(dashboard["most_seen"][0]["profile"]["id"], kProfile);
  EXPECT_EQ(dashboard["most_seen"][0]["sightings"], 3);
  std::uint64_t per_hour = 0;
  for (const json& n : dashboard["sightings_per_hour"]["counts"]) per_hour += n.get<std::uint64_t>();
  EXPECT_EQ(per_hour, 3u);
  std::uint64_t heat = 0;
  const json heatmap = parse(client().get("/api/v1/analytics/heatmap"));  // named: a temporary would die in the loop
  for (const json& day : heatmap["counts"])
    for (const json& n : day) heat += n.get<std::uint64_t>();
  EXPECT_EQ(heat, 3u);
  std::uint64_t timeline = 0;
  const json hours = parse(client().get("/api/v1/analytics/timeline"));
  for (const json& n : hours["counts"]) timeline += n.get<std::uint64_t>();
  EXPECT_EQ(timeline, 3u);
  const json storage = parse(client().get("/api/v1/analytics/storage"));
  EXPECT_EQ(storage["by_kind"]["recordings"], video_.size());
  EXPECT_GT(storage["by_kind"]["snapshots"].get<std::uint64_t>(), 0u);
}

TEST_F(SightingsApi, DeletingTheProfileRemovesItsSightingsAndSnapshots) {
  const auto snapshot = server_->data_dir() / "snapshots" / (sightings_[0] + "-face.jpg");
  ASSERT_TRUE(std::filesystem::exists(snapshot));
  ASSERT_EQ(client().del(std::string("/api/v1/profiles/") + kProfile).status, 204);
  EXPECT_FALSE(std::filesystem::exists(snapshot));
  EXPECT_EQ(client().get("/api/v1/sightings/" + sightings_[0]).status, 404);
  EXPECT_EQ(parse(client().get("/api/v1/sightings"))["total"], 0);
  // The recording stays: it may show other people.
  EXPECT_EQ(client().get(std::string("/api/v1/recordings/") + kRecording).status, 200);
}

}  // namespace
}  // namespace safelynx::testing
