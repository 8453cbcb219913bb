// Feedback on a sighting, and its undo: the one place that turns a person's
// "this is X" / "this is not X" into changes of the sightings and the
// gallery, and remembers what it changed so that the undo reverses exactly
// that. The API's feedback routes parse and call it.
//
// "is X": the sighting moves to X and its face is offered to X's gallery,
// unless it is farther than the stranger threshold from every one of X's
// embeddings (an outlier: a mistaken click must not teach X a stranger's
// face) or X's gallery keeps better faces.
// "is not X": the face becomes a negative example of X; if the sighting
// named X it is decided again without X: named -> moved to that profile,
// otherwise -> a new unknown profile made from its face (nothing is lost; it
// shows up for review).
#pragma once

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "domain/entities.hpp"
#include "domain/events.hpp"
#include "gallery/gallery.hpp"
#include "gallery/match_decision.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::gallery {

// Why feedback cannot be given or undone: NotFound (a sighting, profile or
// feedback that does not exist) or Conflict (the state forbids it); `code`
// is a short machine-readable word, what() says what is wrong.
class FeedbackError : public std::runtime_error {
 public:
  enum class Kind { NotFound, Conflict };
  FeedbackError(Kind kind, std::string code, const std::string& message)
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}
  Kind kind() const { return kind_; }
  const std::string& code() const { return code_; }

 private:
  Kind kind_;
  std::string code_;
};

struct FeedbackOutcome {
  Feedback feedback;
  Sighting sighting;             // as stored afterwards
  std::optional<std::string> reason;  // why the face was not added to the gallery (`is` only)
};

class FeedbackService {
 public:
  FeedbackService(storage::Database& database, storage::MediaStore& media, Gallery& gallery, EventBus& events)
      : database_(database), media_(media), gallery_(gallery), events_(events) {}

  // `profile_id`: required for Is; for IsNot the sighting's profile when unset.
  // Throws FeedbackError.
  FeedbackOutcome give(const Uuid& sighting_id, FeedbackVerdict verdict, const std::optional<Uuid>& profile_id,
                       const MatchRule& rule);
  // Reverses what the feedback changed: the embedding it added or the
  // negative example it stored goes, the sighting returns to its previous
  // profile, an unknown profile it created goes when no sighting names it
  // any more. Throws FeedbackError (unknown, undone already, the previous
  // profile gone).
  Feedback undo(const Uuid& feedback_id);

 private:
  storage::Database& database_;
  storage::MediaStore& media_;
  Gallery& gallery_;
  EventBus& events_;
  // One piece of feedback or undo at a time: each reads, then changes
  // several rows, and two undos of the same feedback must not both run.
  std::mutex mutex_;

  FaceSample sample_of(const Sighting& sighting) const;
  void move(const Sighting& sighting, const Uuid& to);
  void offer_to_gallery(const Sighting& sighting, const MatchRule& rule, Feedback& feedback,
                        std::optional<std::string>& reason);
  void decide_again(const Sighting& sighting, const MatchRule& rule, Feedback& feedback);
};

}  // namespace safelynx::gallery
