#include "app/pipeline_camera_control.hpp"

#include "pipeline/frame_source.hpp"
#include "pipeline/video_file_policy.hpp"

namespace safelynx::app {

std::optional<server::CameraLiveFigures> PipelineCameraControl::figures(const Uuid& id) const {
  const auto runtime = pipeline_.runtime(id);
  if (!runtime) return std::nullopt;
  return server::CameraLiveFigures{runtime->capture.fps,       runtime->capture.last_frame, runtime->capture.frames,
                                   runtime->capture.dropped,   runtime->processed,          runtime->capture.reconnects,
                                   runtime->recording};
}

std::optional<server::LiveJpeg> PipelineCameraControl::live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than) {
  auto frame = pipeline_.live_frame(id, overlay, newer_than);
  if (!frame) return std::nullopt;
  return server::LiveJpeg{frame->sequence, std::move(frame->jpeg)};
}

std::optional<std::string> PipelineCameraControl::source_refusal(const Camera& camera) const {
  if (camera.kind != CameraKind::File) return std::nullopt;
  try {
    pipeline::check_video_file(camera.source, file_roots_);
    return std::nullopt;
  } catch (const pipeline::VideoFileRefused& refused) {
    return refused.what();
  }
}

std::optional<std::string> PipelineCameraControl::browser_frame_refusal(std::string_view jpeg) const {
  return pipeline::browser_frame_refusal(jpeg);
}

bool PipelineCameraControl::push_browser_frame(const Uuid& id, std::string jpeg) {
  auto feed = pipeline_.browser_feed(id);
  if (!feed) return false;
  feed->push_jpeg(std::move(jpeg));
  return true;
}

}  // namespace safelynx::app
