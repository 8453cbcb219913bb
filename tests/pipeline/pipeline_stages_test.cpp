// The pipeline's stages with fake networks (Pipeline's PipelineEngines) and
// real storage: a browser camera's frames go through detection, descriptors,
// matching and storage, without the models.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include <opencv2/core.hpp>

#include "index/tiered_index.hpp"
#include "pipeline/pipeline.hpp"
#include "storage/sqlite_database.hpp"
#include "vision/face_crops.hpp"
#include "vision/face_engine.hpp"
#include "../support/fake_networks.hpp"

namespace safelynx::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using safelynx::testing::ConstantEmbedder;
using safelynx::testing::FixedDetector;
using safelynx::testing::FrontalLandmarks;

const FaceDetection kFace{{200, 120, 160, 160}, 0.9f};

FaceDescriptor unit_descriptor() {
  FaceDescriptor d;
  d.fill(1.0f / std::sqrt(static_cast<float>(kDescriptorSize)));
  return d;
}

// The networks: one face at kFace in every frame, always the same person;
// `confirms` says whether the confirming detector agrees there is a face.
PipelineEngines fake_engines(bool confirms) {
  PipelineEngines engines;
  engines.detector = [] { return std::make_unique<FixedDetector>(std::vector<FaceDetection>{kFace}); };
  engines.engine = [] {
    return std::make_unique<vision::FaceEngine>(std::make_unique<FixedDetector>(std::vector<FaceDetection>{kFace}),
                                                std::make_unique<FrontalLandmarks>(),
                                                std::make_unique<ConstantEmbedder>(unit_descriptor()),
                                                vision::FaceEngineOptions{});
  };
  engines.confirm_detector = [confirms]() -> std::unique_ptr<vision::FaceDetector> {
    return std::make_unique<FixedDetector>(confirms ? std::vector<FaceDetection>{{{10, 10, 100, 100}, 0.95f}}
                                                    : std::vector<FaceDetection>{});
  };
  return engines;
}

class PipelineStages : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("safelynx-stages-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    database_ = storage::open_sqlite_database(dir_ / "safelynx.db", {});
    media_ = std::make_unique<storage::MediaStore>(dir_);
    gallery_ = std::make_unique<gallery::Gallery>(*database_, *media_, index_, events_);
    subscription_ = events_.subscribe([this](const DomainEvent& event) {
      if (std::holds_alternative<ProfileCreated>(event.payload)) ++profiles_created_;
      if (std::holds_alternative<NewSighting>(event.payload)) ++sightings_;
    });
  }
  void TearDown() override {
    pipeline_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void start(bool confirms) {
    PipelineOptions options;
    options.record = false;
    options.detection_fps = 0;
    options.motion_gating = false;
    pipeline_ = std::make_unique<Pipeline>(
        PipelineServices{*database_, *media_, events_, *gallery_, metrics_, [] { return Settings{}; }, [] { return Uuid::random(); },
                         [](const std::string&, const std::string&) {}},
        options, fake_engines(confirms));
    camera_.id = Uuid::random();
    camera_.name = "hall";
    camera_.kind = CameraKind::Browser;
    camera_.created_at = camera_.updated_at = now_ms();
    database_->cameras().create(camera_);
    pipeline_->start_camera(camera_);
  }

  // Sends textured frames (sharp enough to become a profile) until `done`
  // or `frames` frames have gone through detection.
  template <typename Done>
  void feed_until(Done done, std::uint64_t frames = 400) {
    cv::Mat picture(480, 640, CV_8UC3);
    cv::randu(picture, cv::Scalar::all(0), cv::Scalar::all(255));
    const std::string jpeg = vision::encode_jpeg(picture, 90);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      const auto runtime = pipeline_->runtime(camera_.id);
      ASSERT_TRUE(runtime);
      if (runtime->processed >= frames) break;
      pipeline_->browser_feed(camera_.id)->push_jpeg(jpeg);
      std::this_thread::sleep_for(30ms);
    }
    ASSERT_TRUE(pipeline_->wait_until_idle(20s));
  }

  fs::path dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::MediaStore> media_;
  EventBus events_;
  EventBus::Subscription subscription_;
  std::atomic<int> profiles_created_{0}, sightings_{0};
  index::TieredIndex index_;
  std::unique_ptr<gallery::Gallery> gallery_;
  PipelineMetrics metrics_;
  Camera camera_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineStages, AConfirmedStrangerBecomesOneUnknownProfileWithAThumbnail) {
  start(true);
  feed_until([&] { return profiles_created_ > 0; });
  ASSERT_EQ(profiles_created_, 1);
  const auto profiles = database_->profiles().list({}, {1, 10});
  ASSERT_EQ(profiles.items.size(), 1u);
  const Profile& stranger = profiles.items.front();
  EXPECT_EQ(stranger.classification, Classification::Unknown);
  EXPECT_TRUE(stranger.has_thumbnail);
  EXPECT_GE(stranger.embedding_count, 3u) << "a stranger needs several detections";
  EXPECT_EQ(index_.size(), stranger.embedding_count);
  EXPECT_TRUE(media_->exists(storage::MediaKind::Thumbnail, stranger.id));
  // The same face keeps matching that profile: no second stranger.
  feed_until([] { return false; }, pipeline_->runtime(camera_.id)->processed + 20);
  EXPECT_EQ(database_->profiles().count(), 1u);
}

TEST_F(PipelineStages, AMissingNetworkFactoryIsRefusedAtConstruction) {
  for (int missing = 0; missing < 3; ++missing) {
    PipelineEngines engines = fake_engines(true);
    if (missing == 0) engines.detector = nullptr;
    if (missing == 1) engines.engine = nullptr;
    if (missing == 2) engines.confirm_detector = nullptr;
    EXPECT_THROW(Pipeline(PipelineServices{*database_, *media_, events_, *gallery_, metrics_, [] { return Settings{}; },
                                           [] { return Uuid::random(); }, [](const std::string&, const std::string&) {}},
                          PipelineOptions{}, std::move(engines)),
                 std::invalid_argument)
        << "factory " << missing;
  }
}

TEST_F(PipelineStages, AFaceTheConfirmingDetectorDoesNotSeeBecomesNoProfile) {
  start(false);
  feed_until([] { return false; }, 40);
  EXPECT_EQ(profiles_created_, 0);
  EXPECT_EQ(database_->profiles().count(), 0u);
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(PipelineStages, AnEnrolledPersonIsSightedOncePerCooldown) {
  Profile known;
  known.id = Uuid::random();
  known.name = "Kit";
  known.classification = Classification::Known;
  known.created_at = known.updated_at = now_ms();
  StoredEmbedding embedding;
  embedding.descriptor = unit_descriptor();
  embedding.quality = 1;
  embedding.created_at = known.created_at;
  std::vector<StoredEmbedding> embeddings{embedding};
  database_->profiles().create(known, embeddings);
  index::EmbeddingBatch batch;
  batch.reserve(1, kDescriptorSize);
  batch.push_back(embeddings[0].profile_key, embeddings[0].id, embeddings[0].descriptor);
  index_.add_batch(batch);

  start(true);
  feed_until([&] { return sightings_ > 0; });
  ASSERT_EQ(sightings_, 1);
  feed_until([] { return false; }, pipeline_->runtime(camera_.id)->processed + 20);
  EXPECT_EQ(sightings_, 1) << "one sighting per person per camera per cooldown";
  EXPECT_EQ(profiles_created_, 0) << "a known face is not a stranger";
  const auto sightings = database_->sightings().list({}, {1, 10});
  ASSERT_EQ(sightings.items.size(), 1u);
  EXPECT_EQ(sightings.items[0].profile_id, known.id);
  EXPECT_EQ(sightings.items[0].camera_id, camera_.id);
  EXPECT_TRUE(sightings.items[0].has_face_snapshot);
}

}  // namespace
}  // namespace safelynx::pipeline
