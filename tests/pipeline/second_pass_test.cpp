// The pipeline's second detection pass (small and tilted faces): which
// frames get it, with counting fake detectors and real storage.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <opencv2/core.hpp>

#include "pipeline/pipeline.hpp"
#include "vision/face_crops.hpp"
#include "vision/face_engine.hpp"
#include "../support/fake_networks.hpp"
#include "../support/pipeline_world.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;

// Finds nothing; counts its runs.
class CountingDetector : public vision::FaceDetector {
 public:
  explicit CountingDetector(std::atomic<int>& runs) : runs_(runs) {}
  std::vector<FaceDetection> detect(const cv::Mat&, float) override {
    ++runs_;
    return {};
  }
  std::string name() const override { return "counting"; }

 private:
  std::atomic<int>& runs_;
};

class SecondPass : public ::testing::Test {
 protected:
  void TearDown() override { pipeline_.reset(); }

  // Runs `frames` frames of a browser camera through detection.
  void run(std::size_t every, bool with_second_pass_factory, std::uint64_t frames) {
    PipelineOptions options;
    options.record = false;
    options.detection_fps = 0;
    options.motion_gating = false;
    options.second_pass_every = every;
    PipelineEngines engines;
    engines.detector = [this] { return std::make_unique<CountingDetector>(live_runs_); };
    engines.engine = [] {
      return std::make_unique<vision::FaceEngine>(std::make_unique<testing::FixedDetector>(std::vector<FaceDetection>{}),
                                                  std::make_unique<testing::FrontalLandmarks>(),
                                                  std::make_unique<testing::ConstantEmbedder>(FaceDescriptor{}),
                                                  vision::FaceEngineOptions{});
    };
    engines.confirm_detector = [] { return std::make_unique<testing::FixedDetector>(std::vector<FaceDetection>{}); };
    if (with_second_pass_factory)
      engines.second_pass_detector = [this] { return std::make_unique<CountingDetector>(second_runs_); };
    pipeline_ = std::make_unique<Pipeline>(world_.services(), options, std::move(engines));
    const Camera camera = world_.add_browser_camera("porch");
    pipeline_->start_camera(camera);
    cv::Mat picture(240, 320, CV_8UC3);
    cv::randu(picture, cv::Scalar::all(0), cv::Scalar::all(255));
    const std::string jpeg = vision::encode_jpeg(picture, 90);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (pipeline_->runtime(camera.id)->detected < frames && std::chrono::steady_clock::now() < deadline) {
      // One frame at a time, so none is dropped unseen.
      if (pipeline_->runtime(camera.id)->processed == pipeline_->runtime(camera.id)->detected)
        pipeline_->browser_feed(camera.id)->push_jpeg(jpeg);
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(pipeline_->wait_until_idle(20s));
    detected_ = pipeline_->runtime(camera.id)->detected;
  }

  testing::PipelineWorld world_{"second-pass"};
  std::unique_ptr<Pipeline> pipeline_;
  std::atomic<int> live_runs_{0}, second_runs_{0};
  std::uint64_t detected_ = 0;
};

TEST_F(SecondPass, EveryThirdDetectionOfACameraLooksHarder) {
  run(3, true, 12);
  ASSERT_GE(detected_, 12u);
  EXPECT_EQ(second_runs_, static_cast<int>(detected_ / 3));
  EXPECT_EQ(live_runs_ + second_runs_, static_cast<int>(detected_)) << "each detection runs one of the two";
}

TEST_F(SecondPass, NeverWhenSwitchedOffOrWithoutADetector) {
  run(0, true, 6);
  EXPECT_EQ(second_runs_, 0);
  EXPECT_EQ(live_runs_, static_cast<int>(detected_));
  pipeline_.reset();
  live_runs_ = 0;
  run(3, false, 6);
  EXPECT_EQ(second_runs_, 0);
  EXPECT_EQ(live_runs_, static_cast<int>(detected_));
}

}  // namespace
}  // namespace safelynx::pipeline
