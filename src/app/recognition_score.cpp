#include "app/recognition_score.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace safelynx::app {

void FrameClock::add(TimePoint wall, std::uint64_t frame) {
  if (!samples_.empty() && (wall <= samples_.back().first || frame <= samples_.back().second)) return;
  samples_.emplace_back(wall, frame);
}

double FrameClock::video_s(TimePoint wall) const {
  if (samples_.empty()) return 0;
  // The last sample at or before `wall` (the first one for earlier times),
  // then the nominal rate from there: samples are a fraction of a second apart.
  auto after = std::upper_bound(samples_.begin(), samples_.end(), wall,
                                [](TimePoint t, const auto& sample) { return t < sample.first; });
  const auto& [at, frame] = after == samples_.begin() ? samples_.front() : *std::prev(after);
  const double since_ms = static_cast<double>((wall - at).count());
  return static_cast<double>(frame) / fps_ + since_ms / 1000.0;
}

bool RecognitionScore::all_strangers_once() const {
  return std::all_of(strangers.begin(), strangers.end(), [](const StrangerScore& s) { return s.unknown_profiles == 1; });
}

bool RecognitionScore::all_strangers_re_recognised() const {
  return std::all_of(strangers.begin(), strangers.end(), [](const StrangerScore& s) { return s.re_recognised; });
}

namespace {

constexpr int kNobody = -1;

// The appearance a face at `video_s` in `box` belongs to, or kNobody
// outside every visit (extended by `before_s` and `after_s`).
int appearance_of(const Scenario& s, double video_s, const Box& box, double before_s, double after_s) {
  const double frame = video_s * s.options.fps;
  for (const Visit& visit : s.visits) {
    if (frame < visit.first_frame - before_s * s.options.fps || frame > visit.last_frame + after_s * s.options.fps) continue;
    const int at = std::clamp(static_cast<int>(std::lround(frame)), visit.first_frame, visit.last_frame);
    // In a pair: the face the box covers most; failing any overlap, the nearest.
    int best = visit.appearances.front();
    float best_iou = -1, best_distance = 1e9f;
    for (int a : visit.appearances) {
      const Box rendered = s.appearances[static_cast<std::size_t>(a)].box_at(at);
      const float iou = intersection_over_union(rendered, box);
      const float dx = (rendered.x + rendered.width / 2) - (box.x + box.width / 2);
      const float dy = (rendered.y + rendered.height / 2) - (box.y + box.height / 2);
      const float distance = std::hypot(dx, dy);
      if (iou > best_iou || (iou == best_iou && distance < best_distance)) {
        best = a;
        best_iou = iou;
        best_distance = distance;
      }
    }
    return best;
  }
  return kNobody;
}

// Whose each unknown profile is: the person most of its sightings showed,
// or, with none, the only person of the visit it was created in.
std::map<Uuid, int> owners(const Scenario& s, const RecognitionRun& run, const std::vector<int>& appearance,
                           bool as_published) {
  std::map<Uuid, std::map<int, int>> votes;
  for (std::size_t i = 0; i < run.sightings.size(); ++i) {
    if (appearance[i] == kNobody) continue;
    const ObservedSighting& sighting = run.sightings[i];
    ++votes[as_published ? sighting.first_profile : sighting.profile]
           [s.appearances[static_cast<std::size_t>(appearance[i])].person];
  }
  std::map<Uuid, int> out;
  for (const auto& [profile, by_person] : votes)
    out[profile] = std::max_element(by_person.begin(), by_person.end(), [](const auto& a, const auto& b) {
                     return a.second < b.second;
                   })->first;
  for (const ObservedProfile& profile : run.profiles) {
    if (profile.person || out.count(profile.id)) continue;
    // Created after its track's confirmation, so up to a couple of seconds
    // after the visit's end; the latest visit that began before it.
    for (auto v = s.visits.rbegin(); v != s.visits.rend(); ++v) {
      if (profile.created_s * s.options.fps < v->first_frame) continue;
      if (v->appearances.size() == 1 && profile.created_s * s.options.fps <= v->last_frame + 2.5 * s.options.fps)
        out[profile.id] = s.appearances[static_cast<std::size_t>(v->appearances.front())].person;
      break;
    }
  }
  return out;
}

struct Profiles {
  std::map<Uuid, const ObservedProfile*> by_id;
  std::map<Uuid, int> unknown_number;  // 1, 2, ... in creation order

  explicit Profiles(const RecognitionRun& run) {
    for (const ObservedProfile& p : run.profiles) {
      by_id[p.id] = &p;
      if (!p.person) unknown_number.emplace(p.id, static_cast<int>(unknown_number.size()) + 1);
    }
  }
  // The enrolled person a profile is, or nullopt for an unknown one.
  std::optional<int> person(const Uuid& id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? std::nullopt : it->second->person;
  }
  std::string name(const Scenario& s, const Uuid& id, const std::map<Uuid, int>& owner) const {
    if (auto p = person(id)) return s.people[static_cast<std::size_t>(*p)].name;
    auto number = unknown_number.find(id);
    auto of = owner.find(id);
    return "unknown " + (number == unknown_number.end() ? std::string("?") : std::to_string(number->second)) + " (of " +
           (of == owner.end() ? std::string("nobody known") : s.people[static_cast<std::size_t>(of->second)].name) + ")";
  }
};

// Whether `profile` is `person`: their enrolled profile, or an unknown one
// that is theirs.
bool names_rightly(const Profiles& profiles, const std::map<Uuid, int>& owner, const Uuid& profile, int person) {
  if (auto enrolled = profiles.person(profile)) return *enrolled == person;
  auto of = owner.find(profile);
  return of != owner.end() && of->second == person;
}

// When a stranger's second visit begins, in video seconds (never, without one).
double second_visit_start_s(const Scenario& s, int person) {
  double start = std::numeric_limits<double>::infinity();
  for (const Appearance& a : s.appearances)
    if (a.person == person && a.round == 2) start = std::min(start, a.first_frame / s.options.fps);
  return start;
}

}  // namespace

RecognitionScore score_recognition(const Scenario& s, const RecognitionRun& run, const ScoreOptions& o) {
  RecognitionScore score;
  score.appearances.resize(s.appearances.size());
  std::vector<int> appearance(run.sightings.size());
  for (std::size_t i = 0; i < run.sightings.size(); ++i)
    appearance[i] = appearance_of(s, run.sightings[i].video_s, run.sightings[i].box, o.slack_s, o.slack_s);
  const Profiles profiles(run);
  const std::map<Uuid, int> owner = owners(s, run, appearance, false);
  const std::map<Uuid, int> published_owner = owners(s, run, appearance, true);
  for (const ObservedUncertain& u : run.uncertain) {
    const int a = appearance_of(s, u.video_s, u.box, o.slack_s, o.slack_s + o.latency_s);
    if (a == kNobody) continue;
    AppearanceScore& result = score.appearances[static_cast<std::size_t>(a)];
    ++result.uncertain;
    for (const auto& [profile, distance] : u.candidates) {
      auto [it, added] = result.uncertain_between.emplace(profiles.name(s, profile, published_owner), distance);
      if (!added) it->second = std::min(it->second, distance);
    }
  }

  std::vector<double> first_named(s.appearances.size(), -1);
  // Per stranger and unknown profile of theirs: the rounds it was named on.
  std::map<std::pair<int, Uuid>, std::pair<bool, bool>> stranger_rounds;
  for (std::size_t i = 0; i < run.sightings.size(); ++i) {
    const ObservedSighting& sighting = run.sightings[i];
    if (appearance[i] == kNobody) {
      ++score.sightings_outside_visits;
      continue;
    }
    const auto a = static_cast<std::size_t>(appearance[i]);
    const Appearance& in_view = s.appearances[a];
    const Person& person = s.people[static_cast<std::size_t>(in_view.person)];
    AppearanceScore& result = score.appearances[a];
    ++result.sightings;
    result.named_as.push_back(profiles.name(s, sighting.profile, owner));
    const bool right = names_rightly(profiles, owner, sighting.profile, in_view.person);
    const bool right_published = names_rightly(profiles, published_owner, sighting.first_profile, in_view.person);
    if (!right) {
      ++score.wrong_names;
      score.wrong.push_back({person.name, result.named_as.back(), sighting.video_s, sighting.distance, sighting.margin, false});
    }
    if (!right_published) {
      ++score.wrong_names_published;
      if (right || sighting.first_profile != sighting.profile)
        score.wrong.push_back({person.name, profiles.name(s, sighting.first_profile, published_owner), sighting.video_s,
                               sighting.distance, sighting.margin, true});
    }
    if (!right) continue;
    if (person.enrolled && profiles.person(sighting.profile)) {
      if (first_named[a] < 0 || sighting.named_s < first_named[a]) first_named[a] = sighting.named_s;
      result.named = true;
    } else if (!person.enrolled) {
      result.named = true;
      auto& rounds = stranger_rounds[{in_view.person, sighting.profile}];
      (in_view.round == 1 ? rounds.first : rounds.second) = true;
    }
  }

  for (std::size_t a = 0; a < s.appearances.size(); ++a) {
    const Appearance& appearance_a = s.appearances[a];
    if (!s.people[static_cast<std::size_t>(appearance_a.person)].enrolled) continue;
    ++score.enrolled_appearances;
    if (!score.appearances[a].named) continue;
    ++score.named_correctly;
    const double usable_s = s.first_usable_frame(appearance_a) / s.options.fps;
    score.appearances[a].named_s = first_named[a];
    const double time = std::max(0.0, first_named[a] - usable_s);
    score.appearances[a].time_to_name_s = time;
    score.times_to_name_s.push_back(time);
    if (time <= o.named_within_s) ++score.named_within;
  }

  for (int p = 0; p < static_cast<int>(s.people.size()); ++p)
    if (!s.people[static_cast<std::size_t>(p)].enrolled) score.strangers.push_back({s.people[static_cast<std::size_t>(p)].name, 0, false});
  for (const ObservedProfile& profile : run.profiles) {
    if (profile.person || !profile.exists) continue;
    ++score.unknown_profiles;
    auto of = owner.find(profile.id);
    if (of == owner.end()) {
      ++score.unattributed_unknown;
      continue;
    }
    const Person& person = s.people[static_cast<std::size_t>(of->second)];
    if (person.enrolled) {
      ++score.enrolled_as_unknown;
      continue;
    }
    for (StrangerScore& stranger : score.strangers) {
      if (stranger.name != person.name) continue;
      ++stranger.unknown_profiles;
      // Remembered from the first visit: named there, or made from it (the
      // profile may be created only after the face left, with no sighting
      // of that visit), and named again on the second.
      auto rounds = stranger_rounds.find({of->second, profile.id});
      const bool made_before_second = profile.created_s < second_visit_start_s(s, of->second);
      if (rounds != stranger_rounds.end() && (rounds->second.first || made_before_second) && rounds->second.second)
        stranger.re_recognised = true;
    }
  }
  return score;
}

}  // namespace safelynx::app
