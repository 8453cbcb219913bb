// The gallery service against a real SQLite database, media folder and
// index: each operation leaves the four stores agreeing.
#include "gallery/gallery.hpp"
#include "gallery/feedback.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <variant>

#include "index/tiered_index.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::gallery {
namespace {

namespace fs = std::filesystem;

FaceSample face(float value, float quality, std::string photo = "") {
  FaceSample sample;
  sample.descriptor.fill(value);
  sample.quality = quality;
  sample.photo_jpeg = std::move(photo);
  return sample;
}

std::vector<float> qualities_of(storage::Database& database, const Uuid& id) {
  std::vector<float> qualities;
  for (const StoredEmbedding& e : database.profiles().embeddings_of(id)) qualities.push_back(e.quality);
  std::sort(qualities.rbegin(), qualities.rend());
  return qualities;
}

class GalleryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("safelynx-gallery-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    database_ = storage::open_sqlite_database(dir_ / "safelynx.db", {});
    media_ = std::make_unique<storage::MediaStore>(dir_);
    subscription_ = events_.subscribe([this](const DomainEvent& event) { events_seen_.push_back(event.payload); });
    gallery_ = std::make_unique<Gallery>(*database_, *media_, index_, events_, GalleryOptions{3});
  }
  void TearDown() override {
    gallery_.reset();
    database_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  template <typename Event>
  std::size_t count() const {
    return static_cast<std::size_t>(std::count_if(events_seen_.begin(), events_seen_.end(),
                                                  [](const EventPayload& e) { return std::holds_alternative<Event>(e); }));
  }

  Profile named(const std::string& name) {
    Profile fields;
    fields.name = name;
    fields.classification = Classification::Known;
    return fields;
  }

  fs::path dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::MediaStore> media_;
  index::TieredIndex index_;
  EventBus events_;
  std::vector<EventPayload> events_seen_;
  EventBus::Subscription subscription_;
  std::unique_ptr<Gallery> gallery_;
};

TEST_F(GalleryTest, CreateStoresTheBestFacesUpToCapacityIndexesThemAndAnnouncesTheProfile) {
  const std::vector<FaceSample> faces{face(0.1f, 0.2f), face(0.1f, 0.9f), face(0.1f, 0.5f), face(0.1f, 0.7f)};
  const Profile profile = gallery_->create(named("ada"), faces, "jpeg bytes");

  EXPECT_FALSE(profile.id.is_nil());
  EXPECT_EQ(profile.name, "ada");
  EXPECT_EQ(profile.embedding_count, 3u);
  EXPECT_EQ(qualities_of(*database_, profile.id), (std::vector<float>{0.9f, 0.7f, 0.5f}));
  EXPECT_EQ(index_.size(), 3u);
  EXPECT_EQ(media_->read(storage::MediaKind::Thumbnail, profile.id), "jpeg bytes");
  EXPECT_TRUE(database_->profiles().find(profile.id)->has_thumbnail);
  EXPECT_EQ(count<ProfileCreated>(), 1u);
}

// face(v) has every component v: 0.01 apart is 0.113 in L2.
MatchRule rule(float threshold) { return MatchRule{threshold, 0.05f, threshold}; }

TEST_F(GalleryTest, MatchNamesTheNearestProfileWithinTheThresholdOnly) {
  const Profile near = gallery_->create(named("near"), std::vector{face(0.1f, 0.5f)}, "");
  gallery_->create(named("far"), std::vector{face(0.14f, 0.5f)}, "");
  const FaceSample query = face(0.11f, 0);

  const GalleryMatch match = gallery_->match(query.descriptor, rule(0.6f));
  ASSERT_TRUE(match.named());
  EXPECT_EQ(match.named()->id, near.id);
  EXPECT_NEAR(match.decision.distance, std::sqrt(128 * 0.01f * 0.01f), 1e-4);
  ASSERT_EQ(match.candidates.size(), 2u);
  EXPECT_EQ(match.candidates[1].profile.name, "far");
  EXPECT_FALSE(gallery_->match(query.descriptor, rule(0.05f)).named());
  EXPECT_EQ(gallery_->match(query.descriptor, rule(0.05f)).decision.verdict, MatchVerdict::Stranger);
}

TEST_F(GalleryTest, MatchCanLeaveOutOneProfile) {
  const Profile own = gallery_->create(named("own"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile other = gallery_->create(named("other"), std::vector{face(0.102f, 0.5f)}, "");
  const FaceSample query = face(0.1f, 0);
  // Both near: neither clearly nearer, so nobody is named.
  EXPECT_EQ(gallery_->match(query.descriptor, rule(0.6f)).decision.verdict, MatchVerdict::Uncertain);
  const GalleryMatch without_own = gallery_->match(query.descriptor, rule(0.6f), own.id);
  ASSERT_TRUE(without_own.named());
  EXPECT_EQ(without_own.named()->id, other.id);
}

TEST_F(GalleryTest, AddFacesPushesOutTheWorstAtCapacityAndKeepsTheIndexInStep) {
  Profile profile = gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f), face(0.1f, 0.4f), face(0.1f, 0.5f)}, "");
  const auto stored = database_->profiles().embeddings_of(profile.id);
  const auto worst = std::min_element(stored.begin(), stored.end(), [](const auto& a, const auto& b) {
                       return a.quality < b.quality;
                     })->id;
  int thumbnails_asked = 0;
  const FacesAdded added = gallery_->add_faces(profile.id, std::vector{face(0.1f, 0.9f), face(0.1f, 0.1f)}, [&] {
    ++thumbnails_asked;
    return std::string("new thumbnail");
  });

  EXPECT_EQ(added.added, 1u);
  EXPECT_EQ(added.evicted, 1u);
  EXPECT_EQ(qualities_of(*database_, profile.id), (std::vector<float>{0.9f, 0.5f, 0.4f}));
  EXPECT_EQ(index_.size(), 3u);
  EXPECT_FALSE(index_.contains(worst));
  EXPECT_EQ(thumbnails_asked, 1);  // the profile had none
  EXPECT_TRUE(added.profile.has_thumbnail);
  EXPECT_EQ(count<ProfileUpdated>(), 1u);
  EXPECT_THROW(gallery_->add_faces(Uuid::random(), std::vector{face(0.1f, 0.9f)}, {}), storage::NotFoundError);
}

TEST_F(GalleryTest, MergeMovesTheSourcesIntoTheTargetTrimsItAndDeletesTheirThumbnails) {
  const Profile target = gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f), face(0.1f, 0.8f)}, "t");
  const Profile source = gallery_->create(named("ada again"), std::vector{face(0.2f, 0.6f), face(0.2f, 0.2f)}, "s");

  const MergeResult result = gallery_->merge(target.id, {source.id});

  EXPECT_EQ(result.target.id, target.id);
  ASSERT_EQ(result.sources.size(), 1u);
  EXPECT_EQ(result.sources.front().name, "ada again");
  EXPECT_EQ(result.merged.embedding_count, 3u);
  EXPECT_EQ(qualities_of(*database_, target.id), (std::vector<float>{0.8f, 0.6f, 0.3f}));
  EXPECT_EQ(index_.size(), 3u);
  EXPECT_EQ(index_.profile_count(), 1u);
  EXPECT_FALSE(database_->profiles().find(source.id));
  EXPECT_FALSE(media_->exists(storage::MediaKind::Thumbnail, source.id));
  EXPECT_TRUE(media_->exists(storage::MediaKind::Thumbnail, target.id));
  EXPECT_EQ(gallery_->match(face(0.2f, 0).descriptor, rule(0.01f)).named()->id, target.id);
  EXPECT_EQ(count<ProfilesMerged>(), 1u);

  EXPECT_THROW(gallery_->merge(target.id, {Uuid::random()}), storage::NotFoundError);
  EXPECT_THROW(gallery_->merge(target.id, {target.id}), std::invalid_argument);
}

Profile with(std::optional<std::string> name, Classification classification, std::vector<std::string> tags = {},
             std::string notes = "") {
  Profile fields;
  fields.name = std::move(name);
  fields.classification = classification;
  fields.tags = std::move(tags);
  fields.notes = std::move(notes);
  return fields;
}

TEST_F(GalleryTest, MergingAFlaggedSourceIntoAKnownTargetStaysFlaggedAndCombinesTagsAndNotes) {
  const Profile target = gallery_->create(with("ada", Classification::Known, {"staff"}, "works nights"),
                                          std::vector{face(0.1f, 0.5f)}, "");
  const Profile source = gallery_->create(with("intruder", Classification::Flagged, {"banned", "staff"}, "stole a bike"),
                                          std::vector{face(0.11f, 0.5f)}, "");

  const MergeResult result = gallery_->merge(target.id, {source.id});

  const Profile stored = *database_->profiles().find(target.id);
  EXPECT_EQ(stored.classification, Classification::Flagged);
  EXPECT_EQ(stored.name, "ada");
  EXPECT_EQ(stored.tags, (std::vector<std::string>{"banned", "staff"}));
  EXPECT_EQ(stored.notes, "works nights\n\nFrom intruder:\nstole a bike");
  EXPECT_EQ(result.merged.classification, Classification::Flagged);
  std::vector<std::string> fields;
  for (const MergeConflict& c : result.conflicts) fields.push_back(c.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "classification", "notes"}));
}

TEST_F(GalleryTest, MergeTakesTheMostRestrictiveClassificationAndTrustedNeverWinsOverAnother) {
  const auto merged = [&](Classification into, Classification from) {
    const Profile target = gallery_->create(with("a", into), std::vector{face(0.1f, 0.5f)}, "");
    const Profile source = gallery_->create(with("a", from), std::vector{face(0.1f, 0.5f)}, "");
    const Classification result = gallery_->merge(target.id, {source.id}).merged.classification;
    gallery_->remove(target.id);
    return result;
  };
  using C = Classification;
  EXPECT_EQ(merged(C::Trusted, C::Flagged), C::Flagged);
  EXPECT_EQ(merged(C::Flagged, C::Trusted), C::Flagged);
  EXPECT_EQ(merged(C::Unknown, C::Flagged), C::Flagged);
  EXPECT_EQ(merged(C::Trusted, C::Known), C::Known);
  EXPECT_EQ(merged(C::Trusted, C::Unknown), C::Unknown);
  EXPECT_EQ(merged(C::Known, C::Unknown), C::Known);  // a stranger merged into someone known
  EXPECT_EQ(merged(C::Unknown, C::Known), C::Known);
  EXPECT_EQ(merged(C::Trusted, C::Trusted), C::Trusted);
}

TEST_F(GalleryTest, MergeIntoAnUnnamedTargetTakesTheFirstSourcesName) {
  const Profile target = gallery_->create(with(std::nullopt, Classification::Unknown), std::vector{face(0.1f, 0.5f)}, "");
  const Profile first = gallery_->create(with("bea", Classification::Known), std::vector{face(0.1f, 0.5f)}, "");
  const Profile second = gallery_->create(with("cy", Classification::Known), std::vector{face(0.1f, 0.5f)}, "");
  EXPECT_EQ(gallery_->merge(target.id, {first.id, second.id}).merged.name, "bea");
}

TEST_F(GalleryTest, PreviewMergeChangesNothingAndSaysWhatTheMergeWouldDo) {
  const Profile target = gallery_->create(with("ada", Classification::Trusted), std::vector{face(0.1f, 0.5f)}, "");
  const Profile source = gallery_->create(with(std::nullopt, Classification::Unknown, {"night"}),
                                          std::vector{face(0.11f, 0.5f), face(0.12f, 0.6f)}, "");
  events_seen_.clear();

  const MergePlan plan = gallery_->preview_merge(target.id, {source.id});

  EXPECT_EQ(plan.merged.id, target.id);
  EXPECT_EQ(plan.merged.classification, Classification::Unknown);
  EXPECT_EQ(plan.merged.tags, std::vector<std::string>{"night"});
  EXPECT_EQ(plan.merged.embedding_count, 3u);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].field, "classification");
  EXPECT_EQ(plan.conflicts[0].values, (std::vector<std::string>{"trusted", "unknown"}));
  EXPECT_EQ(plan.conflicts[0].resolution, "unknown");
  EXPECT_TRUE(database_->profiles().find(source.id));
  EXPECT_EQ(database_->profiles().find(target.id)->classification, Classification::Trusted);
  EXPECT_TRUE(events_seen_.empty());
  EXPECT_THROW(gallery_->preview_merge(target.id, {Uuid::random()}), storage::NotFoundError);
}

TEST_F(GalleryTest, MergeRefusesNotesOverTheLimitRatherThanCuttingThem) {
  const Profile target = gallery_->create(with("ada", Classification::Known, {}, std::string(kMaxNotesLength - 10, 'a')),
                                          std::vector{face(0.1f, 0.5f)}, "");
  const Profile source = gallery_->create(with("bea", Classification::Flagged, {}, "more notes"),
                                          std::vector{face(0.1f, 0.5f)}, "");
  EXPECT_EQ(gallery_->preview_merge(target.id, {source.id}).over_limits.size(), 1u);
  EXPECT_THROW(gallery_->merge(target.id, {source.id}), std::invalid_argument);
  EXPECT_TRUE(database_->profiles().find(source.id));
}

TEST_F(GalleryTest, SimilarNamesTheOtherProfilesNearestFirstWithinTheRadius) {
  const Profile ada = gallery_->create(named("ada"), std::vector{face(0.1f, 0.5f), face(0.3f, 0.5f)}, "");
  const Profile near = gallery_->create(named("near"), std::vector{face(0.305f, 0.5f)}, "");
  const Profile nearer = gallery_->create(named("nearer"), std::vector{face(0.14f, 0.5f), face(0.101f, 0.5f)}, "");
  gallery_->create(named("far"), std::vector{face(0.6f, 0.5f)}, "");

  const std::vector<Identification> similar = gallery_->similar(ada.id, 5, 0.6f);
  ASSERT_EQ(similar.size(), 2u);
  EXPECT_EQ(similar[0].profile.id, nearer.id);
  EXPECT_NEAR(similar[0].distance, std::sqrt(128 * 0.001f * 0.001f), 1e-4);  // its best embedding
  EXPECT_EQ(similar[1].profile.id, near.id);
  EXPECT_EQ(gallery_->similar(ada.id, 1, 0.6f).size(), 1u);
  EXPECT_TRUE(gallery_->similar(ada.id, 5, 0.001f).empty());
  EXPECT_THROW(gallery_->similar(Uuid::random(), 5, 0.6f), storage::NotFoundError);
}

TEST_F(GalleryTest, RemoveDeletesTheProfileWithItsEmbeddingsSightingsSnapshotsAndThumbnail) {
  const Profile profile = gallery_->create(named("ada"), std::vector{face(0.1f, 0.5f)}, "t");
  Sighting sighting;
  sighting.id = Uuid::random();
  sighting.profile_id = profile.id;
  sighting.camera_id = Uuid::random();
  sighting.time = now_ms();
  sighting.box = {1, 2, 3, 4};
  sighting.has_face_snapshot = sighting.has_frame_snapshot = true;
  media_->write(storage::MediaKind::FaceSnapshot, sighting.id, "face");
  media_->write(storage::MediaKind::FrameSnapshot, sighting.id, "frame");
  database_->sightings().create(sighting);

  const auto removed = gallery_->remove(profile.id);

  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->name, "ada");
  EXPECT_FALSE(database_->profiles().find(profile.id));
  EXPECT_FALSE(database_->sightings().find(sighting.id));
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_FALSE(media_->exists(storage::MediaKind::Thumbnail, profile.id));
  EXPECT_FALSE(media_->exists(storage::MediaKind::FaceSnapshot, sighting.id));
  EXPECT_FALSE(media_->exists(storage::MediaKind::FrameSnapshot, sighting.id));
  EXPECT_EQ(count<ProfileDeleted>(), 1u);
  EXPECT_FALSE(gallery_->remove(profile.id));
}

TEST_F(GalleryTest, RestoreKeepsTheExportedProfileAndRefusesAnIdThatExistsWithoutTouchingItsThumbnail) {
  Profile exported;
  exported.id = Uuid::random();
  exported.name = "ada";
  exported.sighting_count = 7;
  exported.created_at = exported.updated_at = now_ms() - std::chrono::hours(48);
  StoredEmbedding embedding;
  embedding.descriptor.fill(0.3f);
  embedding.quality = 0.5f;
  embedding.created_at = exported.created_at;
  const Profile restored = gallery_->restore(exported, {embedding}, "first");

  EXPECT_EQ(restored.id, exported.id);
  EXPECT_EQ(database_->profiles().find(exported.id)->sighting_count, 7u);
  EXPECT_EQ(database_->profiles().find(exported.id)->created_at, exported.created_at);
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_THROW(gallery_->restore(exported, {embedding}, "second"), storage::ConflictError);
  EXPECT_EQ(media_->read(storage::MediaKind::Thumbnail, exported.id), "first");
  EXPECT_EQ(index_.size(), 1u);
  Profile another = exported;
  another.id = Uuid::random();
  EXPECT_THROW(gallery_->restore(another, std::vector<StoredEmbedding>(4, embedding), ""),
               std::invalid_argument);  // over capacity
}

TEST_F(GalleryTest, RebuildLoadsEveryStoredEmbeddingIntoAnEmptyIndex) {
  const Profile a = gallery_->create(named("a"), std::vector{face(0.1f, 0.5f), face(0.12f, 0.6f)}, "");
  gallery_->create(named("b"), std::vector{face(0.4f, 0.5f)}, "");
  index::TieredIndex fresh;
  Gallery restarted(*database_, *media_, fresh, events_, GalleryOptions{3});

  restarted.rebuild_index();

  EXPECT_EQ(fresh.size(), 3u);
  EXPECT_EQ(fresh.profile_count(), 2u);
  ASSERT_TRUE(restarted.match(face(0.1f, 0).descriptor, rule(0.01f)).named());
  EXPECT_EQ(restarted.match(face(0.1f, 0).descriptor, rule(0.01f)).named()->id, a.id);
}

// face(v) to face(w) is 11.3 * |v - w|: kNegativeExampleRadius (0.45) is 0.04 apart.
TEST_F(GalleryTest, AFaceNearANegativeExampleOfAProfileIsNeverNamedAsItFarFacesStillAre) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const FaceSample near_negative = face(0.12f, 0);  // 0.23 from x, 0.11 from the negative
  const FaceSample far_from_it = face(0.07f, 0);    // 0.34 from x, 0.68 from the negative
  ASSERT_EQ(gallery_->match(near_negative.descriptor, rule(0.6f)).named()->id, x.id);

  const NegativeExample negative = gallery_->add_negative(x.id, face(0.13f, 0).descriptor);
  EXPECT_EQ(negative.profile_key, x.key);
  EXPECT_FALSE(gallery_->match(near_negative.descriptor, rule(0.6f)).named());
  ASSERT_TRUE(gallery_->match(far_from_it.descriptor, rule(0.6f)).named());
  EXPECT_EQ(gallery_->match(far_from_it.descriptor, rule(0.6f)).named()->id, x.id);
  EXPECT_THROW(gallery_->add_negative(Uuid::random(), near_negative.descriptor), storage::NotFoundError);

  // Stored: a gallery opened later keeps applying it.
  Gallery reopened(*database_, *media_, index_, events_, GalleryOptions{3});
  EXPECT_FALSE(reopened.match(near_negative.descriptor, rule(0.6f)).named());

  EXPECT_TRUE(gallery_->remove_negative(negative.id));
  EXPECT_FALSE(gallery_->remove_negative(negative.id));
  EXPECT_EQ(gallery_->match(near_negative.descriptor, rule(0.6f)).named()->id, x.id);
}

TEST_F(GalleryTest, ANegativeExampleLeavesTheRunnerUpToBeNamed) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile y = gallery_->create(named("y"), std::vector{face(0.104f, 0.5f)}, "");
  const FaceSample query = face(0.1f, 0);
  EXPECT_EQ(gallery_->match(query.descriptor, rule(0.6f)).decision.verdict, MatchVerdict::Uncertain);
  gallery_->add_negative(x.id, query.descriptor);
  ASSERT_TRUE(gallery_->match(query.descriptor, rule(0.6f)).named());
  EXPECT_EQ(gallery_->match(query.descriptor, rule(0.6f)).named()->id, y.id);
  // Deleting the profile takes its negative examples along.
  ASSERT_TRUE(gallery_->remove(x.id));
  EXPECT_TRUE(database_->feedback().negatives().empty());
}

class FeedbackServiceTest : public GalleryTest {
 protected:
  void SetUp() override {
    GalleryTest::SetUp();
    feedback_ = std::make_unique<FeedbackService>(*database_, *media_, *gallery_, events_);
  }
  Sighting sighting_of(const Profile& profile, std::optional<float> value) {
    Sighting s;
    s.id = Uuid::random();
    s.profile_id = profile.id;
    s.camera_id = Uuid::random();
    s.time = now_ms();
    if (value) s.descriptor = face(*value, 0).descriptor;
    s.face_quality = 0.8f;
    database_->sightings().create(s);
    return s;
  }
  FeedbackError::Kind error_of(const std::function<void()>& action, const std::string& code) {
    try {
      action();
    } catch (const FeedbackError& error) {
      EXPECT_EQ(error.code(), code) << error.what();
      return error.kind();
    }
    ADD_FAILURE() << "no FeedbackError " << code;
    return FeedbackError::Kind::NotFound;
  }
  std::unique_ptr<FeedbackService> feedback_;
};

TEST_F(FeedbackServiceTest, IsMovesTheSightingAddsItsFaceAndTheUndoTakesBoth) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile u = gallery_->create(Profile{}, std::vector{face(0.5f, 0.5f)}, "");
  const Sighting s = sighting_of(u, 0.11f);
  const FeedbackOutcome given = feedback_->give(s.id, FeedbackVerdict::Is, x.id, rule(0.6f));
  EXPECT_TRUE(given.feedback.added_to_gallery);
  EXPECT_FALSE(given.reason);
  EXPECT_EQ(given.feedback.previous_profile_id, u.id);
  EXPECT_EQ(given.sighting.profile_id, x.id);
  EXPECT_EQ(given.sighting.corrected_from, u.id);
  const auto stored = database_->profiles().embeddings_of(x.id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_TRUE(std::any_of(stored.begin(), stored.end(), [](const StoredEmbedding& e) { return e.quality == 0.8f; }));

  const Feedback undone = feedback_->undo(given.feedback.id);
  EXPECT_TRUE(undone.undone_at);
  EXPECT_EQ(database_->profiles().embeddings_of(x.id).size(), 1u);
  EXPECT_EQ(database_->sightings().find(s.id)->profile_id, u.id);
  EXPECT_EQ(error_of([&] { feedback_->undo(given.feedback.id); }, "already_undone"), FeedbackError::Kind::Conflict);
}

TEST_F(FeedbackServiceTest, IsWithAFaceFarFromEveryEmbeddingMovesTheSightingButKeepsTheGalleryAsItWas) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile u = gallery_->create(Profile{}, std::vector{face(0.5f, 0.5f)}, "");
  const Sighting s = sighting_of(u, 0.2f);  // 1.13 from x: beyond the stranger threshold 0.6
  const FeedbackOutcome given = feedback_->give(s.id, FeedbackVerdict::Is, x.id, rule(0.6f));
  EXPECT_FALSE(given.feedback.added_to_gallery);
  ASSERT_TRUE(given.reason);
  EXPECT_NE(given.reason->find("outlier"), std::string::npos) << *given.reason;
  EXPECT_EQ(given.sighting.profile_id, x.id);
  EXPECT_EQ(database_->profiles().embeddings_of(x.id).size(), 1u);
}

TEST_F(FeedbackServiceTest, IsNotNamesTheRunnerUpWhenTheGalleryCanOtherwiseANewUnknownProfile) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile y = gallery_->create(named("y"), std::vector{face(0.104f, 0.5f)}, "");
  const Sighting to_y = sighting_of(x, 0.1f);
  const FeedbackOutcome moved = feedback_->give(to_y.id, FeedbackVerdict::IsNot, std::nullopt, rule(0.6f));
  EXPECT_EQ(moved.feedback.profile_id, x.id);
  EXPECT_EQ(moved.sighting.profile_id, y.id);
  EXPECT_FALSE(moved.feedback.created_profile_id);
  EXPECT_EQ(database_->feedback().negatives().size(), 1u);

  const Profile z = gallery_->create(named("z"), std::vector{face(0.3f, 0.5f)}, "");
  const Sighting alone = sighting_of(z, 0.3f);
  const FeedbackOutcome created = feedback_->give(alone.id, FeedbackVerdict::IsNot, z.id, rule(0.6f));
  ASSERT_TRUE(created.feedback.created_profile_id);
  EXPECT_EQ(created.sighting.profile_id, *created.feedback.created_profile_id);
  const auto unknown = database_->profiles().find(*created.feedback.created_profile_id);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->classification, Classification::Unknown);
  EXPECT_EQ(unknown->embedding_count, 1u);

  // Undone: the sighting back, the negative example and the new profile gone.
  feedback_->undo(created.feedback.id);
  EXPECT_EQ(database_->sightings().find(alone.id)->profile_id, z.id);
  EXPECT_FALSE(database_->profiles().find(*created.feedback.created_profile_id));
  feedback_->undo(moved.feedback.id);
  EXPECT_EQ(database_->sightings().find(to_y.id)->profile_id, x.id);
  EXPECT_TRUE(database_->feedback().negatives().empty());
}

TEST_F(FeedbackServiceTest, RefusesWhatItCannotDoSayingWhy) {
  const Profile x = gallery_->create(named("x"), std::vector{face(0.1f, 0.5f)}, "");
  const Profile u = gallery_->create(Profile{}, std::vector{face(0.5f, 0.5f)}, "");
  const Sighting old = sighting_of(u, std::nullopt);
  const Sighting s = sighting_of(u, 0.11f);
  EXPECT_EQ(error_of([&] { feedback_->give(old.id, FeedbackVerdict::Is, x.id, rule(0.6f)); }, "no_embedding"),
            FeedbackError::Kind::Conflict);
  EXPECT_EQ(error_of([&] { feedback_->give(s.id, FeedbackVerdict::Is, u.id, rule(0.6f)); }, "already_named"),
            FeedbackError::Kind::Conflict);
  EXPECT_EQ(error_of([&] { feedback_->give(Uuid::random(), FeedbackVerdict::Is, x.id, rule(0.6f)); }, "not_found"),
            FeedbackError::Kind::NotFound);
  EXPECT_EQ(error_of([&] { feedback_->give(s.id, FeedbackVerdict::Is, Uuid::random(), rule(0.6f)); }, "not_found"),
            FeedbackError::Kind::NotFound);
  EXPECT_EQ(error_of([&] { feedback_->undo(Uuid::random()); }, "not_found"), FeedbackError::Kind::NotFound);
  // The profile it named before is gone: the sighting cannot go back.
  const FeedbackOutcome given = feedback_->give(s.id, FeedbackVerdict::Is, x.id, rule(0.6f));
  gallery_->remove(u.id);
  EXPECT_EQ(error_of([&] { feedback_->undo(given.feedback.id); }, "profile_gone"), FeedbackError::Kind::Conflict);
  EXPECT_FALSE(database_->feedback().find(given.feedback.id)->undone_at);
}

// The stored embeddings' photos by quality, best first ("-" for none):
// what each has_photo promises must be on disk.
std::vector<std::string> photos_of(storage::Database& database, storage::MediaStore& media, const Uuid& id) {
  std::vector<StoredEmbedding> embeddings = database.profiles().embeddings_of(id);
  std::sort(embeddings.begin(), embeddings.end(), [](const auto& a, const auto& b) { return a.quality > b.quality; });
  std::vector<std::string> photos;
  for (const StoredEmbedding& e : embeddings) {
    const bool on_disk = fs::exists(media.face_photo_path(e.id));
    EXPECT_EQ(e.has_photo, on_disk) << "embedding " << e.id;
    std::ifstream in(media.face_photo_path(e.id), std::ios::binary);
    photos.push_back(e.has_photo ? std::string(std::istreambuf_iterator<char>(in), {}) : "-");
  }
  return photos;
}

std::size_t photo_files(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir / "faces"), fs::directory_iterator()));
}

TEST_F(GalleryTest, CreateWritesEachKeptFacesPhotoNamedByItsEmbedding) {
  const Profile profile = gallery_->create(
      named("ada"), std::vector{face(0.1f, 0.2f, "worst"), face(0.1f, 0.9f, "best"), face(0.1f, 0.5f), face(0.1f, 0.7f, "good")},
      "");
  EXPECT_EQ(photos_of(*database_, *media_, profile.id), (std::vector<std::string>{"best", "good", "-"}));
  EXPECT_EQ(photo_files(dir_), 2u);  // the face left out has no file
}

TEST_F(GalleryTest, APhotoThatCannotBeWrittenLeavesNoProfileRowsOrFiles) {
  // A fresh database numbers embeddings from 1: the second photo's file
  // cannot be made where a folder holds its temporary name.
  fs::create_directories(dir_ / "faces" / "2.jpg.tmp");
  EXPECT_THROW(gallery_->create(named("ada"), std::vector{face(0.1f, 0.9f, "a"), face(0.1f, 0.8f, "b")}, "thumb"),
               storage::StorageError);
  EXPECT_EQ(database_->profiles().count(), 0u);
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_FALSE(fs::exists(media_->face_photo_path(1)));
  EXPECT_TRUE(fs::is_empty(dir_ / "thumbnails"));
  EXPECT_EQ(count<ProfileCreated>(), 0u);
}

TEST_F(GalleryTest, FacesPushedOutAtCapacityTakeTheirPhotosWithThem) {
  const Profile profile =
      gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f, "p3"), face(0.1f, 0.4f, "p4"), face(0.1f, 0.5f, "p5")}, "");
  gallery_->add_faces(profile.id, std::vector{face(0.1f, 0.9f, "p9"), face(0.1f, 0.8f)}, {});
  EXPECT_EQ(photos_of(*database_, *media_, profile.id), (std::vector<std::string>{"p9", "-", "p5"}));
  EXPECT_EQ(photo_files(dir_), 2u);
}

TEST_F(GalleryTest, MergedFacesKeepTheirPhotosAndTrimmedOnesLoseThem) {
  const Profile target = gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f, "t3"), face(0.1f, 0.8f, "t8")}, "");
  const Profile source = gallery_->create(named("ada 2"), std::vector{face(0.2f, 0.6f, "s6"), face(0.2f, 0.2f, "s2")}, "");
  gallery_->merge(target.id, {source.id});
  EXPECT_EQ(photos_of(*database_, *media_, target.id), (std::vector<std::string>{"t8", "s6", "t3"}));
  EXPECT_EQ(photo_files(dir_), 3u);
}

TEST_F(GalleryTest, RemovingAProfileRemovesItsFacePhotos) {
  const Profile ada = gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f, "a"), face(0.1f, 0.8f, "b")}, "");
  const Profile bob = gallery_->create(named("bob"), std::vector{face(0.5f, 0.3f, "c")}, "");
  ASSERT_TRUE(gallery_->remove(ada.id));
  EXPECT_EQ(photo_files(dir_), 1u);
  EXPECT_EQ(photos_of(*database_, *media_, bob.id), (std::vector<std::string>{"c"}));
}

TEST_F(GalleryTest, RemoveFaceDeletesOneFaceItsIndexEntryAndPhotoAndOnlyTheProfilesOwn) {
  const Profile ada = gallery_->create(named("ada"), std::vector{face(0.1f, 0.3f, "a"), face(0.3f, 0.8f, "b")}, "");
  const Profile bob = gallery_->create(named("bob"), std::vector{face(0.5f, 0.3f, "c")}, "");
  const auto faces = database_->profiles().embeddings_of(ada.id);
  const std::uint64_t worse = faces[0].quality < faces[1].quality ? faces[0].id : faces[1].id;
  const std::uint64_t better = faces[0].id + faces[1].id - worse;
  const std::uint64_t bobs = database_->profiles().embeddings_of(bob.id).front().id;

  EXPECT_FALSE(gallery_->remove_face(ada.id, bobs));  // not ada's
  EXPECT_FALSE(gallery_->remove_face(Uuid::random(), worse));
  EXPECT_EQ(index_.size(), 3u);
  const auto after = gallery_->remove_face(ada.id, worse);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->embedding_count, 1u);
  EXPECT_EQ(photos_of(*database_, *media_, ada.id), (std::vector<std::string>{"b"}));
  EXPECT_FALSE(fs::exists(media_->face_photo_path(worse)));
  EXPECT_EQ(index_.size(), 2u);
  EXPECT_FALSE(gallery_->match(face(0.1f, 0).descriptor, rule(0.05f)).named());  // the removed face no longer names ada
  EXPECT_EQ(count<ProfileUpdated>(), 1u);

  // The last face may go: ada stays, unrecognisable, and can still be merged and removed.
  ASSERT_TRUE(gallery_->remove_face(ada.id, better));
  EXPECT_EQ(database_->profiles().find(ada.id)->embedding_count, 0u);
  EXPECT_EQ(index_.size(), 1u);
  gallery_->merge(bob.id, {ada.id});
  EXPECT_FALSE(database_->profiles().find(ada.id));
  EXPECT_EQ(photo_files(dir_), 1u);
}

TEST_F(GalleryTest, ARestoredProfileHasNoFacePhotos) {
  Profile exported;
  exported.id = Uuid::random();
  exported.created_at = exported.updated_at = now_ms();
  StoredEmbedding embedding;
  embedding.descriptor.fill(0.3f);
  embedding.quality = 0.5f;
  embedding.has_photo = true;  // an export cannot bring the file
  gallery_->restore(exported, {embedding}, "");
  EXPECT_EQ(photos_of(*database_, *media_, exported.id), (std::vector<std::string>{"-"}));
}

}  // namespace
}  // namespace safelynx::gallery
