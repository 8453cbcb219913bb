#include "gallery/feedback.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

namespace safelynx::gallery {
namespace {

[[noreturn]] void not_found(const std::string& what, const Uuid& id) {
  throw FeedbackError(FeedbackError::Kind::NotFound, "not_found", "no " + what + " with id " + id.to_string());
}

std::string decimal(float value) {
  char text[16];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(value));
  return text;
}

}  // namespace

// The sighting's face as the gallery keeps it: its face crop is the photo.
FaceSample FeedbackService::sample_of(const Sighting& sighting) const {
  return {*sighting.descriptor, sighting.face_quality, media_.read(storage::MediaKind::FaceSnapshot, sighting.id)};
}

void FeedbackService::move(const Sighting& sighting, const Uuid& to) {
  const std::array<Uuid, 1> ids{sighting.id};
  database_.sightings().reassign(ids, to);
  events_.publish(SightingsCorrected{sighting.profile_id, to, {sighting.id}, false});
}

void FeedbackService::offer_to_gallery(const Sighting& sighting, const MatchRule& rule, Feedback& feedback,
                                       std::optional<std::string>& reason) {
  const auto stored = database_.profiles().embeddings_of(feedback.profile_id);
  float nearest = std::numeric_limits<float>::infinity();
  for (const StoredEmbedding& e : stored) nearest = std::min(nearest, descriptor_distance(e.descriptor, *sighting.descriptor));
  // With no embedding to compare with there is nothing to be an outlier from.
  if (!stored.empty() && nearest > rule.stranger_threshold) {
    reason = "the face is " + decimal(nearest) + " from the nearest of the profile's " + std::to_string(stored.size()) +
             " embeddings, beyond the stranger threshold " + decimal(rule.stranger_threshold) +
             ": kept out of the gallery as a likely outlier (the sighting was still re-attributed)";
    return;
  }
  const FaceSample face = sample_of(sighting);
  const FacesAdded added = gallery_.add_faces(feedback.profile_id, std::span(&face, 1), {});
  if (added.added_ids.empty()) {
    reason = "the profile's gallery is full of better faces (" + std::to_string(gallery_.capacity()) + " kept)";
    return;
  }
  feedback.added_to_gallery = true;
  feedback.embedding_id = added.added_ids.front();
}

void FeedbackService::decide_again(const Sighting& sighting, const MatchRule& rule, Feedback& feedback) {
  const GalleryMatch match = gallery_.match(*sighting.descriptor, rule, feedback.profile_id);
  if (const Profile* named = match.named()) {
    move(sighting, named->id);
    return;
  }
  Profile fields;
  fields.classification = Classification::Unknown;
  const FaceSample face = sample_of(sighting);
  const Profile created = gallery_.create(fields, std::span(&face, 1), face.photo_jpeg);
  feedback.created_profile_id = created.id;
  move(sighting, created.id);
}

FeedbackOutcome FeedbackService::give(const Uuid& sighting_id, FeedbackVerdict verdict,
                                      const std::optional<Uuid>& profile_id, const MatchRule& rule) {
  std::lock_guard lock(mutex_);
  const auto sighting = database_.sightings().find(sighting_id);
  if (!sighting) not_found("sighting", sighting_id);
  const Uuid named = profile_id.value_or(sighting->profile_id);
  if (!database_.profiles().find(named)) not_found("profile", named);
  if (!sighting->descriptor)
    throw FeedbackError(FeedbackError::Kind::Conflict, "no_embedding",
                        "sighting " + sighting_id.to_string() +
                            " was written before sightings kept their face's embedding; feedback needs the face");
  if (verdict == FeedbackVerdict::Is && sighting->profile_id == named)
    throw FeedbackError(FeedbackError::Kind::Conflict, "already_named",
                        "sighting " + sighting_id.to_string() + " already names profile " + named.to_string());

  FeedbackOutcome outcome;
  Feedback& feedback = outcome.feedback;
  feedback.id = Uuid::random();
  feedback.sighting_id = sighting_id;
  feedback.verdict = verdict;
  feedback.profile_id = named;
  feedback.previous_profile_id = sighting->profile_id;
  feedback.created_at = now_ms();
  if (verdict == FeedbackVerdict::Is) {
    move(*sighting, named);
    offer_to_gallery(*sighting, rule, feedback, outcome.reason);
  } else {
    feedback.negative_id = gallery_.add_negative(named, *sighting->descriptor).id;
    // A negative of another profile than the sighting's changes only the gallery.
    if (sighting->profile_id == named) decide_again(*sighting, rule, feedback);
  }
  database_.feedback().create(feedback);
  outcome.sighting = database_.sightings().find(sighting_id).value_or(*sighting);
  return outcome;
}

Feedback FeedbackService::undo(const Uuid& feedback_id) {
  std::lock_guard lock(mutex_);
  auto feedback = database_.feedback().find(feedback_id);
  if (!feedback) not_found("feedback", feedback_id);
  if (feedback->undone_at)
    throw FeedbackError(FeedbackError::Kind::Conflict, "already_undone",
                        "feedback " + feedback_id.to_string() + " was undone already");
  // A sighting deleted since (retention, its profile deleted) has nothing to
  // move back; the gallery's changes are still undone.
  const auto sighting = database_.sightings().find(feedback->sighting_id);
  const bool move_back = sighting && sighting->profile_id != feedback->previous_profile_id;
  if (move_back && !database_.profiles().find(feedback->previous_profile_id))
    throw FeedbackError(FeedbackError::Kind::Conflict, "profile_gone",
                        "the profile sighting " + feedback->sighting_id.to_string() + " named before (" +
                            feedback->previous_profile_id.to_string() +
                            ") no longer exists: the sighting cannot be moved back");
  if (feedback->embedding_id) gallery_.remove_face(feedback->profile_id, *feedback->embedding_id);
  if (feedback->negative_id) gallery_.remove_negative(*feedback->negative_id);
  if (move_back) move(*sighting, feedback->previous_profile_id);
  if (feedback->created_profile_id) {
    const auto created = database_.profiles().find(*feedback->created_profile_id);
    if (created && created->sighting_count == 0) gallery_.remove(created->id);
  }
  const TimePoint at = now_ms();
  if (!database_.feedback().mark_undone(feedback_id, at))
    throw FeedbackError(FeedbackError::Kind::Conflict, "already_undone",
                        "feedback " + feedback_id.to_string() + " was undone already");
  feedback->undone_at = at;
  return *feedback;
}

}  // namespace safelynx::gallery
