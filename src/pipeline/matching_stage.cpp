#include "pipeline/matching_stage.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <vector>

#include "pipeline/stage_clock.hpp"
#include "vision/face_quality.hpp"

namespace safelynx::pipeline {

namespace {

using namespace std::chrono_literals;

// How long a track must stay a near miss before it may become a stranger:
// the "usable faces for 2 s".
constexpr auto kNearMissBecomesStranger = 2s;

cv::Scalar colour_of(Classification c) {
  switch (c) {
    case Classification::Flagged: return {40, 40, 230};
    case Classification::Trusted: return {80, 200, 80};
    case Classification::Known: return {230, 180, 60};
    case Classification::Unknown: break;
  }
  return {60, 200, 230};
}

}  // namespace

void MatchingStage::apply_notices(CameraState& state) {
  std::vector<TrackNotice> notices;
  {
    std::lock_guard lock(state.notices_mutex);
    notices.swap(state.notices);
  }
  for (TrackNotice& notice : notices) {
    auto it = state.tracks.find(notice.track);
    if (it == state.tracks.end()) continue;
    TrackInfo& info = it->second;
    if (notice.answers_candidate) {
      info.becoming_profile = false;
      if (notice.profile && !info.profile) {
        if (notice.created) info.own_unknown = notice.profile->id;
        info.profile = std::move(notice.profile);
      }
    } else if (notice.profile_gone) {
      info.profile.reset();
      info.decided = false;
    } else if (notice.profile && info.profile && notice.profile->id == info.profile->id) {
      info.profile = std::move(notice.profile);  // its current name and classification
    }
  }
}

// Re-decides a track's identity from its aggregated best faces; a track
// that turns out to be someone else has its sightings corrected.
void MatchingStage::decide_track(const std::shared_ptr<CameraState>& camera, const Track& track, TrackInfo& info,
                                 const gallery::MatchRule& rule, const Frame& frame, const Box& box) {
  CameraState& state = *camera;
  const std::optional<FaceDescriptor> mean = track.mean_embedding();
  if (!mean) return;
  // Whether the track is someone else than the unknown profile made from
  // its own first faces (which would otherwise always be nearest).
  const bool on_own_unknown = info.profile && info.own_unknown && info.profile->id == *info.own_unknown;
  gallery::GalleryMatch match = services_.gallery.match(*mean, rule, on_own_unknown ? info.own_unknown : std::nullopt);
  info.verdict = match.decision.verdict;
  info.decided = true;
  info.distance = match.decision.distance;
  info.margin = match.decision.margin;
  services_.metrics.add_match_decision(state.id_text, gallery::to_string(info.verdict));
  if (!match.decision.candidates.empty()) services_.metrics.observe_match(info.distance, info.margin);
  if (info.verdict == gallery::MatchVerdict::Uncertain) {
    info.uncertain_label = "?";
    for (std::size_t i = 0; i < match.candidates.size(); ++i)
      info.uncertain_label += (i == 0 ? " " : " / ") + match.candidates[i].profile.name.value_or("unknown");
  }
  if (info.verdict == gallery::MatchVerdict::Uncertain && !info.uncertain_announced) {
    info.uncertain_announced = true;
    UncertainFace uncertain{frame.camera_id, box, {}};
    for (const gallery::Identification& c : match.candidates) uncertain.candidates.push_back({c.profile.id, c.distance});
    services_.events.publish(std::move(uncertain));
  }
  const Profile* named = match.named();
  if (!named) return;
  if (!info.named_once) {
    info.named_once = true;
    services_.metrics.observe_time_to_name_s(std::chrono::duration<double>(frame.captured - track.first_seen).count());
    services_.metrics.add_profiles_matched(1);
  }
  if (info.profile && info.profile->id != named->id) {
    CorrectionJob correction{camera, track.id, info.sightings, info.profile->id, named->id, on_own_unknown};
    // The track's sightings so far are this visit's: they move, no new one is due.
    if (on_own_unknown) info.own_unknown.reset();
    storage_.submit(std::move(correction));
  }
  info.profile = *named;
}

double MatchingStage::match(const std::shared_ptr<CameraState>& camera, AnalysedFrame& item) {
  CameraState& state = *camera;
  const auto start = Steady::now();
  const Settings settings = services_.settings();
  const Frame& frame = item.frame;
  std::vector<TrackedFace> tracked;
  for (const Face& face : item.faces)
    // A described face has landmarks: its pose and sharpness count too.
    tracked.push_back(TrackedFace{face.detection.box, face.detection.score,
                                  face.descriptor ? vision::face_quality(face, frame.bgr) : face_quality(face.detection),
                                  face.descriptor});
  const std::vector<std::uint64_t> ids = state.tracker.update(tracked, frame.captured);
  std::erase_if(state.tracks, [&](const auto& entry) { return state.tracker.find(entry.first) == nullptr; });
  apply_notices(state);

  std::optional<RecordingMoment> moment;
  {
    std::lock_guard lock(state.recorder_mutex);
    if (state.recorder && !state.stopped) moment = state.recorder->trigger(frame.wall_time);
  }

  std::vector<OverlayBox> overlay;
  std::vector<SettledFace> settled;
  std::vector<std::pair<std::uint64_t, std::size_t>> sighting_candidates;  // (track, face)
  const gallery::MatchRule rule = gallery::MatchRule::from(settings);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Track* track = state.tracker.find(ids[i]);
    if (!track) continue;
    auto [info_it, is_new] = state.tracks.try_emplace(ids[i]);
    TrackInfo& info = info_it->second;
    if (is_new) services_.events.publish(FaceDetected{frame.camera_id, item.faces[i].detection.box, item.faces[i].detection.score});
    const bool described = tracked[i].descriptor.has_value();
    if (described) info.last_descriptor = frame.captured;
    if (described && tracked[i].quality > info.best_quality) {
      info.best_quality = tracked[i].quality;
      info.best_frame = frame.bgr;
      info.best_box = tracked[i].box;
      info.best_score = tracked[i].score;
    }
    // Every new face re-decides: better faces may name (or rename) the track.
    if (described || !info.decided) decide_track(camera, *track, info, rule, frame, tracked[i].box);
    if (described && info.first_described == Steady::time_point{}) info.first_described = frame.captured;
    // A stranger, or a face that stayed a near miss (beyond the match
    // threshold, not a close call between two people) for its whole first
    // seconds in view: most likely someone new who resembles a profile. If
    // they are that person after all, a later decision corrects the track.
    const bool lasting_near_miss = info.verdict == gallery::MatchVerdict::Uncertain &&
                                   info.distance > rule.match_threshold &&
                                   frame.captured - info.first_described >= kNearMissBecomesStranger;
    if (!info.profile && described && (info.verdict == gallery::MatchVerdict::Stranger || lasting_near_miss))
      propose_unknown(camera, ids[i], *track, info, lasting_near_miss);
    const bool uncertain = info.verdict == gallery::MatchVerdict::Uncertain && !info.profile;
    overlay.push_back(OverlayBox{tracked[i].box,
                                 info.profile ? info.profile->name.value_or("unknown") : (uncertain ? info.uncertain_label : ""),
                                 info.profile ? colour_of(info.profile->classification) : cv::Scalar(200, 200, 200)});
    if (info.profile) settled.push_back(SettledFace{tracked[i].box, info.last_descriptor});
    // A sighting only from a face with its own descriptor (a box followed
    // without one may already be someone else), and only while the latest
    // decision stands behind the profile: named, or nobody else named on a
    // track that made its own unknown profile.
    const bool own_stranger = info.verdict != gallery::MatchVerdict::Named && info.own_unknown && info.profile &&
                              info.profile->id == *info.own_unknown;
    if (info.profile && described && (info.verdict == gallery::MatchVerdict::Named || own_stranger))
      sighting_candidates.emplace_back(ids[i], i);
  }
  // The match decision is made: this is where end-to-end latency ends.
  const double matching_ms = ms_since(start);
  const double e2e_ms = ms_since(frame.captured);
  services_.metrics.observe_matching_ms(matching_ms);
  services_.metrics.observe_end_to_end_ms(state.id_text, e2e_ms);
  state.live.show(std::move(overlay), std::move(settled));
  for (const auto& [track_id, face_index] : sighting_candidates)
    maybe_record_sighting(camera, track_id, item.faces[face_index], tracked[face_index].quality, frame, moment, settings);
  return e2e_ms;
}

// The cheap gates here; the sharpness check, the SSD's confirmation and
// the writes in the storage stage, which answers with a TrackNotice.
void MatchingStage::propose_unknown(const std::shared_ptr<CameraState>& camera, std::uint64_t track_id,
                                    const Track& track, TrackInfo& info, bool near_miss) {
  if (info.becoming_profile) return;
  if (track.hits < options_.unknown_min_detections || info.best_frame.empty()) return;
  if (std::min(info.best_box.width, info.best_box.height) < options_.unknown_min_face_size) {
    services_.metrics.add_unknown_rejected(camera->id_text, "small");
    return;
  }
  if (info.best_score < options_.unknown_min_score) {
    services_.metrics.add_unknown_rejected(camera->id_text, "low_score");
    return;
  }
  const auto now = Steady::now();
  if (info.last_confirm_attempt != Steady::time_point{} && now - info.last_confirm_attempt < 2s) return;
  info.last_confirm_attempt = now;
  const std::optional<FaceDescriptor> mean = track.mean_embedding();
  if (!mean) return;
  // The track keeps its few best faces; the gallery keeps the best of them.
  UnknownCandidateJob job{camera, track_id, track.embeddings, *mean, info.best_frame, info.best_box, near_miss};
  if (job.embeddings.empty()) return;
  info.becoming_profile = true;
  storage_.submit(std::move(job));
}

// How far this face itself is from the profile its track is attributed
// to, and how much nearer than the next profile (negative when this face
// alone is nearer someone else); the track's aggregate when the profile is
// not among this face's two nearest.
std::pair<float, float> MatchingStage::own_decision(const FaceDescriptor& descriptor, const TrackInfo& info,
                                                    const Settings& settings) {
  gallery::MatchRule wide = gallery::MatchRule::from(settings);
  wide.stranger_threshold = 2.0f;  // the nearest two, however far
  const gallery::GalleryMatch match = services_.gallery.match(descriptor, wide);
  const auto& c = match.candidates;
  if (!c.empty() && c[0].profile.id == info.profile->id) return {c[0].distance, match.decision.margin};
  if (c.size() > 1 && c[1].profile.id == info.profile->id) return {c[1].distance, c[0].distance - c[1].distance};
  return {info.distance, info.margin};
}

void MatchingStage::maybe_record_sighting(const std::shared_ptr<CameraState>& camera, std::uint64_t track_id,
                                          const Face& face, float quality, const Frame& frame,
                                          const std::optional<RecordingMoment>& moment, const Settings& settings) {
  CameraState& state = *camera;
  TrackInfo& info = state.tracks[track_id];
  const auto cooldown = std::chrono::seconds(settings.recognition.sighting_cooldown_s);
  auto last = state.last_sighting_of.find(info.profile->id);
  // One sighting per person per camera per cooldown, even across tracks
  // (a person who turned away and back is a new track, not a new visit).
  if (last != state.last_sighting_of.end() && frame.captured - last->second < cooldown) return;
  if (!state.tracker.claim_sighting(track_id, frame.captured, cooldown)) return;
  state.last_sighting_of[info.profile->id] = frame.captured;

  SightingJob job{camera, track_id, {}, frame.bgr};
  Sighting& sighting = job.sighting;
  sighting.id = services_.new_id();
  sighting.profile_id = info.profile->id;
  sighting.camera_id = frame.camera_id;
  sighting.time = frame.wall_time;
  sighting.box = face.detection.box;
  sighting.detector_score = face.detection.score;
  std::tie(sighting.match_distance, sighting.match_margin) = own_decision(*face.descriptor, info, settings);
  // The face it was written from, for searches by face and feedback.
  sighting.descriptor = face.descriptor;
  sighting.face_quality = quality;
  info.sightings.push_back(sighting.id);
  if (moment) {
    sighting.recording_id = moment->recording_id;
    sighting.recording_offset_s = moment->offset_s;
  }
  storage_.submit(std::move(job));
}

}  // namespace safelynx::pipeline
