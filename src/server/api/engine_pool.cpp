#include "server/api/engine_pool.hpp"

#include <stdexcept>

namespace safelynx::server {

EnginePool::EnginePool(const std::filesystem::path& models_dir, const vision::FaceEngineOptions& options,
                       std::size_t count) {
  if (count == 0) throw std::invalid_argument("the engine pool needs at least one engine");
  for (std::size_t i = 0; i < count; ++i) {
    engines_.push_back(std::make_unique<vision::FaceEngine>(models_dir, options));
    idle_.push_back(engines_.back().get());
  }
}

std::vector<Face> EnginePool::analyse(const cv::Mat& bgr, float min_score) {
  vision::FaceEngine* engine = nullptr;
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty(); });
    engine = idle_.back();
    idle_.pop_back();
  }
  struct GiveBack {
    EnginePool* pool;
    vision::FaceEngine* engine;
    ~GiveBack() {
      {
        std::lock_guard lock(pool->mutex_);
        pool->idle_.push_back(engine);
      }
      pool->available_.notify_one();
    }
  } give_back{this, engine};
  return engine->analyse(bgr, min_score, true);
}

}  // namespace safelynx::server
