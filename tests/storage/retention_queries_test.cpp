// The queries the storage cleanup needs (oldest finished recordings, oldest
// sightings with snapshots, clearing a sighting's snapshot flags), their
// indexes (migration 2), and the storage settings it reads.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <array>
#include <filesystem>
#include <random>
#include <string>

#include "storage/settings_json.hpp"
#include "storage/sqlite_database.hpp"
#include "../support/sqlite_raw.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-retention-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Uuid make_uuid() {
  static std::mt19937_64 random(777);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

constexpr std::int64_t kT0 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kMinute = 60'000;

// Runs `sql` on its own connection; returns the rows' columns joined by '|'.
std::vector<std::string> raw_query(const fs::path& file, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (statement && sqlite3_step(statement) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(statement); ++i) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, i));
      row += (i ? "|" : "") + std::string(text ? text : "NULL");
    }
    rows.push_back(row);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return rows;
}

using safelynx::testing::raw_exec;

class RetentionQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = open_sqlite_database(file());
    profile_.id = make_uuid();
    profile_.created_at = at(kT0);
    profile_.updated_at = at(kT0);
    std::vector<StoredEmbedding> none;
    db_->profiles().create(profile_, none);
  }
  fs::path file() const { return dir_.path() / "safelynx.db"; }

  Recording add_recording(std::int64_t start_ms, std::optional<std::int64_t> end_ms) {
    Recording recording;
    recording.id = make_uuid();
    recording.camera_id = camera_;
    recording.start = at(start_ms);
    if (end_ms) recording.end = at(*end_ms);
    recording.file = recording.id.to_string() + ".mp4";
    recording.size_bytes = 1000;
    db_->recordings().create(recording);
    return recording;
  }

  Sighting add_sighting(std::int64_t ms, bool face, bool frame) {
    Sighting sighting;
    sighting.id = make_uuid();
    sighting.profile_id = profile_.id;
    sighting.camera_id = camera_;
    sighting.time = at(ms);
    sighting.box = {1, 2, 3, 4};
    sighting.has_face_snapshot = face;
    sighting.has_frame_snapshot = frame;
    db_->sightings().create(sighting);
    return sighting;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  Profile profile_;
  Uuid camera_ = make_uuid();
};

std::vector<Uuid> ids_of(const std::vector<Recording>& recordings) {
  std::vector<Uuid> ids;
  for (const auto& r : recordings) ids.push_back(r.id);
  return ids;
}

std::vector<Uuid> ids_of(const std::vector<Sighting>& sightings) {
  std::vector<Uuid> ids;
  for (const auto& s : sightings) ids.push_back(s.id);
  return ids;
}

TEST_F(RetentionQueriesTest, OldestFinishedSkipsUnfinishedAndYoungRecordingsOldestStartFirst) {
  const Recording third = add_recording(kT0 + 20 * kMinute, kT0 + 25 * kMinute);
  const Recording unfinished = add_recording(kT0, std::nullopt);  // oldest start, still being written
  const Recording first = add_recording(kT0 + 1 * kMinute, kT0 + 5 * kMinute);
  const Recording second = add_recording(kT0 + 10 * kMinute, kT0 + 15 * kMinute);
  const Recording young = add_recording(kT0 + 30 * kMinute, kT0 + 40 * kMinute);

  const auto all = db_->recordings().oldest_finished(at(kT0 + 40 * kMinute), 100);
  EXPECT_EQ(ids_of(all), (std::vector<Uuid>{first.id, second.id, third.id}));  // end < ended_before, strictly
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].file, first.file);
  EXPECT_EQ(all[0].size_bytes, 1000u);
  ASSERT_TRUE(all[0].end.has_value());
  EXPECT_EQ(to_unix_ms(*all[0].end), kT0 + 5 * kMinute);

  EXPECT_EQ(ids_of(db_->recordings().oldest_finished(at(kT0 + 41 * kMinute), 100)),
            (std::vector<Uuid>{first.id, second.id, third.id, young.id}));
  EXPECT_EQ(ids_of(db_->recordings().oldest_finished(at(kT0 + 41 * kMinute), 2)),
            (std::vector<Uuid>{first.id, second.id}));
  EXPECT_TRUE(db_->recordings().oldest_finished(at(kT0 + 5 * kMinute), 100).empty());
  EXPECT_TRUE(db_->recordings().oldest_finished(at(kT0 + 41 * kMinute), 0).empty());
  (void)unfinished;

  ASSERT_TRUE(db_->recordings().remove(first.id));
  EXPECT_EQ(ids_of(db_->recordings().oldest_finished(at(kT0 + 41 * kMinute), 1)), (std::vector<Uuid>{second.id}));
}

TEST_F(RetentionQueriesTest, OldestWithSnapshotsSkipsSightingsWithoutThemOldestFirst) {
  const Sighting frame_only = add_sighting(kT0 + 3 * kMinute, false, true);
  const Sighting none = add_sighting(kT0 + 1 * kMinute, false, false);
  const Sighting both = add_sighting(kT0 + 2 * kMinute, true, true);
  const Sighting face_only = add_sighting(kT0 + 4 * kMinute, true, false);
  const Sighting young = add_sighting(kT0 + 10 * kMinute, true, true);
  (void)none;

  const auto found = db_->sightings().oldest_with_snapshots(at(kT0 + 10 * kMinute), 100);
  EXPECT_EQ(ids_of(found), (std::vector<Uuid>{both.id, frame_only.id, face_only.id}));  // time < before, strictly
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].profile_id, profile_.id);
  EXPECT_TRUE(found[0].has_face_snapshot);
  EXPECT_TRUE(found[0].has_frame_snapshot);
  EXPECT_EQ(ids_of(db_->sightings().oldest_with_snapshots(at(kT0 + 11 * kMinute), 2)),
            (std::vector<Uuid>{both.id, frame_only.id}));
  EXPECT_TRUE(db_->sightings().oldest_with_snapshots(at(kT0 + 11 * kMinute), 0).empty());
  EXPECT_TRUE(db_->sightings().oldest_with_snapshots(at(kT0), 100).empty());

  EXPECT_TRUE(db_->sightings().clear_snapshots(both.id));
  const auto cleared = db_->sightings().find(both.id);
  ASSERT_TRUE(cleared.has_value());
  EXPECT_FALSE(cleared->has_face_snapshot);
  EXPECT_FALSE(cleared->has_frame_snapshot);
  EXPECT_EQ(to_unix_ms(cleared->time), kT0 + 2 * kMinute);  // the row stays as it was otherwise
  EXPECT_EQ(ids_of(db_->sightings().oldest_with_snapshots(at(kT0 + 11 * kMinute), 100)),
            (std::vector<Uuid>{frame_only.id, face_only.id, young.id}));
  EXPECT_TRUE(db_->sightings().clear_snapshots(none.id));  // exists: true even with nothing to clear
  EXPECT_FALSE(db_->sightings().clear_snapshots(make_uuid()));
  // The profile's counts are not touched.
  EXPECT_EQ(db_->profiles().find(profile_.id)->sighting_count, 5u);
}

TEST_F(RetentionQueriesTest, TheCleanupQueriesUseTheirIndexes) {
  db_.reset();
  // The same statements the repositories run.
  const auto snapshot_plan = raw_query(
      file(),
      "EXPLAIN QUERY PLAN SELECT s.uuid FROM sightings s JOIN profiles p ON p.key = s.profile_key "
      "WHERE (s.has_face_snapshot <> 0 OR s.has_frame_snapshot <> 0) AND s.time < 5 ORDER BY s.time, s.id LIMIT 10");
  std::string joined;
  for (const auto& row : snapshot_plan) joined += row + "\n";
  EXPECT_NE(joined.find("sightings_snapshot_time"), std::string::npos) << joined;

  const auto recording_plan =
      raw_query(file(),
                "EXPLAIN QUERY PLAN SELECT uuid FROM recordings WHERE end_at IS NOT NULL AND end_at < 5 "
                "ORDER BY start_at, id LIMIT 10");
  joined.clear();
  for (const auto& row : recording_plan) joined += row + "\n";
  EXPECT_NE(joined.find("recordings_finished_start"), std::string::npos) << joined;
}

TEST_F(RetentionQueriesTest, MigrationTwoUpgradesAVersionOneDatabase) {
  // A database as version 1 created it (later migrations must not have run).
  db_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file().string() + suffix);
  db_ = open_sqlite_database(file(), SqliteOptions{.migrate_to = 1});
  ASSERT_EQ(db_->schema_version(), 1);
  db_.reset();
  // A profile and a sighting as version 1 wrote them (today's writer knows later columns).
  const Uuid old_id = make_uuid();
  raw_exec(file(), "INSERT INTO profiles (uuid, classification, created_at, updated_at) VALUES ('" +
                       profile_.id.to_string() + "', 'unknown', " + std::to_string(kT0) + ", " + std::to_string(kT0) + ")");
  raw_exec(file(),
           "INSERT INTO sightings (uuid, profile_key, camera_uuid, time, box_x, box_y, box_width, box_height, "
           "detector_score, match_distance, has_face_snapshot, has_frame_snapshot, recording_uuid, recording_offset_s) "
           "VALUES ('" + old_id.to_string() + "', (SELECT key FROM profiles), '" + camera_.to_string() + "', " +
               std::to_string(kT0) + ", 1, 2, 3, 4, 0.9, 0.3, 1, 0, NULL, 0)");
  db_ = open_sqlite_database(file());
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  EXPECT_GE(latest_sqlite_schema_version(), 2);
  EXPECT_EQ(ids_of(db_->sightings().oldest_with_snapshots(at(kT0 + 1), 10)), (std::vector<Uuid>{old_id}));
  db_.reset();
  EXPECT_EQ(raw_query(file(),
                      "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN "
                      "('sightings_snapshot_time', 'recordings_finished_start') ORDER BY name"),
            (std::vector<std::string>{"recordings_finished_start", "sightings_snapshot_time"}));
}

TEST_F(RetentionQueriesTest, StorageSettingsDefaultsRoundTripAndOldJsonWithoutRetention) {
  const Settings defaults;
  EXPECT_EQ(defaults.storage.quota_bytes, 100'000'000'000ull);
  EXPECT_EQ(defaults.storage.min_retention_days, 1);
  EXPECT_EQ(settings_to_json(defaults)["storage"]["min_retention_days"], 1);

  Settings changed;
  changed.storage.min_retention_days = 30;
  db_->settings().save(changed);
  EXPECT_EQ(db_->settings().load().storage.min_retention_days, 30);

  // Stored by a build that did not know the key: the default.
  db_.reset();
  raw_exec(file(),
           R"(UPDATE settings SET json = '{"storage": {"quota_bytes": 200000000000, "auto_cleanup": false}}')");
  db_ = open_sqlite_database(file());
  const Settings loaded = db_->settings().load();
  EXPECT_EQ(loaded.storage.quota_bytes, 200'000'000'000ull);
  EXPECT_FALSE(loaded.storage.auto_cleanup);
  EXPECT_EQ(loaded.storage.min_retention_days, 1);

  // A value of the wrong type also keeps the default.
  db_.reset();
  raw_exec(file(), R"(UPDATE settings SET json = '{"storage": {"min_retention_days": "x"}}')");
  db_ = open_sqlite_database(file());
  EXPECT_EQ(db_->settings().load().storage.min_retention_days, 1);
}

}  // namespace
}  // namespace safelynx::storage
