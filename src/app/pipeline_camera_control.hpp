// The API's CameraControl, answered by the live pipeline.
#pragma once

#include <filesystem>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "server/api/camera_control.hpp"

namespace safelynx::app {

class PipelineCameraControl final : public server::CameraControl {
 public:
  // `file_roots`: where file cameras may read ([cameras] file_roots).
  PipelineCameraControl(pipeline::Pipeline& pipeline, std::vector<std::filesystem::path> file_roots)
      : pipeline_(pipeline), file_roots_(std::move(file_roots)) {}

  void start(const Camera& camera) override { pipeline_.start_camera(camera); }
  void stop(const Uuid& id) override { pipeline_.stop_camera(id); }
  bool running(const Uuid& id) const override { return pipeline_.running(id); }
  std::optional<server::CameraLiveFigures> figures(const Uuid& id) const override;
  std::optional<server::LiveJpeg> live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than) override;
  std::optional<std::string> source_refusal(const Camera& camera) const override;
  bool takes_browser_frames(const Uuid& id) const override { return pipeline_.browser_feed(id) != nullptr; }
  std::optional<std::string> browser_frame_refusal(std::string_view jpeg) const override;
  bool push_browser_frame(const Uuid& id, std::string jpeg) override;

 private:
  pipeline::Pipeline& pipeline_;
  const std::vector<std::filesystem::path> file_roots_;
};

}  // namespace safelynx::app
