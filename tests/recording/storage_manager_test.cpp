// StorageManager against a real SQLite database, a real MediaStore and real
// files of known sizes in a temporary folder. Quotas are set relative to the
// measured usage, so the database's own size (and its WAL) does not matter.
#include "recording/storage_manager.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/config.hpp"
#include "server/api/json_mapping.hpp"
#include "storage/settings_json.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::recording {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-storage-manager-XXXXXX").string();
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
  static std::mt19937_64 random(4242);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

constexpr std::int64_t kOld = 1'704'067'200'000;  // 2024-01-01T00:00:00Z: far older than any retention here
constexpr std::int64_t kHour = 3'600'000;
constexpr std::uint64_t kKiB = 1024;

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; }));
}

class StorageManagerTest : public ::testing::Test {
 protected:
  StorageManagerTest()
      : db_(storage::open_sqlite_database(dir_.path() / "x.db", {})),
        media_(dir_.path() / "data"),
        subscription_(bus_.subscribe([this](const DomainEvent& event) {
          if (const auto* warning = std::get_if<StorageWarning>(&event.payload)) {
            std::lock_guard lock(mutex_);
            warnings_.push_back(*warning);
            changed_.notify_all();
          }
        })) {
    profile_.id = make_uuid();
    profile_.created_at = from_unix_ms(kOld);
    profile_.updated_at = profile_.created_at;
    std::vector<StoredEmbedding> none;
    db_->profiles().create(profile_, none);
  }

  std::unique_ptr<StorageManager> make_manager(StoragePolicy policy, std::chrono::seconds interval = 60s) {
    return std::make_unique<StorageManager>(
        *db_, media_, bus_, policy,
        [this](const std::string& line) {
          std::lock_guard lock(mutex_);
          log_.push_back(line);
        },
        interval);
  }

  // What the manager counts: the database plus every media folder.
  std::uint64_t used() {
    std::uint64_t total = db_->size_bytes();
    for (const auto& [kind, bytes] : media_.usage()) total += bytes;
    return total;
  }
  // A policy whose quota puts the current usage at `ratio` of it.
  StoragePolicy policy_at(double ratio, bool auto_cleanup = true, int retention_days = 1) {
    StoragePolicy policy;
    policy.quota_bytes = static_cast<std::uint64_t>(static_cast<double>(used()) / ratio);
    policy.auto_cleanup = auto_cleanup;
    policy.min_retention_days = retention_days;
    return policy;
  }

  Recording add_recording(std::int64_t start_ms, std::optional<std::int64_t> end_ms, std::uint64_t bytes) {
    Recording recording;
    recording.id = make_uuid();
    recording.camera_id = camera_;
    recording.start = from_unix_ms(start_ms);
    if (end_ms) recording.end = from_unix_ms(*end_ms);
    recording.file = camera_.to_string() + "/" + recording.id.to_string() + ".mp4";
    recording.size_bytes = end_ms ? bytes : 0;
    const fs::path file = recording_path(recording);
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << std::string(bytes, 'v');
    db_->recordings().create(recording);
    return recording;
  }
  fs::path recording_path(const Recording& recording) const { return media_.recordings_dir() / recording.file; }

  Sighting add_sighting(std::int64_t ms, std::uint64_t face_bytes, std::uint64_t frame_bytes,
                        std::optional<Uuid> recording = std::nullopt) {
    Sighting sighting;
    sighting.id = make_uuid();
    sighting.profile_id = profile_.id;
    sighting.camera_id = camera_;
    sighting.time = from_unix_ms(ms);
    sighting.box = {1, 2, 3, 4};
    sighting.has_face_snapshot = face_bytes > 0;
    sighting.has_frame_snapshot = frame_bytes > 0;
    sighting.recording_id = recording;
    if (face_bytes) media_.write(storage::MediaKind::FaceSnapshot, sighting.id, std::string(face_bytes, 'f'));
    if (frame_bytes) media_.write(storage::MediaKind::FrameSnapshot, sighting.id, std::string(frame_bytes, 'F'));
    db_->sightings().create(sighting);
    return sighting;
  }
  bool has_snapshot_files(const Sighting& sighting) const {
    return media_.exists(storage::MediaKind::FaceSnapshot, sighting.id) ||
           media_.exists(storage::MediaKind::FrameSnapshot, sighting.id);
  }

  std::vector<StorageWarning> warnings() {
    std::lock_guard lock(mutex_);
    return warnings_;
  }
  std::vector<std::string> log_lines() {
    std::lock_guard lock(mutex_);
    return log_;
  }
  bool wait_for_warnings(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return warnings_.size() >= n; });
  }

  TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  storage::MediaStore media_;
  EventBus bus_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<StorageWarning> warnings_;
  std::vector<std::string> log_;
  EventBus::Subscription subscription_;
  Profile profile_;
  Uuid camera_ = make_uuid();
};

TEST_F(StorageManagerTest, BelowTheWarningLevelNothingHappens) {
  const Recording recording = add_recording(kOld, kOld + kHour, 200 * kKiB);
  const Sighting sighting = add_sighting(kOld, 50 * kKiB, 100 * kKiB);
  const std::uint64_t before = used();
  auto manager = make_manager(policy_at(0.85));

  const StorageCheck check = manager->check_now();
  EXPECT_EQ(check.used_bytes, before);
  EXPECT_EQ(check.quota_bytes, static_cast<std::uint64_t>(static_cast<double>(before) / 0.85));
  EXPECT_FALSE(check.warned);
  EXPECT_EQ(check.recordings_deleted, 0u);
  EXPECT_EQ(check.snapshots_deleted, 0u);
  EXPECT_EQ(check.bytes_freed, 0u);
  EXPECT_TRUE(warnings().empty());
  EXPECT_TRUE(log_lines().empty());
  EXPECT_TRUE(fs::exists(recording_path(recording)));
  EXPECT_TRUE(has_snapshot_files(sighting));
}

TEST_F(StorageManagerTest, CrossingTheWarningLevelWarnsOncePerCrossing) {
  add_recording(kOld, kOld + kHour, 300 * kKiB);
  auto manager = make_manager(policy_at(0.92));  // above 90%, below the 95% cleanup level
  const std::uint64_t quota = policy_at(0.92).quota_bytes;

  StorageCheck check = manager->check_now();
  EXPECT_TRUE(check.warned);
  EXPECT_EQ(check.recordings_deleted, 0u);
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_EQ(warnings()[0].used_bytes, used());
  EXPECT_EQ(warnings()[0].quota_bytes, quota);
  EXPECT_NE(warnings()[0].message.find("92."), std::string::npos) << warnings()[0].message;
  EXPECT_EQ(count_containing(log_lines(), warnings()[0].message), 1u);  // logged too

  // Still above: no second warning.
  check = manager->check_now();
  EXPECT_FALSE(check.warned);
  EXPECT_EQ(warnings().size(), 1u);

  // Below 90% (a larger quota), then above again: a new crossing, a new warning.
  manager->set_policy(policy_at(0.80));
  EXPECT_FALSE(manager->check_now().warned);
  EXPECT_EQ(warnings().size(), 1u);
  manager->set_policy(policy_at(0.93));
  EXPECT_TRUE(manager->check_now().warned);
  EXPECT_EQ(warnings().size(), 2u);
}

TEST_F(StorageManagerTest, CleanupDeletesTheOldestRecordingsFirstThenTheOldestSnapshots) {
  // Added out of order: the cleanup goes by time, not by insertion.
  const Recording second = add_recording(kOld + 2 * kHour, kOld + 3 * kHour, 100 * kKiB);
  const Recording first = add_recording(kOld, kOld + kHour, 100 * kKiB);
  const Recording third = add_recording(kOld + 4 * kHour, kOld + 5 * kHour, 100 * kKiB);
  std::vector<Sighting> sightings;  // oldest first
  for (int i = 0; i < 8; ++i) {
    sightings.push_back(add_sighting(kOld + i * kHour + 10, 100 * kKiB, 300 * kKiB,
                                     i == 0 ? std::optional<Uuid>(first.id) : std::nullopt));
  }
  const StoragePolicy policy = policy_at(0.97);
  auto manager = make_manager(policy);

  const StorageCheck check = manager->check_now();
  // All recordings went (they are first), then some snapshots, the oldest.
  EXPECT_EQ(check.recordings_deleted, 3u);
  for (const Recording& recording : {first, second, third}) {
    EXPECT_FALSE(fs::exists(recording_path(recording))) << recording.file;
    EXPECT_FALSE(db_->recordings().find(recording.id).has_value());
  }
  ASSERT_GE(check.snapshots_deleted, 1u);
  ASSERT_LT(check.snapshots_deleted, sightings.size());  // it stopped once below the target
  for (std::size_t i = 0; i < sightings.size(); ++i) {
    const auto stored = db_->sightings().find(sightings[i].id);
    ASSERT_TRUE(stored.has_value()) << "the sighting rows stay";
    const bool deleted = i < check.snapshots_deleted;
    EXPECT_EQ(has_snapshot_files(sightings[i]), !deleted) << i;
    EXPECT_EQ(stored->has_face_snapshot, !deleted) << i;
    EXPECT_EQ(stored->has_frame_snapshot, !deleted) << i;
  }
  // The link to the deleted video is gone.
  EXPECT_FALSE(db_->sightings().find(sightings[0].id)->recording_id.has_value());
  EXPECT_EQ(check.bytes_freed, 3 * 100 * kKiB + check.snapshots_deleted * 400 * kKiB);

  EXPECT_LT(static_cast<double>(check.used_bytes), 0.80 * static_cast<double>(policy.quota_bytes));
  EXPECT_EQ(check.used_bytes, used());
  // One warning: the 90% crossing (the cleanup reached its target).
  EXPECT_TRUE(check.warned);
  EXPECT_EQ(warnings().size(), 1u);

  // One log line per deletion, naming what, when and how much.
  const auto lines = log_lines();
  EXPECT_EQ(count_containing(lines, "deleted recording "), 3u);
  EXPECT_EQ(count_containing(lines, "deleted the snapshots of sighting "), check.snapshots_deleted);
  for (const Recording& recording : {first, second, third}) {
    ASSERT_EQ(count_containing(lines, recording.id.to_string()), 1u);
    const std::string line = *std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(recording.id.to_string()) != std::string::npos;
    });
    EXPECT_NE(line.find(to_iso8601(recording.start)), std::string::npos) << line;
    EXPECT_NE(line.find("102400 bytes"), std::string::npos) << line;
  }
  const std::string oldest = sightings[0].id.to_string();
  const auto snapshot_line = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find("snapshots of sighting " + oldest) != std::string::npos;
  });
  ASSERT_NE(snapshot_line, lines.end());
  EXPECT_NE(snapshot_line->find(to_iso8601(sightings[0].time)), std::string::npos) << *snapshot_line;
  EXPECT_NE(snapshot_line->find("409600 bytes"), std::string::npos) << *snapshot_line;

  // Below the warning level now: the next check does nothing.
  const StorageCheck again = manager->check_now();
  EXPECT_FALSE(again.warned);
  EXPECT_EQ(again.recordings_deleted + again.snapshots_deleted, 0u);
}

TEST_F(StorageManagerTest, WithoutAutoCleanupItOnlyWarns) {
  const Recording recording = add_recording(kOld, kOld + kHour, 300 * kKiB);
  const Sighting sighting = add_sighting(kOld, 100 * kKiB, 300 * kKiB);
  auto manager = make_manager(policy_at(0.99, false));

  const StorageCheck check = manager->check_now();
  EXPECT_TRUE(check.warned);
  EXPECT_EQ(check.recordings_deleted + check.snapshots_deleted, 0u);
  EXPECT_EQ(warnings().size(), 1u);
  EXPECT_TRUE(fs::exists(recording_path(recording)));
  EXPECT_TRUE(db_->recordings().find(recording.id).has_value());
  EXPECT_TRUE(has_snapshot_files(sighting));
  EXPECT_EQ(count_containing(log_lines(), "deleted"), 0u);
}

TEST_F(StorageManagerTest, RetentionProtectsYoungItemsAndAWarningSaysTheTargetWasMissed) {
  const std::int64_t now = to_unix_ms(now_ms());
  const Recording young_recording = add_recording(now - 2 * kHour, now - kHour, 400 * kKiB);
  const Sighting young_sighting = add_sighting(now - kHour, 100 * kKiB, 300 * kKiB);
  const Sighting old_sighting = add_sighting(kOld, 10 * kKiB, 20 * kKiB);  // too small to reach the target
  const StoragePolicy policy = policy_at(0.99, true, 1);
  auto manager = make_manager(policy);

  const StorageCheck check = manager->check_now();
  EXPECT_EQ(check.recordings_deleted, 0u);
  EXPECT_EQ(check.snapshots_deleted, 1u);  // only the old one
  EXPECT_FALSE(has_snapshot_files(old_sighting));
  EXPECT_TRUE(fs::exists(recording_path(young_recording)));
  EXPECT_TRUE(db_->recordings().find(young_recording.id).has_value());
  EXPECT_TRUE(has_snapshot_files(young_sighting));
  EXPECT_TRUE(db_->sightings().find(young_sighting.id)->has_face_snapshot);

  // The crossing, then that the cleanup fell short; both logged.
  ASSERT_EQ(warnings().size(), 2u);
  const StorageWarning short_of_target = warnings()[1];
  EXPECT_NE(short_of_target.message.find("could not get below 80"), std::string::npos) << short_of_target.message;
  EXPECT_NE(short_of_target.message.find("retention"), std::string::npos) << short_of_target.message;
  EXPECT_EQ(short_of_target.quota_bytes, policy.quota_bytes);
  EXPECT_GE(static_cast<double>(short_of_target.used_bytes), 0.8 * static_cast<double>(policy.quota_bytes));
  EXPECT_EQ(count_containing(log_lines(), short_of_target.message), 1u);

  // Not repeated at every check while nothing changes.
  EXPECT_FALSE(manager->check_now().warned);
  EXPECT_EQ(warnings().size(), 2u);

  // Without the retention the young items go too.
  StoragePolicy no_retention = policy;
  no_retention.min_retention_days = 0;
  manager->set_policy(no_retention);
  const StorageCheck cleaned = manager->check_now();
  EXPECT_EQ(cleaned.recordings_deleted, 1u);
  EXPECT_FALSE(fs::exists(recording_path(young_recording)));
  EXPECT_LT(static_cast<double>(cleaned.used_bytes), 0.8 * static_cast<double>(policy.quota_bytes));
}

TEST_F(StorageManagerTest, AnUnfinishedRecordingIsNeverDeleted) {
  const Recording unfinished = add_recording(kOld, std::nullopt, 1000 * kKiB);  // the oldest, still being written
  const Recording finished = add_recording(kOld + kHour, kOld + 2 * kHour, 50 * kKiB);
  const StoragePolicy policy = policy_at(0.99, true, 0);
  auto manager = make_manager(policy);

  const StorageCheck check = manager->check_now();
  EXPECT_EQ(check.recordings_deleted, 1u);
  EXPECT_FALSE(fs::exists(recording_path(finished)));
  EXPECT_TRUE(fs::exists(recording_path(unfinished)));
  EXPECT_TRUE(db_->recordings().find(unfinished.id).has_value());
  EXPECT_EQ(count_containing(log_lines(), unfinished.id.to_string()), 0u);
  // It could not get below the target.
  ASSERT_EQ(warnings().size(), 2u);
  EXPECT_NE(warnings()[1].message.find("still being recorded"), std::string::npos) << warnings()[1].message;
}

TEST_F(StorageManagerTest, TheThreadChecksAtStartAndWhenThePolicyChanges) {
  add_recording(kOld, kOld + kHour, 300 * kKiB);
  auto manager = make_manager(policy_at(0.92), 3600s);
  manager->start();
  ASSERT_TRUE(wait_for_warnings(1, 10s)) << "no check at start";
  // Cleanup level with an hour until the next periodic check: set_policy wakes it.
  manager->set_policy(policy_at(0.99, true, 0));
  for (int i = 0; i < 1000 && db_->recordings().oldest_finished(now_ms(), 1).size() == 1; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(db_->recordings().oldest_finished(now_ms(), 1).empty()) << "no check after set_policy";
  manager->stop();
}

TEST_F(StorageManagerTest, StopIsPromptAndIdempotent) {
  add_recording(kOld, kOld + kHour, 300 * kKiB);
  auto manager = make_manager(policy_at(0.92), 3600s);
  manager->start();
  manager->start();  // a second start is ignored
  ASSERT_TRUE(wait_for_warnings(1, 10s));
  const auto begin = std::chrono::steady_clock::now();
  manager->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  manager->stop();
  EXPECT_EQ(warnings().size(), 1u);  // one thread, one check

  // stop() cuts short only the thread's cleanup, not one on the caller's thread.
  manager->set_policy(policy_at(0.99, true, 0));
  EXPECT_EQ(manager->check_now().recordings_deleted, 1u);

  // It can run again after a stop; the destructor stops it.
  manager->start();
  manager.reset();
}

// --- The storage settings the manager is configured from ----------------------

TEST(StorageSettings, DefaultsAndRetentionRange) {
  const Settings defaults;
  EXPECT_EQ(defaults.storage.quota_bytes, 100'000'000'000ull);
  EXPECT_EQ(defaults.storage.min_retention_days, 1);
  EXPECT_TRUE(defaults.storage.auto_cleanup);
  const StoragePolicy policy;
  EXPECT_EQ(policy.quota_bytes, defaults.storage.quota_bytes);
  EXPECT_EQ(policy.min_retention_days, defaults.storage.min_retention_days);

  Settings s;
  for (const int days : {0, 3650}) {
    s.storage.min_retention_days = days;
    EXPECT_TRUE(validate(s).empty()) << days;
  }
  for (const int days : {-1, 3651}) {
    s.storage.min_retention_days = days;
    const auto problems = validate(s);
    ASSERT_EQ(problems.size(), 1u) << days;
    EXPECT_EQ(problems[0].key, "storage.min_retention_days");
    EXPECT_EQ(problems[0].message, "must be in [0, 3650], got " + std::to_string(days));
  }
}

TEST(StorageSettings, JsonShapeAndStrictPut) {
  EXPECT_EQ(storage::settings_to_json(Settings{})["storage"],
            nlohmann::json({{"quota_bytes", 100'000'000'000ull}, {"auto_cleanup", true}, {"min_retention_days", 1}}));
  const Settings put =
      server::apply_settings_json(Settings{}, nlohmann::json::parse(R"({"storage": {"min_retention_days": 30}})"));
  EXPECT_EQ(put.storage.min_retention_days, 30);
  EXPECT_EQ(put.storage.quota_bytes, 100'000'000'000ull);
  auto error_of = [](const char* body) -> std::pair<int, std::string> {
    try {
      (void)server::apply_settings_json(Settings{}, nlohmann::json::parse(body));
    } catch (const server::ApiError& e) {
      return {e.status(), e.what()};
    }
    return {0, ""};
  };
  const auto wrong_type = error_of(R"({"storage": {"min_retention_days": 1.5}})");
  EXPECT_EQ(wrong_type.first, 422);
  EXPECT_NE(wrong_type.second.find("storage.min_retention_days"), std::string::npos) << wrong_type.second;
  const auto out_of_range = error_of(R"({"storage": {"min_retention_days": 4000}})");
  EXPECT_EQ(out_of_range.first, 422);
  EXPECT_NE(out_of_range.second.find("storage.min_retention_days must be in [0, 3650]"), std::string::npos)
      << out_of_range.second;
  EXPECT_EQ(error_of(R"({"storage": {"min_retention_days": 99999999999}})").first, 422);
}

TEST(StorageSettings, ConfigKeyFromTomlAndEnvironment) {
  const app::Config defaults = app::load_config(std::nullopt, {});
  EXPECT_EQ(defaults.settings.storage.min_retention_days, 1);
  EXPECT_EQ(defaults.settings.storage.quota_bytes, 100'000'000'000ull);

  const TempDir dir;
  const fs::path file = dir.path() / "safelynx.toml";
  std::ofstream(file) << "[storage]\nmin_retention_days = 7\n";
  const app::Config from_file = app::load_config(file, {});
  EXPECT_EQ(from_file.settings.storage.min_retention_days, 7);
  EXPECT_TRUE(from_file.settings_keys.count("storage.min_retention_days"));

  const app::Config from_env = app::load_config(file, {{"SAFELYNX_STORAGE_MIN_RETENTION_DAYS", "0"}});
  EXPECT_EQ(from_env.settings.storage.min_retention_days, 0);

  auto message = [](const char* value) {
    try {
      (void)app::load_config(std::nullopt, {{"SAFELYNX_STORAGE_MIN_RETENTION_DAYS", value}});
    } catch (const app::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("3651").find("storage.min_retention_days must be in [0, 3650]"), std::string::npos)
      << message("3651");
  EXPECT_NE(message("-5").find("storage.min_retention_days"), std::string::npos) << message("-5");
  EXPECT_NE(message("a week").find("must be an integer"), std::string::npos) << message("a week");
}

}  // namespace
}  // namespace safelynx::recording
