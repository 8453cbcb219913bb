// The ground truth of `safelynx bench recognition`: who walks through the
// picture when, where and how large, drawn from a seed. Pure: no OpenCV,
// no files but the listing of the dev set (list_identities), so the scorer
// and the tests can reason about it without rendering anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "domain/face.hpp"

namespace safelynx::app {

// A folder of the dev set: one person's photos, sorted by name.
struct Identity {
  std::string name;
  std::vector<std::filesystem::path> photos;
};

// DIR/<person>/<photo>.jpg|png, people and photos sorted; throws
// std::invalid_argument when DIR is not a folder.
std::vector<Identity> list_identities(const std::filesystem::path& dir);

struct ScenarioOptions {
  std::uint64_t seed = 1;
  int enrolled = 6;   // people enrolled before the video plays
  int strangers = 4;  // people never enrolled; each visits twice
  int shots = 5;      // photos enrolled per enrolled person (never shown in the video)
  int width = 640;
  int height = 480;
  double fps = 25;
  double visit_s = 3.0;     // each visit lasts this, +-10%
  double gap_s = 1.0;       // empty scene before, between and after the visits
  double pair_share = 0.3;  // chance that a visit takes the next person along
  float min_face = 60;      // side of the pasted face, px
  float max_face = 200;
  int photo_frames = 10;  // a person's photo changes about this often (+-2 frames)
};

struct Person {
  std::string name;
  bool enrolled = false;
  std::vector<std::filesystem::path> enrol_photos;  // enrolled people only
  std::vector<std::filesystem::path> video_photos;  // never one of enrol_photos
};

// One person crossing the picture during one visit, left to right or back,
// the face's centre going from one edge to the other (so it enters and
// leaves half cut off) while its size changes linearly.
struct Appearance {
  int person = 0;  // into Scenario::people
  int visit = 0;   // into Scenario::visits
  int round = 1;   // a stranger's first or second visit; 1 for the enrolled
  int first_frame = 0;
  int last_frame = 0;  // inclusive
  float size_from = 0, size_to = 0;
  float x_from = 0, x_to = 0;  // centre
  float y = 0;                 // centre
  std::vector<int> photos;     // into the person's video_photos, one per photo period
  int photo_period = 10;

  // The pasted face at `frame` (which may lie partly outside the picture).
  Box box_at(int frame) const;
  int photo_at(int frame) const;  // into the person's video_photos
};

struct Visit {
  int first_frame = 0;
  int last_frame = 0;            // inclusive
  std::vector<int> appearances;  // into Scenario::appearances; two for a pair, apart
};

struct Scenario {
  ScenarioOptions options;
  std::vector<Person> people;  // the enrolled first, then the strangers
  std::vector<Appearance> appearances;
  std::vector<Visit> visits;
  int frames = 0;

  // The first frame at which the face is at least min_face and wholly in the
  // picture: from there on a detector can be expected to find and describe it.
  int first_usable_frame(const Appearance& appearance) const;
  bool in_view(const Box& box) const;
};

// Chooses the people (enrolled and strangers from distinct identities), the
// photos and the visits; the same identities and options give the same
// scenario. Every stranger visits twice, with at least one other visit in
// between; at least one visit has two people when pair_share > 0 and there are
// three people or more. Throws std::invalid_argument when there are too few identities
// or photos for the options.
Scenario make_scenario(const std::vector<Identity>& identities, const ScenarioOptions& options);

}  // namespace safelynx::app
