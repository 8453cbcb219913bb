// A few FaceEngines shared by the API's request threads: an engine owns its
// networks and is not thread-safe, so a request borrows one for the duration
// of its analysis and waits when all are busy.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "vision/face_engine.hpp"

namespace safelynx::server {

class EnginePool {
 public:
  // Loads `count` engines (throws what FaceEngine throws for bad models).
  EnginePool(const std::filesystem::path& models_dir, const vision::FaceEngineOptions& options, std::size_t count);

  // Faces of the image, best first, with descriptors.
  std::vector<Face> analyse(const cv::Mat& bgr, float min_score);
  std::size_t size() const { return engines_.size(); }

 private:
  std::vector<std::unique_ptr<vision::FaceEngine>> engines_;
  std::vector<vision::FaceEngine*> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace safelynx::server
