// Detection-triggered recording for one camera. Every captured frame is
// offered to the recorder; it keeps the last `pre_buffer` seconds in memory
// as JPEG-encoded frames, and when a detection triggers it, writes them and
// the following frames to an MP4 file (H.264 where the encoder exists) until
// `post_buffer` seconds pass without a trigger or the segment reaches
// `max_segment` (then a new segment starts if triggers continue), or no frame
// has come for max(post_buffer, 2 s) of real time (the camera stopped).
// Encoding runs on the recorder's own thread: push() never blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/entities.hpp"
#include "storage/repositories.hpp"

namespace safelynx::recording {

struct RecorderTiming {
  std::chrono::seconds pre_buffer{5};
  std::chrono::seconds post_buffer{10};
  std::chrono::seconds max_segment{300};
};

struct RecorderOptions {
  // Files go to <recordings_dir>/<camera id>/<recording id>.mp4; Recording::file
  // is that path relative to recordings_dir.
  std::filesystem::path recordings_dir;
  RecorderTiming timing;
  double fps = 0;                    // of the written video; 0: measured from the frames' times
  int jpeg_quality = 80;             // of the in-memory pre-buffer
  std::size_t queue_capacity = 90;   // frames waiting for the encoder thread; more are dropped (counted)
};

// Where a moment of video is: the recording and the offset into it.
struct RecordingMoment {
  Uuid recording_id;
  double offset_s = 0;
};

struct RecorderListener {
  // A segment was opened (its row can be stored: end unset, size 0).
  std::function<void(const Recording&)> started;
  // A segment was closed and is playable (end and size set).
  std::function<void(const Recording&)> finished;
  // The encoder could not open or write a file: the message names it.
  std::function<void(const std::string&)> error;
};

class CameraRecorder {
 public:
  CameraRecorder(Uuid camera_id, RecorderOptions options, RecorderListener listener);
  ~CameraRecorder();  // stop()
  CameraRecorder(const CameraRecorder&) = delete;
  CameraRecorder& operator=(const CameraRecorder&) = delete;

  // Offers a captured frame (8-bit BGR, any size; the first frame of a
  // segment fixes its size). Never blocks; the image is shared, not copied.
  void push(const cv::Mat& bgr, TimePoint wall_time);

  // A detection at `when`: opens a segment (starting with the pre-buffer) or
  // extends the open one's post-buffer. Returns the recording `when` falls in
  // and its offset, decided now even though the file is written later.
  // A new segment starts at the oldest pushed frame no segment holds that is
  // at most pre_buffer before `when` (or at `when`). A moment past the open
  // segment's max_segment gets the id of the segment that continues it (its
  // start is the split point, so the offset is within a frame). After stop()
  // the id is nil. An id can name no file when the segment's file could not
  // be written (listener.error says so).
  RecordingMoment trigger(TimePoint when);

  // Takes effect from the next segment (post_buffer at once).
  void set_timing(const RecorderTiming& timing);

  // Finishes the open segment so that it plays (listener.finished is
  // called), drops the pre-buffer and joins the thread. Idempotent. Not from
  // a listener callback (the thread cannot join itself).
  void stop();

  std::uint64_t frames_dropped() const;  // lost to a full queue (the newest frame is refused)
  bool recording() const;                // a segment is open or triggered and about to open
  // "avc1" (H.264, through Mp4Writer) once a segment was opened; empty before.
  std::string codec() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// At start, before any camera runs: segments a crash left unfinished (rows
// without an end) are made consistent. A segment killed while recording is
// an <id>.partial.mp4 of complete fragments and maybe a cut-off one: the
// cut-off fragment is dropped, the rest is renamed to <id>.mp4 and the row
// keeps its id (sightings point to it) with its end (start plus the video's
// duration) and size set. A complete <id>.mp4 (killed after the rename)
// keeps its row likewise. A row whose video has no frame that plays is
// deleted with its files, and *.partial.mp4 files in recordings_dir that no
// row names are deleted. Returns a line per recording repaired or removed,
// for the log. (recording_repair.cpp)
std::vector<std::string> repair_recordings(const std::filesystem::path& recordings_dir,
                                           storage::RecordingRepository& recordings);

}  // namespace safelynx::recording
