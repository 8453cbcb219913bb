// The live pipeline with the real networks and storage, without the server:
// frame accounting under overload, motion gating and cadence, and a
// shutdown that drains every stage.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <thread>

#include "index/tiered_index.hpp"
#include "pipeline/pipeline.hpp"
#include "storage/sqlite_database.hpp"
#include "../support/test_paths.hpp"

namespace safelynx::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using safelynx::testing::models_dir;
using safelynx::testing::testdata_dir;

fs::path clip() { return testdata_dir() / "video" / "short_hamilton_clip.mp4"; }

class PipelineHarness {
 public:
  explicit PipelineHarness(const std::string& name, PipelineOptions options)
      : dir_(fs::temp_directory_path() / ("safelynx-pipeline-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    database_ = storage::open_sqlite_database(dir_ / "safelynx.db", {});
    media_ = std::make_unique<storage::MediaStore>(dir_);
    gallery_ = std::make_unique<gallery::Gallery>(*database_, *media_, index_, events_);
    options.models_dir = models_dir();
    options.file_roots = {testdata_dir(), dir_};  // the clip, and videos a test writes
    pipeline_ = std::make_unique<Pipeline>(
        PipelineServices{*database_, *media_, events_, *gallery_, metrics_, [this] { return settings_; }, [] { return Uuid::random(); },
                         [](const std::string&, const std::string&) {}},
        options);
  }
  ~PipelineHarness() {
    pipeline_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  Camera add_file_camera(const fs::path& file) {
    Camera camera;
    camera.id = Uuid::random();
    camera.name = "test";
    camera.kind = CameraKind::File;
    camera.source = file.string();
    camera.created_at = camera.updated_at = now_ms();
    database_->cameras().create(camera);
    return camera;
  }

  // Until every camera's file has ended, then until the stages are empty.
  void wait_for_end(const std::vector<Camera>& cameras) {
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    for (const Camera& camera : cameras) {
      while (std::chrono::steady_clock::now() < deadline) {
        auto runtime = pipeline_->runtime(camera.id);
        ASSERT_TRUE(runtime);
        ASSERT_NE(runtime->capture.status, CameraStatus::Error) << runtime->capture.message;
        if (runtime->capture.status == CameraStatus::Stopped && runtime->capture.frames > 0) break;
        std::this_thread::sleep_for(50ms);
      }
    }
    ASSERT_TRUE(pipeline_->wait_until_idle(60s));
  }

  Pipeline& pipeline() { return *pipeline_; }
  PipelineMetrics& metrics() { return metrics_; }
  storage::Database& database() { return *database_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::MediaStore> media_;
  EventBus events_;
  index::TieredIndex index_;
  std::unique_ptr<gallery::Gallery> gallery_;
  PipelineMetrics metrics_;
  Settings settings_;
  std::unique_ptr<Pipeline> pipeline_;
};

#define REQUIRE_MODELS_AND_CLIP()                                                                             \
  do {                                                                                                        \
    if (!safelynx::testing::have_models()) GTEST_SKIP() << "models not found at " << models_dir();            \
    if (!fs::exists(clip())) GTEST_SKIP() << "test video not found at " << clip();                            \
  } while (0)

TEST(Pipeline, UnderOverloadEveryFrameIsProcessedOrCountedAsDropped) {
  REQUIRE_MODELS_AND_CLIP();
  PipelineOptions options;
  options.files_in_realtime = false;  // as fast as the files decode: far more than detection keeps up with
  options.record = false;
  options.detection_fps = 0;
  options.motion_gating = false;
  PipelineHarness harness("overload", options);
  std::vector<Camera> cameras;
  for (int i = 0; i < 3; ++i) cameras.push_back(harness.add_file_camera(clip()));
  for (const Camera& camera : cameras) harness.pipeline().start_camera(camera);
  harness.wait_for_end(cameras);
  const PipelineStats stats = harness.pipeline().stats();
  EXPECT_EQ(stats.frames_in, 3u * 275u);
  EXPECT_EQ(stats.frames_processed + stats.frames_dropped, stats.frames_in);
  EXPECT_GT(stats.frames_dropped, 0u) << "the pipeline was expected to fall behind";
  EXPECT_EQ(stats.frames_in_flight, 0u);
  const std::string text = harness.metrics().serialize();
  EXPECT_NE(text.find("camera_frames_dropped_total{camera=\"" + cameras[0].id.to_string() + "\"}"), std::string::npos);
}

// A stranger in view of several cameras at once becomes one profile: the
// storage stage matches a candidate against the index again before creating
// it, so a camera that proposed the same face a moment later joins the
// profile another camera just made, and every camera records sightings of it.
TEST(Pipeline, AStrangerSeenByThreeCamerasAtOnceBecomesOneUnknownProfile) {
  REQUIRE_MODELS_AND_CLIP();
  PipelineOptions options;
  options.record = false;
  PipelineHarness harness("stranger", options);
  std::vector<Camera> cameras;
  for (int i = 0; i < 3; ++i) cameras.push_back(harness.add_file_camera(clip()));
  for (const Camera& camera : cameras) harness.pipeline().start_camera(camera);
  harness.wait_for_end(cameras);
  storage::ProfileFilter unknown;
  unknown.classification = Classification::Unknown;
  const auto profiles = harness.database().profiles().list(unknown, {1, 10});
  ASSERT_EQ(profiles.total, 1u) << "one person in the clip (the quality gates pass him), one profile";
  EXPECT_TRUE(profiles.items[0].has_thumbnail);
  const PipelineStats stats = harness.pipeline().stats();
  EXPECT_EQ(stats.sightings_per_camera.size(), 3u) << "every camera sighted the new profile";
  storage::SightingFilter of_profile;
  of_profile.profile_id = profiles.items[0].id;
  EXPECT_GE(harness.database().sightings().list(of_profile, {1, 10}).total, 3u);
}

// A video that never changes: motion gating runs the detector on the first
// frame and then only every idle_detection_interval.
fs::path write_still_video(const fs::path& dir, int frames) {
  const fs::path file = dir / "still.avi";
  cv::VideoWriter writer(file.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30.0, cv::Size(320, 240));
  EXPECT_TRUE(writer.isOpened());
  cv::Mat image(240, 320, CV_8UC3, cv::Scalar(90, 120, 150));
  cv::rectangle(image, cv::Rect(100, 60, 120, 120), cv::Scalar(30, 30, 30), cv::FILLED);
  for (int i = 0; i < frames; ++i) writer.write(image);
  return file;
}

std::uint64_t detections_on_still_video(bool motion_gating) {
  PipelineOptions options;
  options.files_in_realtime = true;
  options.record = false;
  options.detection_fps = 10;
  options.motion_gating = motion_gating;
  options.idle_detection_interval = 2000ms;
  // Cadence and gating only: the second pass's slower frames (5.5x, far more
  // under ASan) would make the detector miss its cadence, not the gate.
  options.second_pass_every = 0;
  PipelineHarness harness(motion_gating ? "still-gated" : "still-ungated", options);
  const Camera camera = harness.add_file_camera(write_still_video(harness.dir(), 60));  // 2 s
  harness.pipeline().start_camera(camera);
  harness.wait_for_end({camera});
  const auto runtime = harness.pipeline().runtime(camera.id);
  // Every frame is accounted for: processed, or dropped as stale when a
  // newer one was waiting (which a slow build, e.g. ASan, does).
  EXPECT_EQ(runtime->processed + runtime->capture.dropped, 60u);
  return runtime->detected;
}

TEST(Pipeline, MotionGatingAndCadenceSkipTheDetectorOnAStillPicture) {
  REQUIRE_MODELS_AND_CLIP();
  const std::uint64_t gated = detections_on_still_video(true);
  const std::uint64_t cadence_only = detections_on_still_video(false);
  EXPECT_LE(gated, 3u) << "a still picture should be detected once, then every 2 s";
  // 2 s at 10 detections per second.
  EXPECT_GE(cadence_only, 15u);
  EXPECT_LE(cadence_only, 22u);
}

TEST(Pipeline, ShutdownDrainsEveryStageAndFinishesTheRecording) {
  REQUIRE_MODELS_AND_CLIP();
  PipelineOptions options;
  options.files_in_realtime = true;
  PipelineHarness harness("shutdown", options);
  const Camera camera = harness.add_file_camera(clip());
  harness.pipeline().start_camera(camera);
  // Faces are in view from the first seconds of the clip.
  for (int i = 0; i < 100; ++i) {
    auto runtime = harness.pipeline().runtime(camera.id);
    if (runtime && runtime->recording) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(harness.pipeline().runtime(camera.id)->recording) << "no recording started";
  harness.pipeline().shutdown();
  const PipelineStats stats = harness.pipeline().stats();
  EXPECT_GT(stats.frames_in, 0u);
  EXPECT_EQ(stats.frames_processed + stats.frames_dropped, stats.frames_in);
  const auto recordings = harness.database().recordings().list({}, {});
  ASSERT_GE(recordings.items.size(), 1u);
  for (const Recording& r : recordings.items) {
    ASSERT_TRUE(r.end) << "recording " << r.file << " left unfinished";
    cv::VideoCapture video((harness.dir() / "recordings" / r.file).string(), cv::CAP_FFMPEG);
    cv::Mat frame;
    EXPECT_TRUE(video.isOpened() && video.read(frame)) << r.file << " does not play";
  }
}

}  // namespace
}  // namespace safelynx::pipeline
