// Which files a `file` camera may read. A camera's source path is chosen by
// an API user, so without limits it reads any file the server can (FFmpeg
// renders text files and images as video), and its error tells whether a
// path exists. A video file is therefore opened only when
//   - its canonical path (no "..", every symlink resolved) lies under one of
//     the configured folders ([cameras] file_roots), checked again on the
//     descriptor actually opened (a path swapped after the check is caught);
//   - it is a regular file the server can read;
//   - FFmpeg recognises it as a video container (format whitelist: no tty,
//     image2, concat, playlists...) holding a video stream in a video codec.
// Missing, unreadable and outside-the-folders give one and the same message,
// so the answer reveals nothing about files outside the folders.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace safelynx::pipeline {

// The file may not be used as a camera; what() is safe to show to clients.
class VideoFileRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The message for a path that is missing, unreadable or outside the folders.
std::string not_allowed_video_message(const std::string& path);

// An open, confined, checked video file. FFmpeg reads it through
// /proc/self/fd/N, so it reads the very file that passed the checks.
class ConfinedVideoFile {
 public:
  // Throws VideoFileRefused.
  ConfinedVideoFile(const std::string& path, const std::vector<std::filesystem::path>& roots);
  ~ConfinedVideoFile();
  ConfinedVideoFile(const ConfinedVideoFile&) = delete;
  ConfinedVideoFile& operator=(const ConfinedVideoFile&) = delete;

  // "/proc/self/fd/N": the name to give FFmpeg (valid while this object lives).
  const std::string& ffmpeg_path() const { return ffmpeg_path_; }
  const std::filesystem::path& canonical() const { return canonical_; }

 private:
  int fd_ = -1;
  std::filesystem::path canonical_;
  std::string ffmpeg_path_;
};

// The checks alone (for the API at create/update): throws VideoFileRefused.
void check_video_file(const std::string& path, const std::vector<std::filesystem::path>& roots);

}  // namespace safelynx::pipeline
