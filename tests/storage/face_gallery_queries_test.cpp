// What the face gallery and the review queue keep in the profiles and
// embeddings tables: each embedding's photo flag, the profile's reviewed flag
// (written by updates and merges, filtered in lists), removing one embedding,
// the hook that writes files inside the insert's transaction, and the
// migration that added both flags.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "storage/sqlite_database.hpp"
#include "../support/sqlite_raw.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

class FaceGalleryQueries : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "safelynx-faces-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(pattern.data()));
    dir_ = pattern;
    db_ = open_sqlite_database(file());
  }
  void TearDown() override {
    db_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path file() const { return dir_ / "safelynx.db"; }

  Profile create(const char* name, std::vector<StoredEmbedding> embeddings = {}) {
    Profile profile;
    profile.id = Uuid::random();
    profile.name = name;
    profile.created_at = profile.updated_at = now_ms();
    db_->profiles().create(profile, embeddings);
    return profile;
  }

  fs::path dir_;
  std::unique_ptr<Database> db_;
};

StoredEmbedding embedding(float value, bool has_photo) {
  StoredEmbedding e;
  e.descriptor.fill(value);
  e.quality = 0.5f;
  e.created_at = now_ms();
  e.has_photo = has_photo;
  return e;
}

using safelynx::testing::raw_exec;

TEST_F(FaceGalleryQueries, TheMigrationKeepsExistingRowsWithoutPhotosAndUnreviewed) {
  const Profile ada = create("ada", {embedding(0.1f, true)});
  Profile reviewed = ada;
  reviewed.reviewed = true;
  ASSERT_TRUE(db_->profiles().update(reviewed));
  db_.reset();
  // The database as version 5 left it: without the flags (migration 6) and
  // what migration 7 adds.
  raw_exec(file(), "ALTER TABLE embeddings DROP COLUMN has_photo; ALTER TABLE profiles DROP COLUMN reviewed; "
                   "DROP INDEX sightings_embedding_time; ALTER TABLE sightings DROP COLUMN embedding; "
                   "ALTER TABLE sightings DROP COLUMN face_quality; DROP TABLE feedback; DROP TABLE negative_examples; "
                   "PRAGMA user_version = 5");
  db_ = open_sqlite_database(file());
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  const auto found = db_->profiles().find(ada.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "ada");
  EXPECT_FALSE(found->reviewed);
  const auto embeddings = db_->profiles().embeddings_of(ada.id);
  ASSERT_EQ(embeddings.size(), 1u);
  EXPECT_FALSE(embeddings.front().has_photo);
}

TEST_F(FaceGalleryQueries, EmbeddingsKeepTheirPhotoFlag) {
  const Profile ada = create("ada", {embedding(0.1f, true), embedding(0.2f, false)});
  std::vector<StoredEmbedding> more{embedding(0.3f, true)};
  db_->profiles().add_embeddings(ada.id, more, {});
  std::vector<bool> flags;
  for (const StoredEmbedding& e : db_->profiles().embeddings_of(ada.id)) flags.push_back(e.has_photo);
  EXPECT_EQ(flags, (std::vector<bool>{true, false, true}));
  std::vector<bool> scanned;
  db_->profiles().for_each_embedding([&](const StoredEmbedding& e) { scanned.push_back(e.has_photo); });
  EXPECT_EQ(scanned, flags);
}

TEST_F(FaceGalleryQueries, TheInsertHookSeesTheNewIdsAndItsThrowRollsTheRowsBack) {
  std::vector<std::uint64_t> seen;
  Profile ada;
  ada.id = Uuid::random();
  ada.created_at = ada.updated_at = now_ms();
  std::vector<StoredEmbedding> embeddings{embedding(0.1f, true), embedding(0.2f, true)};
  db_->profiles().create(ada, embeddings, [&](const std::vector<std::uint64_t>& ids) { seen = ids; });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{embeddings[0].id, embeddings[1].id}));

  Profile bob = ada;
  bob.id = Uuid::random();
  std::vector<StoredEmbedding> failing{embedding(0.3f, true)};
  auto fail = [](const std::vector<std::uint64_t>&) { throw std::runtime_error("disk full"); };
  EXPECT_THROW(db_->profiles().create(bob, failing, fail), std::runtime_error);
  EXPECT_FALSE(db_->profiles().find(bob.id));
  std::vector<StoredEmbedding> more{embedding(0.4f, true)};
  EXPECT_THROW(db_->profiles().add_embeddings(ada.id, more, {embeddings[0].id}, fail), std::runtime_error);
  EXPECT_EQ(db_->profiles().embeddings_of(ada.id).size(), 2u);  // nothing evicted, nothing added
}

TEST_F(FaceGalleryQueries, RemoveEmbeddingRemovesOnlyTheProfilesOwn) {
  const Profile ada = create("ada", {embedding(0.1f, false), embedding(0.2f, false)});
  const Profile bob = create("bob", {embedding(0.3f, false)});
  const std::uint64_t bobs = db_->profiles().embeddings_of(bob.id).front().id;
  const std::uint64_t adas = db_->profiles().embeddings_of(ada.id).front().id;
  EXPECT_FALSE(db_->profiles().remove_embedding(ada.id, bobs));
  EXPECT_FALSE(db_->profiles().remove_embedding(Uuid::random(), adas));
  EXPECT_TRUE(db_->profiles().remove_embedding(ada.id, adas));
  EXPECT_FALSE(db_->profiles().remove_embedding(ada.id, adas));
  EXPECT_EQ(db_->profiles().find(ada.id)->embedding_count, 1u);
  EXPECT_EQ(db_->profiles().find(bob.id)->embedding_count, 1u);
}

TEST_F(FaceGalleryQueries, ReviewedIsWrittenByUpdatesAndMergesAndFiltersLists) {
  Profile ada = create("ada");
  const Profile bob = create("bob");
  const Profile cy = create("cy");
  EXPECT_FALSE(db_->profiles().find(ada.id)->reviewed);
  ada.reviewed = true;
  ASSERT_TRUE(db_->profiles().update(ada));
  EXPECT_TRUE(db_->profiles().find(ada.id)->reviewed);

  ProfileFilter unreviewed;
  unreviewed.reviewed = false;
  EXPECT_EQ(db_->profiles().list(unreviewed, {}).total, 2u);
  ProfileFilter reviewed;
  reviewed.reviewed = true;
  const auto page = db_->profiles().list(reviewed, {});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items.front().id, ada.id);

  Profile fields = *db_->profiles().find(bob.id);
  fields.reviewed = true;
  EXPECT_TRUE(db_->profiles().merge(bob.id, {cy.id}, &fields).reviewed);
  EXPECT_EQ(db_->profiles().list(unreviewed, {}).total, 0u);
}

}  // namespace
}  // namespace safelynx::storage
