// A small in-memory gallery searched exhaustively: enough for the command
// line's `identify`. The scalable EmbeddingIndex (SIMD exact + HNSW) replaces
// it behind the same question: "who is nearest to this descriptor?".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/face.hpp"

namespace safelynx::index {

struct GalleryMatch {
  std::string name;  // the nearest person
  float distance;    // L2 distance to that person's nearest descriptor
};

class LinearGallery {
 public:
  void add(const std::string& name, const FaceDescriptor& descriptor);
  std::size_t size() const { return entries_.size(); }
  std::vector<std::string> names() const;

  // The nearest person, or nothing when the gallery is empty.
  std::optional<GalleryMatch> nearest(const FaceDescriptor& query) const;

 private:
  struct Entry {
    std::string name;
    FaceDescriptor descriptor;
  };
  std::vector<Entry> entries_;
};

}  // namespace safelynx::index
