#include "storage/media_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "storage/repositories.hpp"

namespace safelynx::storage {

namespace fs = std::filesystem;

namespace {

fs::path make_dir(const fs::path& dir) {
  std::error_code error;
  const bool created = fs::create_directories(dir, error);
  if (error) throw StorageError("cannot create folder " + dir.string() + ": " + error.message());
  if (created) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  return dir;
}

std::uint64_t folder_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, error), end;
       !error && it != end; it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const auto size = it->file_size(size_error);
      if (!size_error) total += size;
    }
  }
  return total;
}

}  // namespace

MediaStore::MediaStore(fs::path data_dir)
    : data_dir_(std::move(data_dir)),
      thumbnails_dir_(make_dir(data_dir_ / "thumbnails")),
      faces_dir_(make_dir(data_dir_ / "faces")),
      snapshots_dir_(make_dir(data_dir_ / "snapshots")),
      recordings_dir_(make_dir(data_dir_ / "recordings")) {}

std::optional<fs::path> MediaStore::recording_path(const std::string& relative) const {
  const fs::path path(relative);
  if (relative.empty() || path.is_absolute() || path.has_root_name()) return std::nullopt;
  if (std::any_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; })) return std::nullopt;
  return recordings_dir_ / path;
}

fs::path MediaStore::path(MediaKind kind, const Uuid& id) const {
  switch (kind) {
    case MediaKind::Thumbnail: return thumbnails_dir_ / (id.to_string() + ".jpg");
    case MediaKind::FaceSnapshot: return snapshots_dir_ / (id.to_string() + "-face.jpg");
    case MediaKind::FrameSnapshot: return snapshots_dir_ / (id.to_string() + "-frame.jpg");
  }
  return {};
}

fs::path MediaStore::face_photo_path(std::uint64_t embedding_id) const {
  return faces_dir_ / (std::to_string(embedding_id) + ".jpg");
}

void MediaStore::write(MediaKind kind, const Uuid& id, std::string_view bytes) { write_file(path(kind, id), bytes); }

void MediaStore::write_face_photo(std::uint64_t embedding_id, std::string_view bytes) {
  write_file(face_photo_path(embedding_id), bytes);
}

void MediaStore::remove_face_photo(std::uint64_t embedding_id) {
  std::error_code error;
  fs::remove(face_photo_path(embedding_id), error);
}

void MediaStore::write_file(const fs::path& target, std::string_view bytes) {
  const fs::path temporary = target.string() + ".tmp";
  // Faces are personal data: readable by the server's user alone.
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw StorageError("cannot write " + temporary.string() + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      throw StorageError("cannot write " + temporary.string() + ": " + reason);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    throw StorageError("cannot flush " + temporary.string() + ": " + std::strerror(errno));
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    ::unlink(temporary.c_str());
    throw StorageError("cannot rename " + temporary.string() + ": " + error.message());
  }
  // The rename itself is only durable once the folder is flushed.
  const int dir_fd = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

std::string MediaStore::read(MediaKind kind, const Uuid& id) const {
  std::ifstream in(path(kind, id), std::ios::binary);
  if (!in) return {};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

bool MediaStore::exists(MediaKind kind, const Uuid& id) const {
  std::error_code error;
  return fs::is_regular_file(path(kind, id), error);
}

void MediaStore::remove(MediaKind kind, const Uuid& id) {
  std::error_code error;
  fs::remove(path(kind, id), error);
}

std::map<std::string, std::uint64_t> MediaStore::usage() const {
  return {{"thumbnails", folder_bytes(thumbnails_dir_)},
          {"faces", folder_bytes(faces_dir_)},
          {"snapshots", folder_bytes(snapshots_dir_)},
          {"recordings", folder_bytes(recordings_dir_)}};
}

}  // namespace safelynx::storage
