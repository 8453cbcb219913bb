#include "pipeline/storage_stage.hpp"

#include <chrono>
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
            std::lock_guard lock(work.camera->notices_mutex);
            work.camera->notices.push_back(TrackNotice{work.track, std::nullopt, false});
          }
        },
        *job);
    --pending_;
  }
}

std::optional<TrackNotice> StorageStage::perform(UnknownCandidateJob& job, const Settings& settings) {
  // Another camera may have just made this person a profile.
  if (auto match = services_.gallery.identify(job.mean, settings.recognition.match_threshold)) {
    services_.metrics.add_profiles_matched(1);
    return TrackNotice{job.track, std::move(match->profile), false};
  }
  const TrackNotice rejected{job.track, std::nullopt, false};
  if (vision::face_sharpness(job.best_frame, job.best_box) < options_.unknown_min_sharpness) return rejected;
  // The fast detector proposes, the SSD confirms: a false face must not become a profile.
  const cv::Rect around = vision::face_region(job.best_box, job.best_frame.size(), 0.6f);
  if (around.empty() || confirm_detector_->detect(job.best_frame(around), options_.unknown_confirm_score).empty())
    return rejected;

  std::vector<gallery::FaceSample> faces;
  for (const auto& [quality, descriptor] : job.embeddings) faces.push_back({descriptor, quality});
  Profile unknown;
  unknown.classification = Classification::Unknown;
  Profile profile =
      services_.gallery.create(unknown, faces, vision::face_thumbnail_jpeg(job.best_frame, job.best_box));
  services_.metrics.add_profiles_created(1);
  services_.log("info", "new unknown profile " + profile.id.to_string() + " from camera " + job.camera->id_text);
  if (settings.notifications.on_unknown) services_.events.publish(Alert{"new unknown face", profile, std::nullopt});
  return TrackNotice{job.track, std::move(profile), false};
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
