// Scores what the pipeline said against a recognition scenario's ground
// truth: each sighting belongs to the visit of its frame and, in a pair, to
// the person whose rendered face its box covers. Pure: the bench collects
// the observations from the event bus, the tests make them up.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/recognition_scenario.hpp"
#include "domain/entities.hpp"
#include "domain/face.hpp"
#include "domain/uuid.hpp"

namespace safelynx::app {

// Video time of a wall-clock time, from (wall time, frame index) pairs of the
// file camera's capture: a sighting carries its frame's capture time, and
// the camera may have lost pace now and then, so the nominal frame rate
// alone would drift.
class FrameClock {
 public:
  explicit FrameClock(double fps) : fps_(fps) {}
  void add(TimePoint wall, std::uint64_t frame);  // ignored unless newer than the last
  bool empty() const { return samples_.empty(); }
  double video_s(TimePoint wall) const;  // 0 when empty

 private:
  double fps_;
  std::vector<std::pair<TimePoint, std::uint64_t>> samples_;
};

struct ObservedSighting {
  Uuid id;
  Uuid profile;        // as it stands at the end, after any correction
  Uuid first_profile;  // as it was first published
  double video_s = 0;  // of the frame it was decided on
  double named_s = 0;  // when `profile` became its name: video_s, or when it was corrected
  Box box;
  float distance = 0;
  float margin = 0;
};

struct ObservedProfile {
  Uuid id;
  std::optional<int> person;  // into Scenario::people: enrolled for them; unset: an unknown profile the pipeline made
  bool exists = true;         // still there at the end (not removed or merged away)
  double created_s = 0;       // video seconds when it was created
};

// A face the matcher would not name (an UncertainFace event).
struct ObservedUncertain {
  double video_s = 0;  // when it was announced: its frame's time plus the pipeline's latency
  Box box;
  std::vector<std::pair<Uuid, float>> candidates;  // profile, distance; nearest first
};

struct RecognitionRun {
  std::vector<ObservedSighting> sightings;
  std::vector<ObservedProfile> profiles;  // the enrolled and every unknown one created
  std::vector<ObservedUncertain> uncertain;
};

struct ScoreOptions {
  double named_within_s = 1.0;  // of the first usable frame
  double slack_s = 0.1;         // a sighting this far outside a visit still belongs to it
  double latency_s = 0.5;       // an event this late after a visit (when it carries no frame time)
};

struct WrongName {
  std::string person;    // who was in view
  std::string named_as;  // what the sighting named: a person, or "unknown N (of whom)"
  double video_s = 0;
  float distance = 0;
  float margin = 0;
  bool corrected = false;  // wrong when published, named otherwise at the end
};

struct AppearanceScore {
  int sightings = 0;
  int uncertain = 0;   // faces announced as uncertain
  std::map<std::string, float> uncertain_between;  // their candidates: name -> nearest distance
  bool named = false;  // enrolled: their profile named; strangers: their own unknown profile
  std::optional<double> named_s;        // enrolled: video time of the first right name
  std::optional<double> time_to_name_s;  // from the first usable frame, 0 when named before it
  std::vector<std::string> named_as;     // every name its sightings gave, in order
};

struct StrangerScore {
  std::string name;
  int unknown_profiles = 0;    // existing at the end and theirs: 1 is right
  bool re_recognised = false;  // one of them named on both visits
};

struct RecognitionScore {
  int enrolled_appearances = 0;
  int named_correctly = 0;
  int named_within = 0;  // within named_within_s
  int wrong_names = 0;   // sightings naming someone not in view, as they stand at the end
  int wrong_names_published = 0;  // the same, as first published (a later correction does not unsend an alert)
  std::vector<WrongName> wrong;   // both kinds; `corrected` tells which
  int unknown_profiles = 0;       // existing at the end
  int enrolled_as_unknown = 0;    // of those, made of an enrolled person
  int unattributed_unknown = 0;   // of those, of nobody the scenario can tell
  int sightings_outside_visits = 0;
  std::vector<StrangerScore> strangers;       // in Scenario::people order
  std::vector<AppearanceScore> appearances;   // parallel to Scenario::appearances
  std::vector<double> times_to_name_s;

  bool all_strangers_once() const;
  bool all_strangers_re_recognised() const;
};

RecognitionScore score_recognition(const Scenario& scenario, const RecognitionRun& run, const ScoreOptions& options = {});

}  // namespace safelynx::app
