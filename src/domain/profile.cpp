#include "domain/profile.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace safelynx {

std::string_view to_string(Classification classification) {
  switch (classification) {
    case Classification::Trusted: return "trusted";
    case Classification::Known: return "known";
    case Classification::Unknown: return "unknown";
    case Classification::Flagged: return "flagged";
  }
  return "unknown";
}

Classification parse_classification(std::string_view text) {
  for (Classification c : {Classification::Trusted, Classification::Known, Classification::Unknown,
                           Classification::Flagged})
    if (text == to_string(c)) return c;
  throw std::invalid_argument("classification '" + std::string(text.substr(0, 64)) +
                              "' is not one of trusted, known, unknown, flagged");
}

GalleryDecision admit_to_gallery(std::span<const GalleryEntry> gallery, float new_quality, std::size_t capacity) {
  if (capacity == 0) return {};
  if (gallery.size() < capacity) return {true, std::nullopt};
  const auto worst = std::min_element(gallery.begin(), gallery.end(), [](const GalleryEntry& a, const GalleryEntry& b) {
    return a.quality < b.quality;
  });
  if (!(new_quality > worst->quality)) return {};
  return {true, worst->embedding_id};
}

}  // namespace safelynx
