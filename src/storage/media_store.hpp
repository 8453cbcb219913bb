// The JPEG files that go with the database: profile thumbnails, the face
// photos of embeddings and sighting snapshots under the data dir. Files are written to a temporary name,
// fsynced and renamed, so a crash leaves either the old file or the new one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <map>
#include <string>
#include <string_view>

#include "domain/uuid.hpp"

namespace safelynx::storage {

enum class MediaKind { Thumbnail, FaceSnapshot, FrameSnapshot };

class MediaStore {
 public:
  // Creates the folders (thumbnails/, faces/, snapshots/, recordings/) if needed;
  // throws StorageError naming a folder it cannot create.
  explicit MediaStore(std::filesystem::path data_dir);

  std::filesystem::path path(MediaKind kind, const Uuid& id) const;
  void write(MediaKind kind, const Uuid& id, std::string_view bytes);  // throws StorageError
  std::string read(MediaKind kind, const Uuid& id) const;              // "" when absent
  bool exists(MediaKind kind, const Uuid& id) const;
  void remove(MediaKind kind, const Uuid& id);  // absent is fine
  // The face photo of an embedding, named by the embedding's id (merges move
  // embeddings between profiles; the file need not move with them).
  std::filesystem::path face_photo_path(std::uint64_t embedding_id) const;
  void write_face_photo(std::uint64_t embedding_id, std::string_view bytes);  // throws StorageError
  void remove_face_photo(std::uint64_t embedding_id);                         // absent is fine
  const std::filesystem::path& recordings_dir() const { return recordings_dir_; }
  // The file of a recording (Recording::file is relative to recordings/);
  // nullopt for a name that would leave that folder (absolute, "..").
  std::optional<std::filesystem::path> recording_path(const std::string& relative) const;
  const std::filesystem::path& data_dir() const { return data_dir_; }

  // Bytes on disk by kind: "thumbnails", "faces", "snapshots", "recordings".
  std::map<std::string, std::uint64_t> usage() const;

 private:
  // Temporary name, fsync, rename, fsync of the folder.
  static void write_file(const std::filesystem::path& target, std::string_view bytes);

  std::filesystem::path data_dir_;
  std::filesystem::path thumbnails_dir_;
  std::filesystem::path faces_dir_;
  std::filesystem::path snapshots_dir_;
  std::filesystem::path recordings_dir_;
};

}  // namespace safelynx::storage
