// What the API may do with the cameras' live processing, and all it sees of
// it: start and stop a camera, its live figures and frames, a browser
// camera's frames, and whether a source can be read at all. The app wires
// the pipeline behind it (app/pipeline_camera_control.*); the API does not
// know the pipeline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/entities.hpp"

namespace safelynx::server {

// What is measured while a camera runs.
struct CameraLiveFigures {
  double fps = 0;  // captured, over the last few seconds
  std::optional<TimePoint> last_frame;
  std::uint64_t frames = 0;      // captured
  std::uint64_t dropped = 0;     // lost to a full queue
  std::uint64_t processed = 0;   // through detection (or skipped by gating)
  std::uint64_t reconnects = 0;  // failed opens or reads that led to a retry
  bool recording = false;
};

// A camera's newest frame as JPEG, and its sequence number.
struct LiveJpeg {
  std::uint64_t sequence = 0;
  std::string jpeg;
};

class CameraControl {
 public:
  virtual ~CameraControl() = default;

  // Starts reading from the camera (restarting it if it runs).
  virtual void start(const Camera& camera) = 0;
  // Stops its capture and finishes its recording; nothing if not running.
  virtual void stop(const Uuid& id) = 0;
  virtual bool running(const Uuid& id) const = 0;
  // nullopt when the camera is not running.
  virtual std::optional<CameraLiveFigures> figures(const Uuid& id) const = 0;
  // The newest frame, boxes and names drawn when `overlay`; nullopt when
  // there is none newer than `newer_than` (0 for any).
  virtual std::optional<LiveJpeg> live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than) = 0;

  // Why the camera's source cannot be read (a video file outside the
  // allowed folders, of an absurd size, not a video), nullopt when it can.
  virtual std::optional<std::string> source_refusal(const Camera& camera) const = 0;

  // Whether `id` is a started browser camera, which takes frames.
  virtual bool takes_browser_frames(const Uuid& id) const = 0;
  // Why a browser frame is refused, from its header (never decoded on the
  // caller's thread); nullopt for a JPEG of an accepted size.
  virtual std::optional<std::string> browser_frame_refusal(std::string_view jpeg) const = 0;
  // Hands the frame to the camera; false when it is no longer a started
  // browser camera.
  virtual bool push_browser_frame(const Uuid& id, std::string jpeg) = 0;
};

}  // namespace safelynx::server
