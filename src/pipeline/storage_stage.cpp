#include "pipeline/storage_stage.hpp"

#include <chrono>
#include <type_traits>
#include <variant>

#include "vision/face_crops.hpp"

namespace safelynx::pipeline {

using namespace std::chrono_literals;

StorageStage::StorageStage(PipelineServices& services, StorageStageOptions options,
                           std::unique_ptr<vision::FaceDetector> confirm_detector)
    : services_(services), options_(options), confirm_detector_(std::move(confirm_detector)) {
  if (!confirm_detector_) throw std::invalid_argument("the storage stage needs a detector to confirm unknown faces");
  thread_ = std::thread([this] { loop(); });
}

StorageStage::~StorageStage() { close(); }

void StorageStage::submit(StorageJob job) {
  ++pending_;
  if (queue_.push(std::move(job))) --pending_;  // refused: shutting down
}

void StorageStage::close() {
  std::lock_guard lock(close_mutex_);
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

std::map<Uuid, std::uint64_t> StorageStage::sightings_per_camera() const {
  std::lock_guard lock(sightings_mutex_);
  return sightings_per_camera_;
}

void StorageStage::loop() {
  while (true) {
    std::optional<StorageJob> job = queue_.pop(200ms);
    if (!job) {
      if (queue_.closed() && queue_.size() == 0) return;
      continue;
    }
    const Settings settings = services_.settings();
    std::visit(
        [&](auto& work) {
          try {
            std::optional<TrackNotice> notice = perform(work, settings);
            if (notice) {
              std::lock_guard lock(work.camera->notices_mutex);
              work.camera->notices.push_back(std::move(*notice));
            }
          } catch (const std::exception& e) {
            services_.log("error", "cannot store what camera " + work.camera->id_text + " saw: " + e.what());
            TrackNotice failed{work.track, std::nullopt, false};
            failed.answers_candidate = std::is_same_v<std::decay_t<decltype(work)>, UnknownCandidateJob>;
            std::lock_guard lock(work.camera->notices_mutex);
            work.camera->notices.push_back(std::move(failed));
          }
        },
        *job);
    --pending_;
  }
}

std::optional<TrackNotice> StorageStage::perform(UnknownCandidateJob& job, const Settings& settings) {
  TrackNotice answer{job.track, std::nullopt, false};
  answer.answers_candidate = true;
  // Another camera may have just made this person a profile; a face near
  // someone but not clearly them never becomes a stranger.
  const gallery::GalleryMatch match = services_.gallery.match(job.mean, gallery::MatchRule::from(settings));
  if (const Profile* named = match.named()) {
    answer.profile = *named;
    return answer;
  }
  const bool lasting_near_miss = job.near_miss && match.decision.distance > settings.recognition.match_threshold;
  if (match.decision.verdict == gallery::MatchVerdict::Uncertain && !lasting_near_miss) {
    services_.metrics.add_unknown_rejected(job.camera->id_text, "uncertain");
    return answer;
  }
  if (vision::face_sharpness(job.best_frame, job.best_box) < options_.unknown_min_sharpness) {
    services_.metrics.add_unknown_rejected(job.camera->id_text, "sharpness");
    return answer;
  }
  // The fast detector proposes, the SSD confirms: a false face must not become a profile.
  const cv::Rect around = vision::face_region(job.best_box, job.best_frame.size(), 0.6f);
  if (around.empty() || confirm_detector_->detect(job.best_frame(around), options_.unknown_confirm_score).empty()) {
    services_.metrics.add_unknown_rejected(job.camera->id_text, "not_confirmed");
    return answer;
  }

  // The track keeps one view of the face, its best: the photo of the best
  // embedding (best first) and the thumbnail. The others have no photo.
  const std::string best_view = vision::face_thumbnail_jpeg(job.best_frame, job.best_box);
  std::vector<gallery::FaceSample> faces;
  for (const auto& [quality, descriptor] : job.embeddings)
    faces.push_back({descriptor, quality, faces.empty() ? best_view : std::string()});
  Profile unknown;
  unknown.classification = Classification::Unknown;  // and unreviewed
  Profile profile = services_.gallery.create(unknown, faces, best_view);
  services_.metrics.add_profiles_created(1);
  services_.log("info", "new unknown profile " + profile.id.to_string() + " from camera " + job.camera->id_text);
  if (settings.notifications.on_unknown) services_.events.publish(Alert{"new unknown face", profile, std::nullopt});
  answer.profile = std::move(profile);
  answer.created = true;
  return answer;
}

std::optional<TrackNotice> StorageStage::perform(CorrectionJob& job, const Settings&) {
  const std::size_t moved = services_.database.sightings().reassign(job.sightings, job.to);
  bool removed = false;
  if (job.from_is_own_unknown) {
    // Premature: made from this track's first faces, unnamed, and nothing
    // else was attributed to it since. Otherwise it stays (a merge candidate).
    const std::optional<Profile> from = services_.database.profiles().find(job.from);
    if (from && from->classification == Classification::Unknown && !from->name && from->sighting_count == 0)
      removed = services_.gallery.remove(job.from).has_value();
  }
  services_.metrics.add_sightings_corrected(static_cast<double>(moved));
  services_.log("info", "camera " + job.camera->id_text + ": a track of profile " + job.from.to_string() +
                            " is profile " + job.to.to_string() + "; " + std::to_string(moved) + " sighting(s) corrected" +
                            (removed ? ", the premature unknown profile removed" : ""));
  services_.events.publish(SightingsCorrected{job.from, job.to, job.sightings, removed});
  return std::nullopt;
}

std::optional<TrackNotice> StorageStage::perform(SightingJob& job, const Settings& settings) {
  Sighting& sighting = job.sighting;
  try {
    services_.media.write(storage::MediaKind::FaceSnapshot, sighting.id,
                          vision::face_thumbnail_jpeg(job.frame, sighting.box, 200));
    sighting.has_face_snapshot = true;
    services_.media.write(storage::MediaKind::FrameSnapshot, sighting.id, vision::encode_jpeg(job.frame, 85));
    sighting.has_frame_snapshot = true;
  } catch (const std::exception& e) {
    // The sighting matters more than its picture.
    services_.log("error", std::string("cannot write a snapshot: ") + e.what());
  }
  try {
    services_.database.sightings().create(sighting);
  } catch (const storage::NotFoundError&) {
    // The profile was deleted (or merged away) while in view: match again.
    services_.media.remove(storage::MediaKind::FaceSnapshot, sighting.id);
    services_.media.remove(storage::MediaKind::FrameSnapshot, sighting.id);
    return TrackNotice{job.track, std::nullopt, true};
  }
  services_.metrics.add_sightings(1);
  {
    std::lock_guard lock(sightings_mutex_);
    ++sightings_per_camera_[sighting.camera_id];
  }
  std::optional<Profile> profile = services_.database.profiles().find(sighting.profile_id);
  if (!profile) return TrackNotice{job.track, std::nullopt, true};
  services_.events.publish(NewSighting{sighting});
  services_.events.publish(ProfileSighted{*profile, sighting});
  if (profile->classification == Classification::Flagged && settings.notifications.on_flagged)
    services_.events.publish(Alert{"flagged profile sighted", *profile, sighting});
  // The overlay shows the profile's current name and classification.
  return TrackNotice{job.track, std::move(profile), false};
}

}  // namespace safelynx::pipeline
