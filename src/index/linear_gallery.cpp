#include "index/linear_gallery.hpp"

#include <algorithm>

namespace safelynx::index {

void LinearGallery::add(const std::string& name, const FaceDescriptor& descriptor) {
  entries_.push_back({name, descriptor});
}

std::vector<std::string> LinearGallery::names() const {
  std::vector<std::string> result;
  for (const auto& e : entries_)
    if (std::find(result.begin(), result.end(), e.name) == result.end()) result.push_back(e.name);
  return result;
}

std::optional<GalleryMatch> LinearGallery::nearest(const FaceDescriptor& query) const {
  std::optional<GalleryMatch> best;
  for (const auto& e : entries_) {
    const float d = descriptor_distance(query, e.descriptor);
    if (!best || d < best->distance) best = GalleryMatch{e.name, d};
  }
  return best;
}

}  // namespace safelynx::index
