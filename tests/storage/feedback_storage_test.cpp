// Migration 7: sightings keep their face's descriptor (round trip, the
// newest-first scan, gone with the row), feedback rows and negative examples
// (gone with their profile, moved by a merge); a version-5 database keeps
// its rows.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>

#include "storage/sqlite_database.hpp"
#include "../support/sqlite_raw.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kT0 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z

Uuid make_uuid() {
  static std::mt19937_64 random(606);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

// Bits that must survive exactly: -0, a denormal, the largest float.
FaceDescriptor odd_descriptor(float seed) {
  FaceDescriptor d{};
  for (std::size_t i = 0; i < kDescriptorSize; ++i) d[i] = seed + static_cast<float>(i) * 1e-3f;
  d[0] = -0.0f;
  d[1] = std::numeric_limits<float>::denorm_min();
  d[2] = std::numeric_limits<float>::max();
  return d;
}

using safelynx::testing::raw_exec;

class FeedbackStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "safelynx-feedback-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(pattern.data()));
    dir_ = pattern;
  }
  void TearDown() override {
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path file() const { return dir_ / "safelynx.db"; }
  void open(int migrate_to = 0) {
    db_.reset();
    SqliteOptions options;
    options.migrate_to = migrate_to;
    db_ = open_sqlite_database(file(), options);
  }
  Profile create_profile(const std::string& name) {
    Profile profile;
    profile.id = make_uuid();
    profile.name = name;
    profile.created_at = profile.updated_at = from_unix_ms(kT0);
    std::vector<StoredEmbedding> none;
    db_->profiles().create(profile, none);
    return profile;
  }
  Sighting sighting_of(const Profile& profile, std::int64_t ms, std::optional<FaceDescriptor> descriptor) {
    Sighting s;
    s.id = make_uuid();
    s.profile_id = profile.id;
    s.camera_id = camera_;
    s.time = from_unix_ms(ms);
    s.descriptor = descriptor;
    s.face_quality = descriptor ? 0.75f : 0;
    db_->sightings().create(s);
    return s;
  }
  std::vector<Uuid> scanned() {
    std::vector<Uuid> ids;
    db_->sightings().for_each_descriptor([&](const Uuid& id, const FaceDescriptor&) { ids.push_back(id); });
    return ids;
  }

  fs::path dir_;
  std::unique_ptr<Database> db_;
  const Uuid camera_ = make_uuid();
};

TEST_F(FeedbackStorageTest, AVersion5DatabaseKeepsItsRowsAndItsSightingsHaveNoDescriptor) {
  open(5);
  ASSERT_EQ(db_->schema_version(), 5);
  db_.reset();
  // Rows as a version-5 build wrote them.
  raw_exec(file(),
           "INSERT INTO profiles (uuid, name, classification, created_at, updated_at, sighting_count) "
           "VALUES ('11111111-1111-4111-8111-111111111111', 'old', 'known', 1, 1, 1);"
           "INSERT INTO embeddings (profile_key, descriptor, quality, created_at) VALUES (1, zeroblob(512), 0.5, 1);"
           "INSERT INTO sightings (uuid, profile_key, camera_uuid, time, box_x, box_y, box_width, box_height, "
           "detector_score, match_distance, has_face_snapshot, has_frame_snapshot, recording_offset_s, match_margin) "
           "VALUES ('22222222-2222-4222-8222-222222222222', 1, '33333333-3333-4333-8333-333333333333', 5, 1, 2, 3, 4, "
           "0.9, 0.3, 0, 0, 0, 0.2);");
  open();
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  EXPECT_GE(latest_sqlite_schema_version(), 6);
  const auto profile = db_->profiles().find(Uuid::parse("11111111-1111-4111-8111-111111111111"));
  ASSERT_TRUE(profile);
  EXPECT_EQ(profile->embedding_count, 1u);
  const auto sighting = db_->sightings().find(Uuid::parse("22222222-2222-4222-8222-222222222222"));
  ASSERT_TRUE(sighting);
  EXPECT_FLOAT_EQ(sighting->match_distance, 0.3f);
  EXPECT_FLOAT_EQ(sighting->match_margin, 0.2f);
  EXPECT_FALSE(sighting->descriptor);
  EXPECT_FLOAT_EQ(sighting->face_quality, 0.0f);
  EXPECT_TRUE(scanned().empty());
  EXPECT_TRUE(db_->feedback().negatives().empty());
  EXPECT_EQ(db_->feedback().list({}, {}).total, 0u);
}

TEST_F(FeedbackStorageTest, ASightingsDescriptorAndFaceQualityRoundTripBitForBit) {
  open();
  const Profile p = create_profile("P");
  const FaceDescriptor d = odd_descriptor(0.25f);
  const Sighting with = sighting_of(p, kT0, d);
  const Sighting without = sighting_of(p, kT0 + 1, std::nullopt);
  const auto found = db_->sightings().find(with.id);
  ASSERT_TRUE(found && found->descriptor);
  EXPECT_EQ(std::memcmp(found->descriptor->data(), d.data(), sizeof d), 0);
  EXPECT_FLOAT_EQ(found->face_quality, 0.75f);
  EXPECT_FALSE(db_->sightings().find(without.id)->descriptor);
  const auto listed = db_->sightings().list({}, {});
  ASSERT_EQ(listed.items.size(), 2u);
  EXPECT_FALSE(listed.items[0].descriptor);  // newest first: `without`
  EXPECT_TRUE(listed.items[1].descriptor);
}

TEST_F(FeedbackStorageTest, TheDescriptorScanGoesNewestFirstAcrossChunksAndSkipsSightingsWithout) {
  open();
  const Profile p = create_profile("P");
  db_.reset();
  // 2,500 sightings in one transaction (fewer fsyncs than 2,500 creates),
  // many sharing a time so the chunks' boundaries fall inside ties; every
  // tenth has no descriptor.
  raw_exec(file(),
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
           "INSERT INTO sightings (uuid, profile_key, camera_uuid, time, box_x, box_y, box_width, box_height, "
           "detector_score, match_distance, has_face_snapshot, has_frame_snapshot, recording_offset_s, embedding) "
           "SELECT printf('%08d-0000-4000-8000-000000000000', i), 1, 'cam', i / 7, 0, 0, 1, 1, 0.9, 0.3, 0, 0, 0, "
           "CASE WHEN i % 10 = 0 THEN NULL ELSE zeroblob(512) END FROM n");
  open();
  std::vector<std::int64_t> order;
  std::set<Uuid> seen;
  db_->sightings().for_each_descriptor([&](const Uuid& id, const FaceDescriptor& d) {
    EXPECT_TRUE(seen.insert(id).second) << "visited twice: " << id.to_string();
    EXPECT_FLOAT_EQ(d[5], 0.0f);
    order.push_back(std::stoll(id.to_string().substr(0, 8)));
  });
  ASSERT_EQ(order.size(), 2250u);
  for (std::size_t i = 1; i < order.size(); ++i) {
    // Newest time first; within a time the later row first.
    EXPECT_GT(order[i - 1], order[i]) << "at " << i;
    EXPECT_NE(order[i] % 10, 0);
  }
  (void)p;
}

TEST_F(FeedbackStorageTest, ASightingsDescriptorGoesWithItsRowWhenTheProfileIsDeleted) {
  open();
  const Profile p = create_profile("P");
  const Profile q = create_profile("Q");
  sighting_of(p, kT0, odd_descriptor(0.1f));
  const Sighting kept = sighting_of(q, kT0, odd_descriptor(0.2f));
  ASSERT_EQ(scanned().size(), 2u);
  ASSERT_TRUE(db_->profiles().remove(p.id));
  EXPECT_EQ(scanned(), std::vector<Uuid>{kept.id});
}

TEST_F(FeedbackStorageTest, NegativeExamplesBelongToTheirProfileMoveWithAMergeAndGoWithTheProfile) {
  open();
  const Profile p = create_profile("P");
  const Profile q = create_profile("Q");
  NegativeExample example;
  example.profile_key = p.key;
  example.descriptor = odd_descriptor(0.3f);
  example.created_at = from_unix_ms(kT0);
  db_->feedback().add_negative(example);
  EXPECT_GT(example.id, 0u);
  NegativeExample orphan;
  orphan.profile_key = 9999;
  EXPECT_THROW(db_->feedback().add_negative(orphan), NotFoundError);

  auto negatives = db_->feedback().negatives();
  ASSERT_EQ(negatives.size(), 1u);
  EXPECT_EQ(negatives[0].profile_key, p.key);
  EXPECT_EQ(std::memcmp(negatives[0].descriptor.data(), example.descriptor.data(), sizeof(FaceDescriptor)), 0);

  db_->profiles().merge(q.id, {p.id});
  negatives = db_->feedback().negatives();
  ASSERT_EQ(negatives.size(), 1u);
  EXPECT_EQ(negatives[0].profile_key, q.key);

  ASSERT_TRUE(db_->profiles().remove(q.id));
  EXPECT_TRUE(db_->feedback().negatives().empty());

  const Profile r = create_profile("R");
  example.profile_key = r.key;
  db_->feedback().add_negative(example);
  EXPECT_TRUE(db_->feedback().remove_negative(example.id));
  EXPECT_FALSE(db_->feedback().remove_negative(example.id));
}

TEST_F(FeedbackStorageTest, FeedbackRoundTripsListsNewestFirstByFilterAndIsUndoneOnce) {
  open();
  const Uuid s1 = make_uuid(), s2 = make_uuid(), a = make_uuid(), b = make_uuid(), c = make_uuid();
  Feedback first;
  first.id = make_uuid();
  first.sighting_id = s1;
  first.verdict = FeedbackVerdict::Is;
  first.profile_id = a;
  first.previous_profile_id = b;
  first.added_to_gallery = true;
  first.embedding_id = 42;
  first.created_at = from_unix_ms(kT0);
  db_->feedback().create(first);
  Feedback second;
  second.id = make_uuid();
  second.sighting_id = s2;
  second.verdict = FeedbackVerdict::IsNot;
  second.profile_id = b;
  second.previous_profile_id = b;
  second.negative_id = 7;
  second.created_profile_id = c;
  second.created_at = from_unix_ms(kT0 + 1000);
  db_->feedback().create(second);

  const auto found = db_->feedback().find(first.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->verdict, FeedbackVerdict::Is);
  EXPECT_EQ(found->profile_id, a);
  EXPECT_EQ(found->previous_profile_id, b);
  EXPECT_TRUE(found->added_to_gallery);
  EXPECT_EQ(found->embedding_id, 42u);
  EXPECT_FALSE(found->negative_id);
  EXPECT_FALSE(found->undone_at);
  const auto other = db_->feedback().find(second.id);
  EXPECT_EQ(other->verdict, FeedbackVerdict::IsNot);
  EXPECT_EQ(other->negative_id, 7u);
  EXPECT_EQ(other->created_profile_id, c);
  EXPECT_FALSE(db_->feedback().find(make_uuid()));

  auto all = db_->feedback().list({}, {});
  ASSERT_EQ(all.total, 2u);
  EXPECT_EQ(all.items[0].id, second.id);
  EXPECT_EQ(db_->feedback().list({.sighting_id = s1, .profile_id = {}}, {}).total, 1u);
  EXPECT_EQ(db_->feedback().list({.sighting_id = {}, .profile_id = b}, {}).total, 2u);  // named or named before
  EXPECT_EQ(db_->feedback().list({.sighting_id = {}, .profile_id = a}, {}).items.at(0).id, first.id);
  EXPECT_EQ(db_->feedback().list({.sighting_id = s1, .profile_id = c}, {}).total, 0u);
  EXPECT_EQ(db_->feedback().list({}, {2, 1}).items.at(0).id, first.id);

  EXPECT_TRUE(db_->feedback().mark_undone(first.id, from_unix_ms(kT0 + 5000)));
  EXPECT_FALSE(db_->feedback().mark_undone(first.id, from_unix_ms(kT0 + 6000)));
  EXPECT_EQ(db_->feedback().find(first.id)->undone_at, from_unix_ms(kT0 + 5000));
  EXPECT_FALSE(db_->feedback().mark_undone(make_uuid(), from_unix_ms(kT0)));
}

}  // namespace
}  // namespace safelynx::storage
