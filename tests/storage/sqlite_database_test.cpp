// The SQLite storage backend against real database files, one temporary
// folder per test.
#include "storage/sqlite_database.hpp"
#include "../support/sqlite_raw.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-storage-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, error);
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Uuid make_uuid() {
  static std::mt19937_64 random(12345);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

// 2024-01-01T00:00:00Z, a Monday.
constexpr std::int64_t kMonday = 1'704'067'200'000;
constexpr std::int64_t kHour = 3'600'000;

Profile make_profile(std::optional<std::string> name, Classification classification = Classification::Unknown,
                     std::int64_t created_ms = kMonday) {
  Profile profile;
  profile.id = make_uuid();
  profile.name = std::move(name);
  profile.classification = classification;
  profile.created_at = at(created_ms);
  profile.updated_at = at(created_ms);
  return profile;
}

// Includes values whose bits must survive exactly: -0, a denormal, extremes.
StoredEmbedding make_embedding(int seed, float quality = 0.5f) {
  StoredEmbedding embedding;
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    embedding.descriptor[i] = std::sin(static_cast<float>(seed * 131 + static_cast<int>(i))) * 0.25f;
  }
  embedding.descriptor[0] = -0.0f;
  embedding.descriptor[1] = std::numeric_limits<float>::denorm_min();
  embedding.descriptor[2] = std::numeric_limits<float>::max();
  embedding.descriptor[3] = static_cast<float>(seed);
  embedding.quality = quality;
  embedding.created_at = at(kMonday + seed);
  return embedding;
}

bool same_bits(const FaceDescriptor& a, const FaceDescriptor& b) { return std::memcmp(a.data(), b.data(), sizeof a) == 0; }

std::vector<std::string> names(const std::vector<Profile>& profiles) {
  std::vector<std::string> result;
  for (const auto& p : profiles) result.push_back(p.name.value_or("<none>"));
  return result;
}

// Raw access for what the API cannot do: forge versions, write odd rows.
using safelynx::testing::raw_exec;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = open_sqlite_database(file()); }
  fs::path file() const { return dir_.path() / "safelynx.db"; }
  void reopen() {
    db_.reset();
    db_ = open_sqlite_database(file());
  }
  Profile create_profile(std::optional<std::string> name, Classification classification = Classification::Unknown,
                         std::int64_t created_ms = kMonday, std::vector<std::string> tags = {}, int embeddings = 0) {
    Profile profile = make_profile(std::move(name), classification, created_ms);
    profile.tags = std::move(tags);
    std::vector<StoredEmbedding> stored;
    for (int i = 0; i < embeddings; ++i) stored.push_back(make_embedding(i));
    db_->profiles().create(profile, stored);
    return profile;
  }
  Sighting make_sighting(const Profile& profile, std::int64_t ms, Uuid camera = {}) {
    Sighting sighting;
    sighting.id = make_uuid();
    sighting.profile_id = profile.id;
    sighting.camera_id = camera.is_nil() ? camera_ : camera;
    sighting.time = at(ms);
    sighting.box = {10, 20, 30, 40};
    sighting.detector_score = 0.9f;
    sighting.match_distance = 0.3f;
    sighting.match_margin = 0.25f;
    return sighting;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  Uuid camera_ = make_uuid();
};

// --- Opening, migrations -----------------------------------------------------

TEST_F(SqliteTest, CreatesParentFoldersInWalModeAtTheLatestVersion) {
  const fs::path nested = dir_.path() / "a" / "b" / "data.db";
  auto db = open_sqlite_database(nested);
  EXPECT_TRUE(fs::exists(nested));
  EXPECT_EQ(db->schema_version(), latest_sqlite_schema_version());
  EXPECT_GE(latest_sqlite_schema_version(), 1);
  EXPECT_GT(db->size_bytes(), 0u);

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(nested.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal");
  sqlite3_finalize(statement);
  sqlite3_close(raw);
}

TEST_F(SqliteTest, ReopeningKeepsDataAndVersion) {
  Profile alice = create_profile("Alice", Classification::Trusted, kMonday, {"staff"}, 2);
  User user{0, "admin", "hash", at(kMonday)};
  db_->users().create(user);
  reopen();
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  auto found = db_->profiles().find(alice.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Alice");
  EXPECT_EQ(found->embedding_count, 2u);
  EXPECT_EQ(db_->users().count(), 1u);
}

TEST_F(SqliteTest, Migration5GivesOlderSightingsAnUnknownMarginAndNoCorrection) {
  const Profile profile = create_profile("P");
  const Sighting sighting = make_sighting(profile, kMonday);
  db_->sightings().create(sighting);
  db_.reset();
  // The database as version 4 left it (without the later migrations' columns too).
  raw_exec(file(),
           "ALTER TABLE sightings DROP COLUMN match_margin; ALTER TABLE sightings DROP COLUMN corrected_from; "
           "ALTER TABLE embeddings DROP COLUMN has_photo; ALTER TABLE profiles DROP COLUMN reviewed; "
           "DROP INDEX sightings_embedding_time; ALTER TABLE sightings DROP COLUMN embedding; "
           "ALTER TABLE sightings DROP COLUMN face_quality; DROP TABLE feedback; DROP TABLE negative_examples; "
           "PRAGMA user_version = 4");
  reopen();
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  const auto found = db_->sightings().find(sighting.id);
  ASSERT_TRUE(found);
  EXPECT_FLOAT_EQ(found->match_distance, 0.3f);
  EXPECT_FLOAT_EQ(found->match_margin, 0.0f);
  EXPECT_FALSE(found->corrected_from);
}

TEST_F(SqliteTest, RefusesASchemaNewerThanThisBuild) {
  db_.reset();
  raw_exec(file(), "PRAGMA user_version = 99");
  try {
    open_sqlite_database(file());
    FAIL() << "opened a database from the future";
  } catch (const StorageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("99"), std::string::npos) << message;
    EXPECT_NE(message.find(file().string()), std::string::npos) << message;
  }
}

TEST(SqliteOpen, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const fs::path file = dir.path() / "notes.txt";
  {
    std::ofstream out(file);
    for (int i = 0; i < 200; ++i) out << "this is not an SQLite database, just text\n";
  }
  try {
    open_sqlite_database(file);
    FAIL() << "opened a text file";
  } catch (const StorageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find("not a database"), std::string::npos) << message;
  }
}

TEST(SqliteOpen, RefusesAFolderItCannotWrite) {
  if (geteuid() == 0) GTEST_SKIP() << "root can write anywhere";
  TempDir dir;
  const fs::path locked = dir.path() / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  const fs::path file = locked / "safelynx.db";
  try {
    open_sqlite_database(file);
    FAIL() << "created a database in a read-only folder";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
  fs::permissions(locked, fs::perms::owner_all);
}

TEST(SqliteOpen, RefusesAPathWhoseParentIsAFile) {
  TempDir dir;
  const fs::path blocker = dir.path() / "blocker";
  std::ofstream(blocker) << "x";
  EXPECT_THROW(open_sqlite_database(blocker / "safelynx.db"), StorageError);
}

// --- Profiles ----------------------------------------------------------------

TEST_F(SqliteTest, ProfileRoundTripAssignsKeysAndIds) {
  Profile profile = make_profile("Bob", Classification::Flagged, kMonday + 5);
  profile.tags = {"courier", "front-door"};
  profile.notes = "Brings parcels";
  profile.has_thumbnail = true;
  profile.first_seen = at(kMonday + 1);
  profile.last_seen = at(kMonday + 2);
  profile.sighting_count = 7;
  profile.updated_at = at(kMonday + 6);
  std::vector<StoredEmbedding> embeddings = {make_embedding(1, 0.9f), make_embedding(2, 0.4f)};
  db_->profiles().create(profile, embeddings);

  EXPECT_GT(profile.key, 0u);
  EXPECT_GT(embeddings[0].id, 0u);
  EXPECT_GT(embeddings[1].id, embeddings[0].id);
  EXPECT_EQ(embeddings[0].profile_key, profile.key);

  auto found = db_->profiles().find(profile.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key, profile.key);
  EXPECT_EQ(found->name, "Bob");
  EXPECT_EQ(found->classification, Classification::Flagged);
  EXPECT_EQ(found->tags, (std::vector<std::string>{"courier", "front-door"}));
  EXPECT_EQ(found->notes, "Brings parcels");
  EXPECT_TRUE(found->has_thumbnail);
  EXPECT_EQ(found->first_seen, at(kMonday + 1));
  EXPECT_EQ(found->last_seen, at(kMonday + 2));
  EXPECT_EQ(found->sighting_count, 7u);
  EXPECT_EQ(found->embedding_count, 2u);
  EXPECT_EQ(found->created_at, at(kMonday + 5));
  EXPECT_EQ(found->updated_at, at(kMonday + 6));

  auto by_key = db_->profiles().find_by_key(profile.key);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->id, profile.id);
  EXPECT_FALSE(db_->profiles().find_by_key(profile.key + 1000));
  EXPECT_FALSE(db_->profiles().find(make_uuid()));

  auto stored = db_->profiles().embeddings_of(profile.id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].id, embeddings[0].id);
  EXPECT_TRUE(same_bits(stored[0].descriptor, embeddings[0].descriptor));
  EXPECT_TRUE(same_bits(stored[1].descriptor, embeddings[1].descriptor));
  EXPECT_TRUE(std::signbit(stored[0].descriptor[0]));
  EXPECT_FLOAT_EQ(stored[0].quality, 0.9f);
  EXPECT_EQ(stored[1].created_at, at(kMonday + 2));
  EXPECT_EQ(stored[1].profile_key, profile.key);
  EXPECT_TRUE(db_->profiles().embeddings_of(make_uuid()).empty());
}

TEST_F(SqliteTest, UnnamedProfileAndDuplicateId) {
  Profile profile = create_profile(std::nullopt);
  auto found = db_->profiles().find(profile.id);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->name.has_value());
  EXPECT_FALSE(found->first_seen.has_value());

  Profile twin = make_profile("Twin");
  twin.id = profile.id;
  std::vector<StoredEmbedding> none;
  EXPECT_THROW(db_->profiles().create(twin, none), ConflictError);
  EXPECT_EQ(db_->profiles().count(), 1u);
}

TEST_F(SqliteTest, KeysAreNeverReused) {
  Profile first = create_profile("First", Classification::Unknown, kMonday, {}, 1);
  ASSERT_TRUE(db_->profiles().remove(first.id));
  Profile second = create_profile("Second", Classification::Unknown, kMonday, {}, 1);
  EXPECT_GT(second.key, first.key);
  EXPECT_GT(db_->profiles().embeddings_of(second.id).at(0).id, 1u);
}

TEST_F(SqliteTest, UpdateChangesFieldsAndTags) {
  Profile profile = create_profile("Carol", Classification::Unknown, kMonday, {"old"});
  profile.name = "Caroline";
  profile.classification = Classification::Known;
  profile.tags = {"family", "new"};
  profile.notes = "sister";
  profile.has_thumbnail = true;
  profile.last_seen = at(kMonday + 99);  // seen times and counts: only sightings change them
  profile.sighting_count = 3;
  profile.updated_at = at(kMonday + 100);
  profile.created_at = at(0);  // not an updatable field
  ASSERT_TRUE(db_->profiles().update(profile));

  auto found = db_->profiles().find(profile.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Caroline");
  EXPECT_EQ(found->classification, Classification::Known);
  EXPECT_EQ(found->tags, (std::vector<std::string>{"family", "new"}));
  EXPECT_EQ(found->notes, "sister");
  EXPECT_TRUE(found->has_thumbnail);
  EXPECT_EQ(found->last_seen, std::nullopt);
  EXPECT_EQ(found->sighting_count, 0u);
  EXPECT_EQ(found->updated_at, at(kMonday + 100));
  EXPECT_EQ(found->created_at, at(kMonday));

  ProfileFilter by_old;
  by_old.tag = "old";
  EXPECT_EQ(db_->profiles().list(by_old, {}).total, 0u);
  ProfileFilter by_new;
  by_new.tag = "new";
  EXPECT_EQ(db_->profiles().list(by_new, {}).total, 1u);

  Profile ghost = make_profile("Ghost");
  EXPECT_FALSE(db_->profiles().update(ghost));

  profile.tags = {"bad\xff"};
  EXPECT_THROW(db_->profiles().update(profile), std::invalid_argument);
  EXPECT_EQ(db_->profiles().find(profile.id)->tags, (std::vector<std::string>{"family", "new"}));
}

TEST_F(SqliteTest, ListSortsPagesAndCounts) {
  // Created an hour apart, in name order z..a reversed so sorts differ.
  const std::vector<std::string> list_names = {"delta", "Alpha", "charlie", "bravo", "echo"};
  std::vector<Profile> created;
  for (std::size_t i = 0; i < list_names.size(); ++i) {
    created.push_back(create_profile(list_names[i], i % 2 ? Classification::Known : Classification::Unknown,
                                     kMonday + static_cast<std::int64_t>(i) * kHour));
  }
  created.push_back(create_profile(std::nullopt, Classification::Flagged, kMonday + 10 * kHour));
  // Sightings order: echo 5, bravo 3, others 0; last seen follows.
  for (int i = 0; i < 5; ++i) db_->sightings().create(make_sighting(created[4], kMonday + 20 * kHour + i));
  for (int i = 0; i < 3; ++i) db_->sightings().create(make_sighting(created[3], kMonday + 30 * kHour + i));

  auto list = [&](ProfileSort sort, Page page = {}) {
    ProfileFilter filter;
    filter.sort = sort;
    return db_->profiles().list(filter, page);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(list(ProfileSort::CreatedDesc).items), (V{"<none>", "echo", "bravo", "charlie", "Alpha", "delta"}));
  EXPECT_EQ(names(list(ProfileSort::CreatedAsc).items), (V{"delta", "Alpha", "charlie", "bravo", "echo", "<none>"}));
  EXPECT_EQ(names(list(ProfileSort::NameAsc).items), (V{"Alpha", "bravo", "charlie", "delta", "echo", "<none>"}));
  auto by_sightings = names(list(ProfileSort::SightingsDesc).items);
  EXPECT_EQ((V{by_sightings[0], by_sightings[1]}), (V{"echo", "bravo"}));
  auto by_last_seen = names(list(ProfileSort::LastSeenDesc).items);
  EXPECT_EQ((V{by_last_seen[0], by_last_seen[1]}), (V{"bravo", "echo"}));

  auto page2 = list(ProfileSort::CreatedAsc, {2, 4});
  EXPECT_EQ(page2.total, 6u);
  EXPECT_EQ(names(page2.items), (V{"echo", "<none>"}));
  auto beyond = list(ProfileSort::CreatedAsc, {9, 4});
  EXPECT_EQ(beyond.total, 6u);
  EXPECT_TRUE(beyond.items.empty());
  auto huge = list(ProfileSort::CreatedAsc, {std::numeric_limits<std::uint64_t>::max(), 1000});
  EXPECT_TRUE(huge.items.empty());
  EXPECT_EQ(huge.total, 6u);
  EXPECT_EQ(list(ProfileSort::CreatedAsc, {1, 0}).total, 6u);

  ProfileFilter known;
  known.classification = Classification::Known;
  known.sort = ProfileSort::NameAsc;
  auto known_page = db_->profiles().list(known, {1, 1});
  EXPECT_EQ(known_page.total, 2u);
  EXPECT_EQ(names(known_page.items), (V{"Alpha"}));

  EXPECT_EQ(db_->profiles().count(), 6u);
  EXPECT_EQ(db_->profiles().count_created_since(at(kMonday + 3 * kHour)), 3u);
  auto by_class = db_->profiles().count_by_classification();
  ASSERT_EQ(by_class.size(), 4u);
  EXPECT_EQ(by_class[0], std::make_pair(Classification::Trusted, std::uint64_t{0}));
  EXPECT_EQ(by_class[1], std::make_pair(Classification::Known, std::uint64_t{2}));
  EXPECT_EQ(by_class[2], std::make_pair(Classification::Unknown, std::uint64_t{3}));
  EXPECT_EQ(by_class[3], std::make_pair(Classification::Flagged, std::uint64_t{1}));
}

TEST_F(SqliteTest, TagFilterIsExact) {
  create_profile("A", Classification::Unknown, kMonday, {"door"});
  create_profile("B", Classification::Unknown, kMonday, {"doorbell"});
  create_profile("C", Classification::Unknown, kMonday, {"Door", "garden"});
  create_profile("D", Classification::Known, kMonday, {"door", "garden"});
  auto with_tag = [&](std::string tag, std::optional<Classification> classification = std::nullopt) {
    ProfileFilter filter;
    filter.tag = std::move(tag);
    filter.classification = classification;
    filter.sort = ProfileSort::NameAsc;
    return names(db_->profiles().list(filter, {}).items);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(with_tag("door"), (V{"A", "D"}));
  EXPECT_EQ(with_tag("garden"), (V{"C", "D"}));
  EXPECT_EQ(with_tag("door", Classification::Known), (V{"D"}));
  EXPECT_EQ(with_tag("door%"), V{});
  EXPECT_EQ(with_tag("%"), V{});
  EXPECT_EQ(with_tag("doo"), V{});
}

TEST_F(SqliteTest, QueryIsACaseInsensitiveLiteralSubstring) {
  create_profile("Alice Smith");
  Profile notes = create_profile("Mallory");
  notes.notes = "Seen at the GATE twice";
  ASSERT_TRUE(db_->profiles().update(notes));
  create_profile("50% off");
  create_profile("500 club");
  create_profile("a_c");
  create_profile("abc");
  create_profile("back\\slash");
  auto search = [&](std::string query) {
    ProfileFilter filter;
    filter.query = std::move(query);
    filter.sort = ProfileSort::NameAsc;
    return names(db_->profiles().list(filter, {}).items);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(search("ALICE"), (V{"Alice Smith"}));
  EXPECT_EQ(search("smi"), (V{"Alice Smith"}));
  EXPECT_EQ(search("gate"), (V{"Mallory"}));
  EXPECT_EQ(search("50%"), (V{"50% off"}));
  EXPECT_EQ(search("%"), (V{"50% off"}));
  EXPECT_EQ(search("a_c"), (V{"a_c"}));
  EXPECT_EQ(search("_"), (V{"a_c"}));
  EXPECT_EQ(search("\\"), (V{"back\\slash"}));
  EXPECT_EQ(search("k\\s"), (V{"back\\slash"}));
  EXPECT_EQ(search("' OR 1=1 --"), V{});
  EXPECT_EQ(search("").size(), 7u);
}

TEST_F(SqliteTest, RemoveCascadesToEmbeddingsAndSightings) {
  Profile gone = create_profile("Gone", Classification::Unknown, kMonday, {"t"}, 3);
  Profile kept = create_profile("Kept", Classification::Unknown, kMonday, {"t"}, 1);
  Sighting sighting = make_sighting(gone, kMonday);
  db_->sightings().create(sighting);
  db_->sightings().create(make_sighting(kept, kMonday));

  EXPECT_TRUE(db_->profiles().remove(gone.id));
  EXPECT_FALSE(db_->profiles().remove(gone.id));
  EXPECT_FALSE(db_->profiles().find(gone.id));
  EXPECT_TRUE(db_->profiles().embeddings_of(gone.id).empty());
  EXPECT_FALSE(db_->sightings().find(sighting.id));
  EXPECT_EQ(db_->sightings().list({}, {}).total, 1u);
  std::vector<std::uint64_t> visited;
  db_->profiles().for_each_embedding([&](const StoredEmbedding& e) { visited.push_back(e.profile_key); });
  EXPECT_EQ(visited, std::vector<std::uint64_t>{kept.key});
  ProfileFilter tagged;
  tagged.tag = "t";
  EXPECT_EQ(db_->profiles().list(tagged, {}).total, 1u);
}

TEST_F(SqliteTest, AddEmbeddingsEvictsOnlyTheProfilesOwn) {
  Profile a = create_profile("A", Classification::Unknown, kMonday, {}, 2);
  Profile b = create_profile("B", Classification::Unknown, kMonday, {}, 1);
  auto a_before = db_->profiles().embeddings_of(a.id);
  auto b_before = db_->profiles().embeddings_of(b.id);

  std::vector<StoredEmbedding> added = {make_embedding(10), make_embedding(11)};
  db_->profiles().add_embeddings(a.id, added, {a_before[0].id, b_before[0].id});
  EXPECT_GT(added[0].id, b_before[0].id);
  EXPECT_EQ(added[1].profile_key, a.key);

  auto a_after = db_->profiles().embeddings_of(a.id);
  ASSERT_EQ(a_after.size(), 3u);
  EXPECT_EQ(a_after[0].id, a_before[1].id);
  EXPECT_EQ(a_after[1].id, added[0].id);
  EXPECT_TRUE(same_bits(a_after[2].descriptor, make_embedding(11).descriptor));
  EXPECT_EQ(db_->profiles().embeddings_of(b.id).size(), 1u);
  EXPECT_EQ(db_->profiles().find(a.id)->embedding_count, 3u);

  std::vector<StoredEmbedding> orphan = {make_embedding(12)};
  EXPECT_THROW(db_->profiles().add_embeddings(make_uuid(), orphan, {}), NotFoundError);
  EXPECT_EQ(orphan[0].id, 0u);
}

TEST_F(SqliteTest, ForEachEmbeddingStreamsInIdOrderWithProgress) {
  // More than one chunk, over several profiles.
  std::uint64_t expected = 0;
  for (int p = 0; p < 5; ++p) {
    Profile profile = make_profile("P" + std::to_string(p));
    std::vector<StoredEmbedding> embeddings;
    for (int i = 0; i < 500; ++i) embeddings.push_back(make_embedding(p * 1000 + i));
    db_->profiles().create(profile, embeddings);
    expected += embeddings.size();
  }
  std::vector<std::uint64_t> ids;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reports;
  bool bits_ok = true;
  db_->profiles().for_each_embedding(
      [&](const StoredEmbedding& e) {
        ids.push_back(e.id);
        const int seed = static_cast<int>(e.descriptor[3]);
        bits_ok = bits_ok && same_bits(e.descriptor, make_embedding(seed).descriptor);
      },
      [&](std::uint64_t done, std::uint64_t total) { reports.emplace_back(done, total); });
  ASSERT_EQ(ids.size(), expected);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_TRUE(bits_ok);
  ASSERT_GE(reports.size(), 2u);
  EXPECT_EQ(reports.back(), std::make_pair(expected, expected));
  EXPECT_LT(reports.front().first, expected);

  TempDir empty_dir;
  auto empty = open_sqlite_database(empty_dir.path() / "empty.db");
  int visits = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> empty_reports;
  empty->profiles().for_each_embedding([&](const StoredEmbedding&) { ++visits; },
                                       [&](std::uint64_t d, std::uint64_t t) { empty_reports.emplace_back(d, t); });
  EXPECT_EQ(visits, 0);
  EXPECT_EQ(empty_reports, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}}));
}

TEST_F(SqliteTest, MergeMovesEverythingAndDeletesSources) {
  Profile into = create_profile("Into", Classification::Known, kMonday, {"keep"}, 1);
  Profile s1 = create_profile("S1", Classification::Unknown, kMonday, {}, 2);
  Profile s2 = create_profile("S2", Classification::Unknown, kMonday, {}, 1);
  db_->sightings().create(make_sighting(into, kMonday + 5 * kHour));
  Sighting early = make_sighting(s1, kMonday + 1 * kHour);
  db_->sightings().create(early);
  db_->sightings().create(make_sighting(s1, kMonday + 2 * kHour));
  Sighting late = make_sighting(s2, kMonday + 9 * kHour);
  db_->sightings().create(late);

  // An unknown source: nothing happens.
  EXPECT_THROW(db_->profiles().merge(into.id, {s1.id, make_uuid()}), NotFoundError);
  EXPECT_TRUE(db_->profiles().find(s1.id));
  EXPECT_EQ(db_->profiles().find(into.id)->sighting_count, 1u);
  EXPECT_THROW(db_->profiles().merge(make_uuid(), {s1.id}), NotFoundError);

  Profile merged = db_->profiles().merge(into.id, {s1.id, s2.id, into.id, s1.id});
  EXPECT_EQ(merged.id, into.id);
  EXPECT_EQ(merged.key, into.key);
  EXPECT_EQ(merged.name, "Into");
  EXPECT_EQ(merged.tags, std::vector<std::string>{"keep"});
  EXPECT_EQ(merged.sighting_count, 4u);
  EXPECT_EQ(merged.first_seen, at(kMonday + 1 * kHour));
  EXPECT_EQ(merged.last_seen, at(kMonday + 9 * kHour));
  EXPECT_EQ(merged.embedding_count, 4u);
  EXPECT_FALSE(db_->profiles().find(s1.id));
  EXPECT_FALSE(db_->profiles().find(s2.id));
  EXPECT_EQ(db_->profiles().count(), 1u);
  EXPECT_EQ(db_->sightings().find(early.id)->profile_id, into.id);
  EXPECT_EQ(db_->sightings().find(late.id)->profile_id, into.id);
  SightingFilter of_into;
  of_into.profile_id = into.id;
  EXPECT_EQ(db_->sightings().list(of_into, {}).total, 4u);
  for (const auto& e : db_->profiles().embeddings_of(into.id)) EXPECT_EQ(e.profile_key, into.key);
}

TEST_F(SqliteTest, MergeOfUnseenProfilesKeepsSeenTimesEmpty) {
  Profile into = create_profile("Into");
  Profile source = create_profile("Source");
  Profile merged = db_->profiles().merge(into.id, {source.id});
  EXPECT_FALSE(merged.first_seen);
  EXPECT_FALSE(merged.last_seen);
  EXPECT_EQ(merged.sighting_count, 0u);
}

TEST_F(SqliteTest, MergeWritesTheMergedFieldsInItsTransactionKeepingTheThumbnailFlag) {
  Profile into = create_profile("Into", Classification::Known, kMonday, {"keep"}, 1);
  Profile source = create_profile("Source", Classification::Flagged, kMonday, {"banned"}, 1);
  into.has_thumbnail = true;
  ASSERT_TRUE(db_->profiles().update(into));
  Profile fields = into;
  fields.has_thumbnail = false;  // not a field of the merge
  fields.classification = Classification::Flagged;
  fields.tags = {"banned", "keep"};
  fields.notes = "combined";

  const Profile merged = db_->profiles().merge(into.id, {source.id}, &fields);
  EXPECT_EQ(merged.classification, Classification::Flagged);
  EXPECT_EQ(merged.tags, (std::vector<std::string>{"banned", "keep"}));
  EXPECT_EQ(merged.notes, "combined");
  EXPECT_EQ(merged.name, "Into");
  EXPECT_TRUE(merged.has_thumbnail);
  ProfileFilter banned;
  banned.tag = "banned";
  EXPECT_EQ(db_->profiles().list(banned, {}).total, 1u);
}

// --- Cameras -----------------------------------------------------------------

Camera make_camera(std::string name, std::int64_t created_ms) {
  Camera camera;
  camera.id = make_uuid();
  camera.name = std::move(name);
  camera.kind = CameraKind::Rtsp;
  camera.source = "rtsp://10.0.0.2/stream";
  camera.width = 1280;
  camera.height = 720;
  camera.fps = 12.5;
  camera.location = "Porch";
  camera.enabled = false;
  camera.status = CameraStatus::Error;
  camera.status_message = "timeout";
  camera.created_at = at(created_ms);
  camera.updated_at = at(created_ms + 1);
  return camera;
}

TEST_F(SqliteTest, CameraRoundTripUpdateRemoveAndList) {
  Camera porch = make_camera("Porch", kMonday);
  db_->cameras().create(porch);
  EXPECT_THROW(db_->cameras().create(porch), ConflictError);
  auto found = db_->cameras().find(porch.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Porch");
  EXPECT_EQ(found->kind, CameraKind::Rtsp);
  EXPECT_EQ(found->source, "rtsp://10.0.0.2/stream");
  EXPECT_EQ(found->width, 1280);
  EXPECT_EQ(found->height, 720);
  EXPECT_DOUBLE_EQ(found->fps, 12.5);
  EXPECT_EQ(found->location, "Porch");
  EXPECT_FALSE(found->enabled);
  EXPECT_EQ(found->status, CameraStatus::Error);
  EXPECT_EQ(found->status_message, "timeout");
  EXPECT_EQ(found->created_at, at(kMonday));
  EXPECT_EQ(found->updated_at, at(kMonday + 1));

  porch.name = "Front porch";
  porch.kind = CameraKind::Usb;
  porch.status = CameraStatus::Active;
  porch.enabled = true;
  porch.updated_at = at(kMonday + 50);
  ASSERT_TRUE(db_->cameras().update(porch));
  found = db_->cameras().find(porch.id);
  EXPECT_EQ(found->name, "Front porch");
  EXPECT_EQ(found->kind, CameraKind::Usb);
  EXPECT_TRUE(found->enabled);
  EXPECT_EQ(found->updated_at, at(kMonday + 50));
  EXPECT_FALSE(db_->cameras().update(make_camera("Ghost", kMonday)));
  // The status belongs to the capture thread: an edit leaves it alone...
  EXPECT_EQ(found->status, CameraStatus::Error);
  EXPECT_EQ(found->status_message, "timeout");
  // ...and a status report leaves the user's fields alone.
  ASSERT_TRUE(db_->cameras().set_status(porch.id, CameraStatus::Active, "", at(kMonday + 60)));
  found = db_->cameras().find(porch.id);
  EXPECT_EQ(found->status, CameraStatus::Active);
  EXPECT_EQ(found->status_message, "");
  EXPECT_EQ(found->name, "Front porch");
  EXPECT_EQ(found->updated_at, at(kMonday + 60));
  EXPECT_FALSE(db_->cameras().set_status(make_uuid(), CameraStatus::Active, "", at(kMonday)));

  db_->cameras().create(make_camera("Garden", kMonday + 10));
  db_->cameras().create(make_camera("Garage", kMonday + 20));
  auto page = db_->cameras().list({2, 2});
  EXPECT_EQ(page.total, 3u);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].name, "Garage");

  // Sighting history outlives the camera.
  Profile profile = create_profile("P");
  Sighting sighting = make_sighting(profile, kMonday, porch.id);
  db_->sightings().create(sighting);
  EXPECT_TRUE(db_->cameras().remove(porch.id));
  EXPECT_FALSE(db_->cameras().remove(porch.id));
  EXPECT_FALSE(db_->cameras().find(porch.id));
  auto kept = db_->sightings().find(sighting.id);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->camera_id, porch.id);
}

// --- Sightings ---------------------------------------------------------------

TEST_F(SqliteTest, SightingRoundTripBumpsTheProfile) {
  Profile profile = create_profile("P");
  Sighting sighting = make_sighting(profile, kMonday + 10 * kHour);
  sighting.has_face_snapshot = true;
  sighting.recording_id = make_uuid();
  sighting.recording_offset_s = 4.25;
  db_->sightings().create(sighting);
  db_->sightings().create(make_sighting(profile, kMonday + 2 * kHour));
  db_->sightings().create(make_sighting(profile, kMonday + 20 * kHour));
  EXPECT_THROW(db_->sightings().create(sighting), ConflictError);

  auto found = db_->sightings().find(sighting.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->profile_id, profile.id);
  EXPECT_EQ(found->camera_id, camera_);
  EXPECT_EQ(found->time, at(kMonday + 10 * kHour));
  EXPECT_FLOAT_EQ(found->box.x, 10);
  EXPECT_FLOAT_EQ(found->box.height, 40);
  EXPECT_FLOAT_EQ(found->detector_score, 0.9f);
  EXPECT_FLOAT_EQ(found->match_distance, 0.3f);
  EXPECT_FLOAT_EQ(found->match_margin, 0.25f);
  EXPECT_FALSE(found->corrected_from);
  EXPECT_TRUE(found->has_face_snapshot);
  EXPECT_FALSE(found->has_frame_snapshot);
  EXPECT_EQ(found->recording_id, sighting.recording_id);
  EXPECT_DOUBLE_EQ(found->recording_offset_s, 4.25);
  EXPECT_FALSE(db_->sightings().find(make_uuid()));

  auto after = db_->profiles().find(profile.id);
  EXPECT_EQ(after->sighting_count, 3u);
  EXPECT_EQ(after->first_seen, at(kMonday + 2 * kHour));
  EXPECT_EQ(after->last_seen, at(kMonday + 20 * kHour));

  Profile ghost = make_profile("Ghost");
  EXPECT_THROW(db_->sightings().create(make_sighting(ghost, kMonday)), NotFoundError);
  EXPECT_EQ(db_->sightings().list({}, {}).total, 3u);
}

TEST_F(SqliteTest, ReassignMovesSightingsRemembersTheFirstProfileAndRecountsBoth) {
  Profile wrong = create_profile(std::nullopt);
  Profile right = create_profile("Right");
  const Sighting early = make_sighting(wrong, kMonday + 1 * kHour);
  const Sighting late = make_sighting(wrong, kMonday + 5 * kHour);
  const Sighting stays = make_sighting(wrong, kMonday + 3 * kHour);
  const Sighting own = make_sighting(right, kMonday + 9 * kHour);
  for (const Sighting& s : {early, late, stays, own}) db_->sightings().create(s);

  const std::vector<Uuid> moving{early.id, late.id, make_uuid()};  // an unknown id is skipped
  EXPECT_EQ(db_->sightings().reassign(moving, right.id), 2u);

  EXPECT_EQ(db_->sightings().find(early.id)->profile_id, right.id);
  EXPECT_EQ(db_->sightings().find(early.id)->corrected_from, wrong.id);
  EXPECT_EQ(db_->sightings().find(stays.id)->profile_id, wrong.id);
  EXPECT_FALSE(db_->sightings().find(own.id)->corrected_from);
  const Profile after_right = *db_->profiles().find(right.id);
  EXPECT_EQ(after_right.sighting_count, 3u);
  EXPECT_EQ(after_right.first_seen, at(kMonday + 1 * kHour));
  EXPECT_EQ(after_right.last_seen, at(kMonday + 9 * kHour));
  const Profile after_wrong = *db_->profiles().find(wrong.id);
  EXPECT_EQ(after_wrong.sighting_count, 1u);
  EXPECT_EQ(after_wrong.first_seen, at(kMonday + 3 * kHour));
  EXPECT_EQ(after_wrong.last_seen, at(kMonday + 3 * kHour));

  // Moved again, a sighting still names the profile it first named.
  Profile third = create_profile("Third");
  EXPECT_EQ(db_->sightings().reassign(std::vector<Uuid>{early.id}, third.id), 1u);
  EXPECT_EQ(db_->sightings().find(early.id)->corrected_from, wrong.id);
  // Already there: nothing moves.
  EXPECT_EQ(db_->sightings().reassign(std::vector<Uuid>{early.id}, third.id), 0u);
  EXPECT_THROW(db_->sightings().reassign(std::vector<Uuid>{late.id}, make_uuid()), NotFoundError);
}

TEST_F(SqliteTest, SightingListFiltersNewestFirst) {
  Profile flagged = create_profile("F", Classification::Flagged);
  Profile known = create_profile("K", Classification::Known);
  const Uuid other_camera = make_uuid();
  for (int i = 0; i < 6; ++i) {
    db_->sightings().create(make_sighting(i % 2 ? flagged : known, kMonday + i * kHour, i < 3 ? camera_ : other_camera));
  }
  auto times = [&](const SightingFilter& filter, Page page = {}) {
    std::vector<std::int64_t> result;
    for (const auto& s : db_->sightings().list(filter, page).items) result.push_back((to_unix_ms(s.time) - kMonday) / kHour);
    return result;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(times({}), (V{5, 4, 3, 2, 1, 0}));
  SightingFilter by_profile;
  by_profile.profile_id = flagged.id;
  EXPECT_EQ(times(by_profile), (V{5, 3, 1}));
  SightingFilter by_camera;
  by_camera.camera_id = other_camera;
  EXPECT_EQ(times(by_camera), (V{5, 4, 3}));
  SightingFilter by_class;
  by_class.classification = Classification::Known;
  EXPECT_EQ(times(by_class), (V{4, 2, 0}));
  SightingFilter window;
  window.from = at(kMonday + 1 * kHour);
  window.to = at(kMonday + 4 * kHour);
  EXPECT_EQ(times(window), (V{3, 2, 1}));
  window.camera_id = camera_;
  window.classification = Classification::Flagged;
  EXPECT_EQ(times(window), (V{1}));
  EXPECT_EQ(times({}, {2, 4}), (V{1, 0}));
  EXPECT_EQ(db_->sightings().list({}, {2, 4}).total, 6u);
  SightingFilter nobody;
  nobody.profile_id = make_uuid();
  EXPECT_EQ(db_->sightings().list(nobody, {}).total, 0u);
}

TEST_F(SqliteTest, CountsPerHourHeatmapAndMostSeen) {
  Profile a = create_profile("A");
  Profile b = create_profile("B");
  Profile c = create_profile("C");
  // Monday 00:10, 00:50, 02:00; Sunday 2024-01-07 23:59:59.999; Tuesday 05:30.
  db_->sightings().create(make_sighting(a, kMonday + 10 * 60'000));
  db_->sightings().create(make_sighting(a, kMonday + 50 * 60'000));
  db_->sightings().create(make_sighting(b, kMonday + 2 * kHour));
  db_->sightings().create(make_sighting(a, kMonday + 7 * 24 * kHour - 1));
  db_->sightings().create(make_sighting(c, kMonday + 24 * kHour + 5 * kHour + 30 * 60'000));
  db_->sightings().create(make_sighting(b, kMonday - 1));  // before every window below

  auto hours = db_->sightings().count_per_hour(at(kMonday), at(kMonday + 3 * kHour + 1));
  EXPECT_EQ(hours, (std::vector<std::uint64_t>{2, 0, 1, 0}));
  EXPECT_TRUE(db_->sightings().count_per_hour(at(kMonday), at(kMonday)).empty());
  EXPECT_EQ(db_->sightings().count_per_hour(at(kMonday), at(kMonday + 2 * kHour)),
            (std::vector<std::uint64_t>{2, 0}));  // `to` is exclusive

  auto grid = db_->sightings().heatmap(at(kMonday), at(kMonday + 7 * 24 * kHour));
  ASSERT_EQ(grid.size(), 7u);
  for (const auto& row : grid) ASSERT_EQ(row.size(), 24u);
  EXPECT_EQ(grid[0][0], 2u);
  EXPECT_EQ(grid[0][2], 1u);
  EXPECT_EQ(grid[1][5], 1u);
  EXPECT_EQ(grid[6][23], 1u);  // Sunday
  std::uint64_t sum = 0;
  for (const auto& row : grid)
    for (auto n : row) sum += n;
  EXPECT_EQ(sum, 5u);
  // The sighting 1 ms before Monday is Sunday 23:00.
  auto before = db_->sightings().heatmap(at(kMonday - kHour), at(kMonday));
  EXPECT_EQ(before[6][23], 1u);

  auto top = db_->sightings().most_seen(at(kMonday), at(kMonday + 7 * 24 * kHour), 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0], std::make_pair(a.id, std::uint64_t{3}));
  EXPECT_EQ(top[1], std::make_pair(b.id, std::uint64_t{1}));
}

// --- Recordings --------------------------------------------------------------

TEST_F(SqliteTest, RecordingsRoundTripFilterAndUnlinkOnRemove) {
  Recording first{make_uuid(), camera_, at(kMonday), at(kMonday + kHour), "a.mp4", 1000};
  Recording second{make_uuid(), camera_, at(kMonday + 2 * kHour), std::nullopt, "b.mp4", 0};
  Recording other{make_uuid(), make_uuid(), at(kMonday + 3 * kHour), at(kMonday + 4 * kHour), "c.mp4", 5};
  db_->recordings().create(first);
  db_->recordings().create(second);
  db_->recordings().create(other);
  EXPECT_THROW(db_->recordings().create(first), ConflictError);

  auto found = db_->recordings().find(second.id);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->end);
  EXPECT_EQ(found->file, "b.mp4");
  second.end = at(kMonday + 5 * kHour);
  second.size_bytes = 123456789012ull;
  ASSERT_TRUE(db_->recordings().update(second));
  found = db_->recordings().find(second.id);
  EXPECT_EQ(found->end, at(kMonday + 5 * kHour));
  EXPECT_EQ(found->size_bytes, 123456789012ull);
  EXPECT_FALSE(db_->recordings().update(Recording{make_uuid(), camera_, at(0), std::nullopt, "x", 0}));

  auto files = [&](const RecordingFilter& filter) {
    std::vector<std::string> result;
    for (const auto& r : db_->recordings().list(filter, {}).items) result.push_back(r.file);
    return result;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(files({}), (V{"c.mp4", "b.mp4", "a.mp4"}));
  RecordingFilter by_camera;
  by_camera.camera_id = camera_;
  EXPECT_EQ(files(by_camera), (V{"b.mp4", "a.mp4"}));
  RecordingFilter overlap;
  overlap.from = at(kMonday + kHour + 1);  // after a.mp4 ends
  overlap.to = at(kMonday + 3 * kHour);    // c.mp4 starts exactly then: excluded
  EXPECT_EQ(files(overlap), (V{"b.mp4"}));

  Profile profile = create_profile("P");
  Sighting linked = make_sighting(profile, kMonday + 10);
  linked.recording_id = first.id;
  linked.recording_offset_s = 1.5;
  db_->sightings().create(linked);
  Sighting unlinked = make_sighting(profile, kMonday + 20);
  db_->sightings().create(unlinked);
  EXPECT_EQ(db_->recordings().sightings_of(first.id), std::vector<Uuid>{linked.id});

  EXPECT_TRUE(db_->recordings().remove(first.id));
  EXPECT_FALSE(db_->recordings().remove(first.id));
  EXPECT_FALSE(db_->recordings().find(first.id));
  auto still = db_->sightings().find(linked.id);
  ASSERT_TRUE(still);
  EXPECT_FALSE(still->recording_id);
  EXPECT_TRUE(db_->recordings().sightings_of(first.id).empty());
}

// --- Settings ----------------------------------------------------------------

TEST_F(SqliteTest, SettingsDefaultRoundTripAndTolerateUnknownKeys) {
  const Settings defaults;
  Settings loaded = db_->settings().load();
  EXPECT_EQ(loaded.detection.min_score, defaults.detection.min_score);
  EXPECT_EQ(loaded.storage.quota_bytes, defaults.storage.quota_bytes);

  Settings changed;
  changed.detection.min_score = 0.73f;
  changed.detection.min_face_size = 64;
  changed.recognition.match_threshold = 0.55f;
  changed.recognition.sighting_cooldown_s = 120;
  changed.recording.pre_buffer_s = 2;
  changed.recording.post_buffer_s = 20;
  changed.recording.max_segment_s = 600;
  changed.storage.quota_bytes = 123ull << 30;
  changed.storage.auto_cleanup = false;
  changed.notifications.on_flagged = false;
  changed.notifications.on_unknown = true;
  db_->settings().save(changed);
  db_->settings().save(changed);  // saving twice replaces the row
  reopen();
  loaded = db_->settings().load();
  EXPECT_EQ(loaded.detection.min_score, 0.73f);
  EXPECT_EQ(loaded.detection.min_face_size, 64);
  EXPECT_EQ(loaded.recognition.match_threshold, 0.55f);
  EXPECT_EQ(loaded.recognition.sighting_cooldown_s, 120);
  EXPECT_EQ(loaded.recording.pre_buffer_s, 2);
  EXPECT_EQ(loaded.recording.post_buffer_s, 20);
  EXPECT_EQ(loaded.recording.max_segment_s, 600);
  EXPECT_EQ(loaded.storage.quota_bytes, 123ull << 30);
  EXPECT_FALSE(loaded.storage.auto_cleanup);
  EXPECT_FALSE(loaded.notifications.on_flagged);
  EXPECT_TRUE(loaded.notifications.on_unknown);

  // From an older or newer build: missing, unknown and mistyped keys.
  db_.reset();
  raw_exec(file(),
           R"(UPDATE settings SET json = '{"detection": {"min_score": 0.8, "future": 1}, "extra": {},)"
           R"( "recognition": {"match_threshold": "high", "sighting_cooldown_s": 99999999999},)"
           R"( "storage": {"quota_bytes": -5}}' WHERE id = 1)");
  db_ = open_sqlite_database(file());
  loaded = db_->settings().load();
  EXPECT_EQ(loaded.detection.min_score, 0.8f);
  EXPECT_EQ(loaded.detection.min_face_size, defaults.detection.min_face_size);
  EXPECT_EQ(loaded.recognition.match_threshold, defaults.recognition.match_threshold);
  EXPECT_EQ(loaded.recognition.sighting_cooldown_s, defaults.recognition.sighting_cooldown_s);
  EXPECT_EQ(loaded.storage.quota_bytes, defaults.storage.quota_bytes);
  EXPECT_EQ(loaded.notifications.on_flagged, defaults.notifications.on_flagged);

  db_.reset();
  raw_exec(file(), "UPDATE settings SET json = 'not json' WHERE id = 1");
  db_ = open_sqlite_database(file());
  EXPECT_THROW(db_->settings().load(), StorageError);
}

// --- Users and tokens --------------------------------------------------------

TEST_F(SqliteTest, UsersAreUniqueByName) {
  EXPECT_EQ(db_->users().count(), 0u);
  User admin{0, "admin", "$argon2id$a", at(kMonday)};
  db_->users().create(admin);
  EXPECT_GT(admin.id, 0u);
  User clash{0, "admin", "$argon2id$b", at(kMonday)};
  try {
    db_->users().create(clash);
    FAIL() << "a second 'admin'";
  } catch (const ConflictError& error) {
    EXPECT_NE(std::string(error.what()).find("admin"), std::string::npos);
  }
  EXPECT_EQ(clash.id, 0u);
  User other{0, "Admin", "$argon2id$c", at(kMonday + 1)};
  db_->users().create(other);
  EXPECT_NE(other.id, admin.id);
  EXPECT_EQ(db_->users().count(), 2u);

  auto found = db_->users().find_by_name("admin");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, admin.id);
  EXPECT_EQ(found->password_hash, "$argon2id$a");
  EXPECT_EQ(found->created_at, at(kMonday));
  EXPECT_EQ(db_->users().find(other.id)->username, "Admin");
  EXPECT_FALSE(db_->users().find_by_name("nobody"));
  EXPECT_FALSE(db_->users().find(999));
}

TEST_F(SqliteTest, TokensByHashExpiryAndTouch) {
  User user{0, "admin", "h", at(kMonday)};
  db_->users().create(user);
  auto token = [&](TokenKind kind, std::string hash, std::optional<std::int64_t> expires) {
    ApiToken t;
    t.id = make_uuid();
    t.user_id = user.id;
    t.kind = kind;
    t.name = "token " + hash;
    t.secret_hash = std::move(hash);
    t.created_at = at(kMonday);
    if (expires) t.expires_at = at(*expires);
    db_->tokens().create(t);
    return t;
  };
  ApiToken session = token(TokenKind::Session, "aa11", kMonday + kHour);
  ApiToken expired = token(TokenKind::Session, "bb22", kMonday - 1);
  ApiToken api = token(TokenKind::Api, "cc33", std::nullopt);

  auto found = db_->tokens().find_by_hash("aa11");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, session.id);
  EXPECT_EQ(found->user_id, user.id);
  EXPECT_EQ(found->kind, TokenKind::Session);
  EXPECT_EQ(found->name, "token aa11");
  EXPECT_EQ(found->expires_at, at(kMonday + kHour));
  EXPECT_FALSE(found->last_used_at);
  EXPECT_FALSE(db_->tokens().find_by_hash("AA11"));
  EXPECT_TRUE(db_->tokens().find_by_hash("bb22"));  // expired but still there: the caller decides

  EXPECT_EQ(db_->tokens().list(user.id, TokenKind::Session).size(), 2u);
  auto apis = db_->tokens().list(user.id, TokenKind::Api);
  ASSERT_EQ(apis.size(), 1u);
  EXPECT_EQ(apis[0].id, api.id);
  EXPECT_FALSE(apis[0].expires_at);
  EXPECT_TRUE(db_->tokens().list(user.id + 1, TokenKind::Api).empty());

  db_->tokens().touch(api.id, at(kMonday + 42));
  EXPECT_EQ(db_->tokens().find_by_hash("cc33")->last_used_at, at(kMonday + 42));

  EXPECT_EQ(db_->tokens().remove_expired(at(kMonday)), 1u);
  EXPECT_FALSE(db_->tokens().find_by_hash("bb22"));
  EXPECT_TRUE(db_->tokens().find_by_hash("aa11"));
  EXPECT_TRUE(db_->tokens().find_by_hash("cc33"));
  EXPECT_EQ(db_->tokens().remove_expired(at(kMonday)), 0u);

  EXPECT_TRUE(db_->tokens().remove(session.id));
  EXPECT_FALSE(db_->tokens().remove(session.id));
  EXPECT_FALSE(db_->tokens().find_by_hash("aa11"));
  (void)expired;

  ApiToken clash = api;
  clash.id = make_uuid();
  EXPECT_THROW(db_->tokens().create(clash), ConflictError);  // same secret hash
  ApiToken orphan = api;
  orphan.id = make_uuid();
  orphan.secret_hash = "dd44";
  orphan.user_id = user.id + 100;
  EXPECT_THROW(db_->tokens().create(orphan), NotFoundError);
}

// --- Concurrency and durability ----------------------------------------------

TEST_F(SqliteTest, ManyThreadsReadAndWriteAtOnce) {
  constexpr int kWriters = 4, kReaders = 4, kPerWriter = 40;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::string first_error;
  std::mutex error_mutex;
  auto record = [&](const std::exception& error) {
    std::lock_guard lock(error_mutex);
    if (failures++ == 0) first_error = error.what();
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int i = 0; i < kPerWriter; ++i) {
          Profile profile = make_profile("w" + std::to_string(w) + "-" + std::to_string(i));
          profile.id = Uuid::from_random_bytes({static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(i), 1, 2, 3});
          std::vector<StoredEmbedding> embeddings = {make_embedding(i)};
          db_->profiles().create(profile, embeddings);
          Sighting sighting = make_sighting(profile, kMonday + i);
          sighting.id = Uuid::from_random_bytes({static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(i), 9});
          db_->sightings().create(sighting);
          profile.notes = "updated";
          db_->profiles().update(profile);
        }
      } catch (const std::exception& error) {
        record(error);
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      try {
        while (writing) {
          ProfileFilter filter;
          filter.query = "w";
          auto page = db_->profiles().list(filter, {1, 20});
          if (page.items.size() > page.total) throw std::runtime_error("page larger than total");
          db_->sightings().list({}, {1, 20});
          db_->profiles().count();
        }
      } catch (const std::exception& error) {
        record(error);
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<std::size_t>(w)].join();
  writing = false;
  for (std::size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_EQ(db_->profiles().count(), std::uint64_t{kWriters * kPerWriter});
  EXPECT_EQ(db_->sightings().list({}, {}).total, std::uint64_t{kWriters * kPerWriter});
  ProfileFilter updated;
  updated.query = "updated";
  EXPECT_EQ(db_->profiles().list(updated, {}).total, std::uint64_t{kWriters * kPerWriter});
}

TEST_F(SqliteTest, TwoDatabaseObjectsOnOneFileWaitInsteadOfFailing) {
  // Another process (e.g. a CLI command) writing to the same file: the busy
  // timeout makes each side wait for the other's lock.
  auto second = open_sqlite_database(file());
  std::atomic<int> failures{0};
  auto writer = [&](Database& db, int tag) {
    try {
      for (int i = 0; i < 30; ++i) {
        Profile profile = make_profile("t" + std::to_string(tag));
        profile.id = Uuid::from_random_bytes({static_cast<std::uint8_t>(tag), static_cast<std::uint8_t>(i), 7});
        std::vector<StoredEmbedding> none;
        db.profiles().create(profile, none);
      }
    } catch (const std::exception&) {
      ++failures;
    }
  };
  std::thread a(writer, std::ref(*db_), 1);
  std::thread b(writer, std::ref(*second), 2);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db_->profiles().count(), 60u);
}

TEST_F(SqliteTest, AWriteSurvivesKill9RightAfterItReturns) {
  db_.reset();  // the child opens its own connections
  const Uuid id = make_uuid();
  std::vector<StoredEmbedding> expected = {make_embedding(7, 0.8f), make_embedding(8, 0.2f)};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      auto db = open_sqlite_database(file());
      Profile profile = make_profile("Durable");
      profile.id = id;
      auto embeddings = expected;
      db->profiles().create(profile, embeddings);
      raise(SIGKILL);  // no destructors, no close, no checkpoint
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed before the kill";
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  db_ = open_sqlite_database(file());
  auto found = db_->profiles().find(id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "Durable");
  auto stored = db_->profiles().embeddings_of(id);
  ASSERT_EQ(stored.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(same_bits(stored[i].descriptor, expected[i].descriptor)) << i;
    EXPECT_EQ(std::bit_cast<std::uint32_t>(stored[i].quality), std::bit_cast<std::uint32_t>(expected[i].quality));
  }
}

TEST(SqlitePerformance, ListingTenThousandProfilesStaysFast) {
  TempDir dir;
  const fs::path file = dir.path() / "big.db";
  open_sqlite_database(file).reset();
  // Bulk-load in one transaction (10,000 durable creates would only measure
  // fsync); the rows match what ProfileRepository::create writes.
  raw_exec(file,
           "BEGIN;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
           "INSERT INTO profiles (uuid, name, classification, tags, notes, created_at, updated_at, sighting_count) "
           "SELECT printf('00000000-0000-4000-8000-%012d', i), 'person ' || i, "
           "CASE i % 4 WHEN 0 THEN 'trusted' WHEN 1 THEN 'known' WHEN 2 THEN 'unknown' ELSE 'flagged' END, "
           "'[\"t' || (i % 10) || '\"]', 'notes ' || i, 1704067200000 + i, 1704067200000 + i, i % 50 FROM n;"
           "INSERT INTO profile_tags (tag, profile_key) SELECT 't' || (key % 10), key FROM profiles;"
           "COMMIT;");
  auto db = open_sqlite_database(file);
  ASSERT_EQ(db->profiles().count(), 10000u);

  ProfileFilter flagged_by_sightings;
  flagged_by_sightings.classification = Classification::Flagged;
  flagged_by_sightings.sort = ProfileSort::SightingsDesc;
  ProfileFilter tagged;
  tagged.tag = "t3";
  ProfileFilter searched;
  searched.query = "PERSON 99";
  searched.sort = ProfileSort::NameAsc;

  const auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    auto all = db->profiles().list({}, {5, 50});
    ASSERT_EQ(all.total, 10000u);
    ASSERT_EQ(all.items.size(), 50u);
    ASSERT_EQ(all.items[0].name, "person 9800");
    auto flagged = db->profiles().list(flagged_by_sightings, {1, 50});
    ASSERT_EQ(flagged.total, 2500u);
    ASSERT_EQ(flagged.items[0].sighting_count, 49u);
    ASSERT_EQ(db->profiles().list(tagged, {1, 50}).total, 1000u);
    ASSERT_EQ(db->profiles().list(searched, {1, 50}).total, 111u);  // 99, 990-999, 9900-9999
  }
  const auto per_round =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start) / kRounds;
  // Four listings with totals; generous for sanitizer builds on a slow machine.
  EXPECT_LT(per_round, 200ms) << per_round.count() << " us per round";
  std::cout << "[ perf ] four 10k-profile listings: " << per_round.count() << " us\n";
}

}  // namespace
}  // namespace safelynx::storage
