// Reading back an MP4 that a crash may have cut off: what of it plays, and
// trimming a fragmented one (Mp4Writer's) to its last complete fragment.
#pragma once

#include <cstdint>
#include <filesystem>

namespace safelynx::recording {

struct Mp4Probe {
  bool plays = false;         // FFmpeg opened it and decoded its first frame
  std::uint64_t frames = 0;   // complete video packets (one frame each)
  double seconds = 0;         // from the first frame's start to the last frame's end
};

// Opens `file` with libavformat, decodes the first frame and counts the
// video frames. Never throws: a file that cannot be read does not play.
Mp4Probe probe_mp4(const std::filesystem::path& file);

// For a fragmented MP4 (it has a top-level `moof`): cuts the file after its
// last complete top-level box, dropping a trailing `moof` whose `mdat` is
// missing, so that what is left is a valid fragmented MP4. Files without
// fragments are left alone. Returns the bytes removed (0 when none or on an
// error, which leaves the file as it was).
std::uintmax_t trim_to_complete_fragments(const std::filesystem::path& file);

}  // namespace safelynx::recording
