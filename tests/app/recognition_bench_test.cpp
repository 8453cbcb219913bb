// The pure parts of `safelynx bench recognition`: the scenario it renders
// (who walks through when, where, how large) and the scorer that holds the
// pipeline's sightings against it. The rendering test needs the dev set of
// ../shared/testdata and skips without it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "app/recognition_render.hpp"
#include "app/recognition_scenario.hpp"
#include "app/recognition_score.hpp"
#include "pipeline/frame_source.hpp"

namespace safelynx::app {
namespace {

namespace fs = std::filesystem;

// Twelve made-up people of 40 photos: the scenario only lists paths.
std::vector<Identity> identities(int people = 12, int photos = 40) {
  std::vector<Identity> out;
  for (int p = 0; p < people; ++p) {
    Identity identity{"person_" + std::to_string(p), {}};
    for (int i = 0; i < photos; ++i) identity.photos.push_back("dev/person_" + std::to_string(p) + "/" + std::to_string(i) + ".jpg");
    out.push_back(identity);
  }
  return out;
}

Scenario scenario(std::uint64_t seed) {
  ScenarioOptions options;
  options.seed = seed;
  return make_scenario(identities(), options);
}

const Appearance& appearance_of(const Scenario& s, int person, int round = 1) {
  for (const Appearance& a : s.appearances)
    if (a.person == person && a.round == round) return a;
  throw std::logic_error("no such appearance");
}

bool boxes_touch(const Box& a, const Box& b) {
  return a.x < b.right() && b.x < a.right() && a.y < b.bottom() && b.y < a.bottom();
}

TEST(RecognitionScenario, EveryStrangerVisitsTwiceWithAnotherVisitBetween) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Scenario s = scenario(seed);
    ASSERT_EQ(s.people.size(), 10u);
    int enrolled_appearances = 0;
    for (int p = 0; p < 10; ++p) {
      const Person& person = s.people[static_cast<std::size_t>(p)];
      int count = 0;
      for (const Appearance& a : s.appearances) count += a.person == p;
      if (person.enrolled) {
        EXPECT_EQ(count, 1) << person.name;
        enrolled_appearances += count;
        continue;
      }
      ASSERT_EQ(count, 2) << person.name << " (seed " << seed << ")";
      EXPECT_GE(appearance_of(s, p, 2).visit, appearance_of(s, p, 1).visit + 2) << person.name << " (seed " << seed << ")";
    }
    EXPECT_EQ(enrolled_appearances, 6);
  }
}

TEST(RecognitionScenario, VisitsAreAtLeastASecondApartAndAboutThreeSecondsLong) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Scenario s = scenario(seed);
    const double fps = s.options.fps;
    ASSERT_FALSE(s.visits.empty());
    EXPECT_GE(s.visits.front().first_frame, fps);  // an empty scene first
    for (std::size_t v = 0; v < s.visits.size(); ++v) {
      const Visit& visit = s.visits[v];
      const double length_s = (visit.last_frame - visit.first_frame + 1) / fps;
      EXPECT_GE(length_s, 2.6);
      EXPECT_LE(length_s, 3.4);
      if (v == 0) continue;
      EXPECT_GE((visit.first_frame - s.visits[v - 1].last_frame - 1) / fps, 1.0) << "seed " << seed;
    }
    EXPECT_GE((s.frames - s.visits.back().last_frame - 1) / fps, 1.0);
  }
}

TEST(RecognitionScenario, FacesStayBetween60And200PxAndEnterAndLeaveTheEdges) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Scenario s = scenario(seed);
    for (const Appearance& a : s.appearances) {
      for (int f = a.first_frame; f <= a.last_frame; ++f) {
        const Box box = a.box_at(f);
        EXPECT_GE(box.width, 60.0f);
        EXPECT_LE(box.width, 200.0f);
        EXPECT_GE(box.y, 0.0f);
        EXPECT_LE(box.bottom(), 480.0f);
      }
      EXPECT_FALSE(s.in_view(a.box_at(a.first_frame)));  // half cut off by the edge
      const int usable = s.first_usable_frame(a);
      EXPECT_GT(usable, a.first_frame);
      EXPECT_LT(usable, a.last_frame);
      EXPECT_TRUE(s.in_view(a.box_at(usable)));
    }
  }
}

TEST(RecognitionScenario, TwoPeopleInOneVisitNeverOverlap) {
  int pairs = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Scenario s = scenario(seed);
    int pairs_here = 0;
    for (const Visit& visit : s.visits) {
      ASSERT_LE(visit.appearances.size(), 2u);
      if (visit.appearances.size() < 2) continue;
      ++pairs_here;
      const Appearance& a = s.appearances[static_cast<std::size_t>(visit.appearances[0])];
      const Appearance& b = s.appearances[static_cast<std::size_t>(visit.appearances[1])];
      EXPECT_NE(a.person, b.person);
      for (int f = visit.first_frame; f <= visit.last_frame; ++f)
        EXPECT_FALSE(boxes_touch(a.box_at(f), b.box_at(f))) << "seed " << seed << " frame " << f;
    }
    EXPECT_GE(pairs_here, 1) << "seed " << seed;
    pairs += pairs_here;
  }
  EXPECT_GE(pairs, 20);
}

TEST(RecognitionScenario, EnrolledPhotosAreNeverShownAndStrangersShowNewPhotosOnTheirSecondVisit) {
  const Scenario s = scenario(3);
  for (const Person& person : s.people) {
    const std::set<fs::path> enrolled(person.enrol_photos.begin(), person.enrol_photos.end());
    EXPECT_EQ(enrolled.size(), person.enrolled ? 5u : 0u);
    for (const fs::path& shown : person.video_photos) EXPECT_FALSE(enrolled.count(shown)) << shown;
  }
  for (int p = 0; p < static_cast<int>(s.people.size()); ++p) {
    if (s.people[static_cast<std::size_t>(p)].enrolled) continue;
    const Appearance& first = appearance_of(s, p, 1);
    const Appearance& second = appearance_of(s, p, 2);
    const std::set<int> before(first.photos.begin(), first.photos.end());
    for (int photo : second.photos) EXPECT_FALSE(before.count(photo));
  }
}

TEST(RecognitionScenario, TheSameSeedGivesTheSameScenario) {
  const Scenario a = scenario(7), b = scenario(7), c = scenario(8);
  ASSERT_EQ(a.appearances.size(), b.appearances.size());
  EXPECT_EQ(a.frames, b.frames);
  for (std::size_t i = 0; i < a.people.size(); ++i) {
    EXPECT_EQ(a.people[i].name, b.people[i].name);
    EXPECT_EQ(a.people[i].video_photos, b.people[i].video_photos);
  }
  for (std::size_t i = 0; i < a.appearances.size(); ++i) {
    EXPECT_EQ(a.appearances[i].first_frame, b.appearances[i].first_frame);
    EXPECT_EQ(a.appearances[i].size_from, b.appearances[i].size_from);
    EXPECT_EQ(a.appearances[i].y, b.appearances[i].y);
    EXPECT_EQ(a.appearances[i].photos, b.appearances[i].photos);
  }
  bool differs = a.frames != c.frames || a.appearances.size() != c.appearances.size();
  for (std::size_t i = 0; !differs && i < a.people.size(); ++i) differs = a.people[i].name != c.people[i].name;
  EXPECT_TRUE(differs);
}

TEST(RecognitionScenario, TooFewPeopleOrPhotosAreRefused) {
  ScenarioOptions options;
  EXPECT_THROW(make_scenario(identities(9), options), std::invalid_argument);
  EXPECT_THROW(make_scenario(identities(12, 5), options), std::invalid_argument);  // 5 shots leave none to show
}

// The scorer, on sightings made up from the ground truth.
class RecognitionScoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ScenarioOptions options;
    options.seed = 11;
    options.enrolled = 3;
    options.strangers = 2;
    s = make_scenario(identities(), options);
    for (int p = 0; p < options.enrolled; ++p) {
      enrolled.push_back(Uuid::random());
      run.profiles.push_back({enrolled.back(), p, true, 0});
    }
  }
  // A sighting of the appearance's face, `after_usable_s` after its first usable frame.
  ObservedSighting seen(const Appearance& a, const Uuid& profile, double after_usable_s = 0.2) {
    const double t = s.first_usable_frame(a) / s.options.fps + after_usable_s;
    const Box box = a.box_at(static_cast<int>(t * s.options.fps));
    return {Uuid::random(), profile, profile, t, t, box, 0.4f, 0.2f};
  }
  Uuid unknown_profile(double created_s) {
    const Uuid id = Uuid::random();
    run.profiles.push_back({id, std::nullopt, true, created_s});
    return id;
  }
  int stranger(int k) const { return 3 + k; }  // the strangers follow the enrolled

  Scenario s;
  RecognitionRun run;
  std::vector<Uuid> enrolled;
};

TEST_F(RecognitionScoreTest, RightNamesAreTimedFromTheFirstUsableFrame) {
  const double after[] = {0.3, 0.9, 1.4};
  for (int p = 0; p < 3; ++p) run.sightings.push_back(seen(appearance_of(s, p), enrolled[static_cast<std::size_t>(p)], after[p]));
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.enrolled_appearances, 3);
  EXPECT_EQ(score.named_correctly, 3);
  EXPECT_EQ(score.named_within, 2);  // 1.4 s is late
  ASSERT_EQ(score.times_to_name_s.size(), 3u);
  const auto first = static_cast<std::size_t>(&appearance_of(s, 0) - s.appearances.data());
  ASSERT_TRUE(score.appearances[first].time_to_name_s);
  EXPECT_NEAR(*score.appearances[first].time_to_name_s, 0.3, 1e-9);
  EXPECT_EQ(score.wrong_names, 0);
}

TEST_F(RecognitionScoreTest, ANameOfSomeoneElseIsAWrongName) {
  run.sightings.push_back(seen(appearance_of(s, 0), enrolled[1]));
  run.sightings.push_back(seen(appearance_of(s, stranger(0)), enrolled[2]));
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.wrong_names, 2);
  EXPECT_EQ(score.wrong_names_published, 2);
  ASSERT_EQ(score.wrong.size(), 2u);
  EXPECT_EQ(score.wrong[0].person, s.people[0].name);
  EXPECT_EQ(score.wrong[0].named_as, s.people[1].name);
  EXPECT_FALSE(score.wrong[0].corrected);
  EXPECT_EQ(score.named_correctly, 0);
}

TEST_F(RecognitionScoreTest, AWrongNameCorrectedLaterStillCountsAsPublished) {
  ObservedSighting sighting = seen(appearance_of(s, 0), enrolled[0]);
  sighting.first_profile = enrolled[1];
  sighting.named_s += 0.4;
  run.sightings.push_back(sighting);
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.wrong_names, 0);
  EXPECT_EQ(score.wrong_names_published, 1);
  ASSERT_EQ(score.wrong.size(), 1u);
  EXPECT_TRUE(score.wrong[0].corrected);
  EXPECT_EQ(score.named_correctly, 1);
}

TEST_F(RecognitionScoreTest, AStrangerWithTwoUnknownProfilesIsCountedAndNotReRecognised) {
  const Appearance& first = appearance_of(s, stranger(0), 1);
  const Appearance& second = appearance_of(s, stranger(0), 2);
  const Uuid u1 = unknown_profile(first.first_frame / s.options.fps + 1);
  const Uuid u2 = unknown_profile(second.first_frame / s.options.fps + 1);
  run.sightings.push_back(seen(first, u1));
  run.sightings.push_back(seen(second, u2));
  // The other stranger: one profile, named again on the second visit.
  const Uuid u3 = unknown_profile(appearance_of(s, stranger(1), 1).first_frame / s.options.fps + 1);
  run.sightings.push_back(seen(appearance_of(s, stranger(1), 1), u3));
  run.sightings.push_back(seen(appearance_of(s, stranger(1), 2), u3));
  const RecognitionScore score = score_recognition(s, run);
  ASSERT_EQ(score.strangers.size(), 2u);
  EXPECT_EQ(score.strangers[0].name, s.people[static_cast<std::size_t>(stranger(0))].name);
  EXPECT_EQ(score.strangers[0].unknown_profiles, 2);
  EXPECT_FALSE(score.strangers[0].re_recognised);
  EXPECT_EQ(score.strangers[1].unknown_profiles, 1);
  EXPECT_TRUE(score.strangers[1].re_recognised);
  EXPECT_FALSE(score.all_strangers_once());
  EXPECT_EQ(score.unknown_profiles, 3);
  EXPECT_EQ(score.wrong_names, 0);
}

TEST_F(RecognitionScoreTest, AProfileMadeAfterTheFirstVisitAndNamedOnTheSecondIsReRecognised) {
  const Appearance& first = appearance_of(s, stranger(0), 1);
  const Appearance& second = appearance_of(s, stranger(0), 2);
  // Made once the face had left (no sighting of the first visit), before the second.
  const Uuid remembered = unknown_profile(first.last_frame / s.options.fps + 1);
  run.sightings.push_back(seen(second, remembered));
  // The other stranger's profile is made only during their second visit: new, not remembered.
  const Appearance& late = appearance_of(s, stranger(1), 2);
  const Uuid made_late = unknown_profile(late.first_frame / s.options.fps + 1);
  run.sightings.push_back(seen(late, made_late));
  const RecognitionScore score = score_recognition(s, run);
  ASSERT_EQ(score.strangers.size(), 2u);
  EXPECT_EQ(score.strangers[0].unknown_profiles, 1);
  EXPECT_TRUE(score.strangers[0].re_recognised);
  EXPECT_EQ(score.strangers[1].unknown_profiles, 1);
  EXPECT_FALSE(score.strangers[1].re_recognised);
}

TEST_F(RecognitionScoreTest, AnUnknownProfileOfOneStrangerNamingAnotherIsAWrongName) {
  const Uuid u = unknown_profile(appearance_of(s, stranger(0)).first_frame / s.options.fps + 1);
  run.sightings.push_back(seen(appearance_of(s, stranger(0), 1), u));
  run.sightings.push_back(seen(appearance_of(s, stranger(0), 2), u));
  run.sightings.push_back(seen(appearance_of(s, stranger(1), 1), u));
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.wrong_names, 1);
  ASSERT_EQ(score.wrong.size(), 1u);
  EXPECT_EQ(score.wrong[0].person, s.people[static_cast<std::size_t>(stranger(1))].name);
  EXPECT_EQ(score.wrong[0].named_as, "unknown 1 (of " + s.people[static_cast<std::size_t>(stranger(0))].name + ")");
  EXPECT_EQ(score.strangers[1].unknown_profiles, 0);
}

TEST_F(RecognitionScoreTest, ASightingOutsideEveryVisitIsIgnored) {
  ObservedSighting stray = seen(appearance_of(s, 0), enrolled[1]);
  stray.video_s = stray.named_s = s.visits.front().first_frame / s.options.fps - 0.5;  // the empty scene before
  run.sightings.push_back(stray);
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.sightings_outside_visits, 1);
  EXPECT_EQ(score.wrong_names, 0);
  EXPECT_EQ(score.named_correctly, 0);
}

TEST_F(RecognitionScoreTest, InAPairEachSightingBelongsToTheFaceItsBoxCovers) {
  const Visit* pair = nullptr;
  for (const Visit& v : s.visits)
    if (v.appearances.size() == 2) pair = &v;
  ASSERT_NE(pair, nullptr);
  for (int a : pair->appearances) {
    const Appearance& appearance = s.appearances[static_cast<std::size_t>(a)];
    const bool is_enrolled = s.people[static_cast<std::size_t>(appearance.person)].enrolled;
    const Uuid profile = is_enrolled ? enrolled[static_cast<std::size_t>(appearance.person)]
                                     : unknown_profile(appearance.first_frame / s.options.fps + 1);
    run.sightings.push_back(seen(appearance, profile));
  }
  const RecognitionScore score = score_recognition(s, run);
  EXPECT_EQ(score.wrong_names, 0);
  for (int a : pair->appearances) EXPECT_EQ(score.appearances[static_cast<std::size_t>(a)].sightings, 1);
}

TEST_F(RecognitionScoreTest, UncertainFacesCountForTheAppearanceTheyWereAnnouncedIn) {
  const Appearance& a = appearance_of(s, 0);
  const ObservedSighting at = seen(a, enrolled[0]);
  run.uncertain.push_back({at.video_s + 0.3, at.box, {{enrolled[1], 0.55f}, {enrolled[0], 0.57f}}});
  run.uncertain.push_back({at.video_s + 0.6, at.box, {{enrolled[1], 0.52f}}});
  const RecognitionScore score = score_recognition(s, run);
  const auto index = static_cast<std::size_t>(&a - s.appearances.data());
  EXPECT_EQ(score.appearances[index].uncertain, 2);
  EXPECT_FLOAT_EQ(score.appearances[index].uncertain_between.at(s.people[1].name), 0.52f);
  EXPECT_FLOAT_EQ(score.appearances[index].uncertain_between.at(s.people[0].name), 0.57f);
  EXPECT_EQ(score.wrong_names, 0);  // uncertain is not a name
}

TEST(FrameClock, MapsWallTimesToVideoTimeFromTheCapturedFrames) {
  FrameClock clock(25);
  const TimePoint t0 = from_unix_ms(1'000'000);
  clock.add(t0, 0);
  clock.add(t0 + std::chrono::milliseconds(1100), 25);  // the camera lost 100 ms of pace
  EXPECT_NEAR(clock.video_s(t0 + std::chrono::milliseconds(40)), 0.04, 1e-9);
  EXPECT_NEAR(clock.video_s(t0 + std::chrono::milliseconds(1140)), 1.04, 1e-9);
  EXPECT_NEAR(clock.video_s(t0 - std::chrono::milliseconds(40)), -0.04, 1e-9);
}

TEST(RecognitionRender, TheVideoReadsBackFrameForFrameWithFacesWhereTheScenarioPutsThem) {
  const char* env = std::getenv("SAFELYNX_TESTDATA");
  const fs::path dev = fs::path(env ? env : SAFELYNX_TESTDATA_DIR) / "celebrities-dev";
  if (!fs::exists(dev / "README.md")) GTEST_SKIP() << "the dev set is not at " << dev << " (shared test data)";
  ScenarioOptions options;
  options.enrolled = 2;
  options.strangers = 1;
  options.visit_s = 1;
  const Scenario s = make_scenario(list_identities(dev), options);
  const fs::path dir = fs::temp_directory_path() / ("safelynx-render-test-" + Uuid::random().to_string());
  fs::create_directories(dir);
  write_scenario_video(s, dir / "v.avi");
  pipeline::VideoFileSource source(dir / "v.avi", {false, false, {dir}});
  source.open();
  const cv::Mat background = textured_background(640, 480, options.seed);
  int frames = 0;
  while (auto frame = source.read()) {
    ASSERT_EQ(frame->cols, 640);
    ASSERT_EQ(frame->rows, 480);
    for (const Appearance& a : s.appearances) {
      if (frames != s.first_usable_frame(a)) continue;
      const Box box = a.box_at(frames);
      const cv::Rect inside(static_cast<int>(box.x + box.width / 4), static_cast<int>(box.y + box.height / 4),
                            static_cast<int>(box.width / 2), static_cast<int>(box.height / 2));
      EXPECT_GT(cv::norm((*frame)(inside), background(inside), cv::NORM_L1) / inside.area(), 20.0) << "frame " << frames;
    }
    ++frames;
  }
  EXPECT_EQ(frames, s.frames);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace safelynx::app
