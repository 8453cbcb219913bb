// A person the system knows about, and the rule for which of their face
// embeddings to keep. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace safelynx {

// trusted: household/staff; known: seen and named; unknown: created
// automatically for a new face; flagged: raises alerts when sighted.
enum class Classification { Trusted, Known, Unknown, Flagged };

std::string_view to_string(Classification classification);
// "trusted", "known", "unknown" or "flagged"; throws std::invalid_argument
// listing the accepted values otherwise.
Classification parse_classification(std::string_view text);

// One stored embedding of a profile, as the gallery rule sees it.
struct GalleryEntry {
  std::uint64_t embedding_id = 0;
  float quality = 0;  // higher is better (detector score, face size, sharpness)
};

struct GalleryDecision {
  bool admit = false;                          // store the new embedding
  std::optional<std::uint64_t> evict;          // and drop this one to make room
};

// A profile keeps at most `capacity` embeddings, the best ones: below the
// cap every new one is admitted; at the cap a new one replaces the worst
// only if it is better. Ties keep what is already there.
GalleryDecision admit_to_gallery(std::span<const GalleryEntry> gallery, float new_quality, std::size_t capacity);

}  // namespace safelynx
