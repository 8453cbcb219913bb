#include "pipeline/face_tracker.hpp"

#include <algorithm>
#include <tuple>

namespace safelynx::pipeline {

std::optional<FaceDescriptor> Track::mean_embedding() const {
  if (embeddings.empty()) return std::nullopt;
  FaceDescriptor mean{};
  for (const auto& [quality, descriptor] : embeddings)
    for (std::size_t i = 0; i < kDescriptorSize; ++i) mean[i] += descriptor[i];
  for (float& v : mean) v /= static_cast<float>(embeddings.size());
  return mean;
}

std::optional<float> Track::nearest_distance(const FaceDescriptor& descriptor) const {
  std::optional<float> nearest;
  for (const auto& [quality, kept] : embeddings) {
    const float d = descriptor_distance(descriptor, kept);
    if (!nearest || d < *nearest) nearest = d;
  }
  return nearest;
}

FaceTracker::FaceTracker(TrackerOptions options) : options_(options) {}

namespace {

void absorb(Track& track, const TrackedFace& face, SteadyTime now, std::size_t kept) {
  track.box = face.box;
  track.last_seen = now;
  ++track.hits;
  track.best_quality = std::max(track.best_quality, face.quality);
  if (!face.descriptor) return;
  auto& list = track.embeddings;
  const auto at = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first < face.quality; });
  if (static_cast<std::size_t>(at - list.begin()) >= kept) return;  // worse than every kept one
  list.insert(at, {face.quality, *face.descriptor});
  if (list.size() > kept) list.pop_back();
}

}  // namespace

std::vector<std::uint64_t> FaceTracker::update(const std::vector<TrackedFace>& faces, SteadyTime now) {
  std::erase_if(tracks_, [&](const Track& t) { return now - t.last_seen > options_.max_gap; });

  std::vector<std::uint64_t> assigned(faces.size(), 0);
  std::vector<bool> track_taken(tracks_.size(), false);

  // Box overlap proposes, the embedding decides. Greedy by best overlap first: (IoU, face, track).
  std::vector<std::tuple<float, std::size_t, std::size_t>> pairs;
  for (std::size_t f = 0; f < faces.size(); ++f)
    for (std::size_t t = 0; t < tracks_.size(); ++t) {
      const float iou = intersection_over_union(faces[f].box, tracks_[t].box);
      if (iou < options_.min_iou) continue;
      const std::optional<float> distance =
          faces[f].descriptor ? tracks_[t].nearest_distance(*faces[f].descriptor) : std::nullopt;
      if (distance) {
        if (*distance > options_.same_person_distance) continue;  // someone else, at the same place
      } else if (now - tracks_[t].last_seen > options_.box_only_gap) {
        continue;  // nothing vouches that this is still the same person
      }
      pairs.emplace_back(iou, f, t);
    }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  for (const auto& [iou, f, t] : pairs) {
    if (assigned[f] || track_taken[t]) continue;
    assigned[f] = tracks_[t].id;
    track_taken[t] = true;
  }

  // Then by embedding alone, for faces that moved too far for their boxes to overlap.
  std::vector<std::tuple<float, std::size_t, std::size_t>> near;
  for (std::size_t f = 0; f < faces.size(); ++f) {
    if (assigned[f] || !faces[f].descriptor) continue;
    for (std::size_t t = 0; t < tracks_.size(); ++t) {
      if (track_taken[t]) continue;
      const std::optional<float> distance = tracks_[t].nearest_distance(*faces[f].descriptor);
      if (distance && *distance <= options_.bridge_distance) near.emplace_back(*distance, f, t);
    }
  }
  std::sort(near.begin(), near.end(), [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (const auto& [distance, f, t] : near) {
    if (assigned[f] || track_taken[t]) continue;
    assigned[f] = tracks_[t].id;
    track_taken[t] = true;
  }

  for (std::size_t f = 0; f < faces.size(); ++f) {
    if (assigned[f]) {
      absorb(*find(assigned[f]), faces[f], now, options_.embeddings_kept);
      continue;
    }
    Track track;
    track.id = next_id_++;
    track.first_seen = now;
    absorb(track, faces[f], now, options_.embeddings_kept);
    assigned[f] = track.id;
    tracks_.push_back(std::move(track));
  }
  return assigned;
}

const Track* FaceTracker::find(std::uint64_t id) const {
  const auto it = std::find_if(tracks_.begin(), tracks_.end(), [&](const Track& t) { return t.id == id; });
  return it == tracks_.end() ? nullptr : &*it;
}

Track* FaceTracker::find(std::uint64_t id) {
  return const_cast<Track*>(static_cast<const FaceTracker&>(*this).find(id));
}

bool FaceTracker::claim_sighting(std::uint64_t id, SteadyTime now, std::chrono::seconds cooldown) {
  Track* track = find(id);
  if (!track) return false;
  if (track->last_sighting && now - *track->last_sighting < cooldown) return false;
  track->last_sighting = now;
  return true;
}

}  // namespace safelynx::pipeline
