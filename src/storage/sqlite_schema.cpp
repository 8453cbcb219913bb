// The SQLite schema: the numbered migrations and how they are applied (PRAGMA user_version).
#include "storage/sqlite_schema.hpp"

#include <iterator>
#include <string>

#include "storage/sqlite_database.hpp"

namespace safelynx::storage::sqlite {
namespace {

// Migration N (1-based) takes the schema from version N-1 to N. Append new
// migrations; never edit one that has shipped. PRAGMA user_version records
// the version, in the same transaction as the migration.
//
// Times are unix milliseconds (INTEGER), ids canonical lowercase UUID text.
// Sightings and recordings keep the camera's id as plain text, without a
// foreign key: deleting a camera must not delete its history. A sighting's
// recording link is plain text too (a sighting may be written before its
// recording row); removing a recording clears the links.
const char* const kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE profiles (
  key INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: the index's ids are never reused
  uuid TEXT NOT NULL UNIQUE,
  name TEXT,
  classification TEXT NOT NULL CHECK (classification IN ('trusted', 'known', 'unknown', 'flagged')),
  tags TEXT NOT NULL DEFAULT '[]',  -- JSON array, for reading; profile_tags is for filtering
  notes TEXT NOT NULL DEFAULT '',
  has_thumbnail INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER,
  last_seen INTEGER,
  sighting_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX profiles_created ON profiles (created_at);
CREATE INDEX profiles_classification_created ON profiles (classification, created_at);
CREATE INDEX profiles_last_seen ON profiles (last_seen);
CREATE INDEX profiles_sighting_count ON profiles (sighting_count);
-- Matches the name sort exactly (unnamed last, then case-insensitive, key
-- breaking ties), so a page by name reads 50 index entries instead of sorting.
CREATE INDEX profiles_name_order ON profiles ((name IS NULL), name COLLATE NOCASE, key);

CREATE TABLE profile_tags (
  tag TEXT NOT NULL,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  PRIMARY KEY (tag, profile_key)
) WITHOUT ROWID;
CREATE INDEX profile_tags_profile ON profile_tags (profile_key);

CREATE TABLE embeddings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),  -- 128 float32, little-endian
  quality REAL NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX embeddings_profile ON embeddings (profile_key);

CREATE TABLE cameras (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  fps REAL NOT NULL,
  location TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE recordings (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  camera_uuid TEXT NOT NULL,
  start_at INTEGER NOT NULL,
  end_at INTEGER,
  file TEXT NOT NULL,
  size_bytes INTEGER NOT NULL
);
CREATE INDEX recordings_start ON recordings (start_at);
CREATE INDEX recordings_camera_start ON recordings (camera_uuid, start_at);

CREATE TABLE sightings (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  camera_uuid TEXT NOT NULL,
  time INTEGER NOT NULL,
  box_x REAL NOT NULL,
  box_y REAL NOT NULL,
  box_width REAL NOT NULL,
  box_height REAL NOT NULL,
  detector_score REAL NOT NULL,
  match_distance REAL NOT NULL,
  has_face_snapshot INTEGER NOT NULL,
  has_frame_snapshot INTEGER NOT NULL,
  recording_uuid TEXT,
  recording_offset_s REAL NOT NULL
);
CREATE INDEX sightings_time ON sightings (time);
CREATE INDEX sightings_profile_time ON sightings (profile_key, time);
CREATE INDEX sightings_camera_time ON sightings (camera_uuid, time);
CREATE INDEX sightings_recording ON sightings (recording_uuid);

CREATE TABLE settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_tokens_user_kind ON api_tokens (user_id, kind);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);
)sql",
    // 2: the storage cleanup finds the oldest sightings that still have
    // snapshot files without walking the ones already cleaned (partial
    // index: the query repeats its WHERE term exactly), and the oldest
    // finished recordings without walking unfinished ones.
    R"sql(
CREATE INDEX sightings_snapshot_time ON sightings (time) WHERE (has_face_snapshot <> 0 OR has_frame_snapshot <> 0);
CREATE INDEX recordings_finished_start ON recordings (start_at) WHERE end_at IS NOT NULL;
)sql",
    // 3: roles (least privilege). Before roles every user could do
    // everything, so existing users and their tokens keep admin; a token's
    // role caps what it may do below its user's current role.
    R"sql(
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE users SET role = 'admin';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE api_tokens SET role = 'admin';
)sql",
    // 4: the audit log (append-only: no UPDATE; DELETE only for its
    // retention), and the retention's search for profiles unseen for long
    // (the expression matches ProfileRepository::unseen_since exactly).
    // user_id has no foreign key: entries outlive the users they name. IF NOT
    // EXISTS: a database rewound to an older version re-runs it unharmed.
    R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  user_id INTEGER,
  actor TEXT NOT NULL,
  token_id TEXT,
  token_name TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  object_type TEXT NOT NULL DEFAULT '',
  object_id TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  old_value TEXT NOT NULL DEFAULT '',
  new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time, id);
CREATE INDEX IF NOT EXISTS audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor);
CREATE TRIGGER IF NOT EXISTS audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX IF NOT EXISTS profiles_classification_unseen ON profiles (classification, coalesce(last_seen, created_at));
)sql",
    // 5: each sighting keeps its own decision (distance and margin of its
    // face) and, when re-attributed, the profile it first named (no foreign
    // key: that profile may be deleted as premature). Older sightings carry
    // margin 0: unknown, shown as such.
    R"sql(
ALTER TABLE sightings ADD COLUMN match_margin REAL NOT NULL DEFAULT 0;
ALTER TABLE sightings ADD COLUMN corrected_from TEXT;
)sql",
    // 6: the face photo of each embedding (a file named by the embedding's
    // id: a merge moves embeddings, their photos stay theirs) and the review
    // queue's flag. Only these two tables: the migration commutes with the
    // others of its time. Existing rows have no photo and are unreviewed.
    R"sql(
ALTER TABLE embeddings ADD COLUMN has_photo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0;
)sql",
    // 7: each sighting keeps the descriptor of its face (searches by face,
    // feedback); older sightings have none. Feedback on sightings, undoable:
    // its ids are plain text, since it outlives the sighting and profiles it
    // names as history. Negative examples belong to their profile and go
    // with it.
    R"sql(
ALTER TABLE sightings ADD COLUMN embedding BLOB CHECK (embedding IS NULL OR length(embedding) = 512);
ALTER TABLE sightings ADD COLUMN face_quality REAL NOT NULL DEFAULT 0;
-- The search by face reads only sightings with an embedding, newest first
-- (partial: the query repeats its WHERE term exactly).
CREATE INDEX sightings_embedding_time ON sightings (time, id) WHERE embedding IS NOT NULL;

CREATE TABLE negative_examples (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),  -- 128 float32, little-endian
  created_at INTEGER NOT NULL
);
CREATE INDEX negative_examples_profile ON negative_examples (profile_key);

CREATE TABLE feedback (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  sighting_uuid TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('is', 'is_not')),
  profile_uuid TEXT NOT NULL,
  previous_profile_uuid TEXT NOT NULL,
  added_to_gallery INTEGER NOT NULL,
  embedding_id INTEGER,
  negative_id INTEGER,
  created_profile_uuid TEXT,
  created_at INTEGER NOT NULL,
  undone_at INTEGER
);
CREATE INDEX feedback_created ON feedback (created_at, id);
CREATE INDEX feedback_sighting ON feedback (sighting_uuid);
CREATE INDEX feedback_profile ON feedback (profile_uuid);
CREATE INDEX feedback_previous_profile ON feedback (previous_profile_uuid);
)sql",
};

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

}  // namespace

int user_version(Connection& connection) {
  auto statement = connection.prepare("PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.column_int(0));
}

void migrate(Connection& connection, int target) {
  for (int version = user_version(connection) + 1; version <= target; ++version) {
    Transaction transaction(connection, true);
    // Another process may have migrated between our check and the lock.
    if (user_version(connection) >= version) continue;
    const std::string step = "migration " + std::to_string(version);
    connection.execute(kMigrations[version - 1], "schema " + step);
    // PRAGMA takes no bound parameters; the version is our own integer.
    connection.execute(("PRAGMA user_version = " + std::to_string(version)).c_str(), step);
    transaction.commit();
  }
}

}  // namespace safelynx::storage::sqlite

namespace safelynx::storage {

int latest_sqlite_schema_version() { return sqlite::kLatestVersion; }

}  // namespace safelynx::storage
