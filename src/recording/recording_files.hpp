// Internal to the recorder and its repair: how a segment's files are named
// and made durable.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace safelynx::recording::recording_files {

// A segment is written as <id>.partial.mp4 and renamed to <id>.mp4 once
// finished; the row names the final name from the start.
inline constexpr const char* kPartialSuffix = ".partial.mp4";
inline constexpr const char* kFinalSuffix = ".mp4";

// fsync of a file or folder, so that a rename survives a power cut.
inline bool sync_path(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace safelynx::recording::recording_files
