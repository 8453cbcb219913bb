// What the API and the pipeline need from durable storage, behind small
// interfaces so that a PostgreSQL backend can follow without touching them.
// Every write is durable when it returns (it survives a kill -9 of the
// process). All implementations are safe to call from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/entities.hpp"
#include "domain/settings.hpp"

namespace safelynx::storage {

// The database could not be opened, migrated, read or written. The message
// names the database and what failed.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write that breaks a uniqueness rule (e.g. a username taken twice).
class ConflictError : public StorageError {
 public:
  using StorageError::StorageError;
};

// A write that names a row that does not exist (e.g. merging into an unknown
// profile, a sighting of an unknown profile).
class NotFoundError : public StorageError {
 public:
  using StorageError::StorageError;
};

// A change that would leave no user with the admin role (deleting or
// demoting the last admin): nobody could manage users any more.
class LastAdminError : public ConflictError {
 public:
  using ConflictError::ConflictError;
};

struct Page {
  std::uint64_t page = 1;      // 1-based
  std::uint64_t per_page = 50;
};

template <typename T>
struct PageOf {
  std::vector<T> items;
  std::uint64_t total = 0;  // matching rows over all pages
};

enum class ProfileSort { CreatedDesc, CreatedAsc, LastSeenDesc, NameAsc, SightingsDesc };

struct ProfileFilter {
  std::optional<Classification> classification;
  std::optional<std::string> tag;  // exact tag
  std::optional<std::string> query;  // case-insensitive substring of the name or notes
  std::optional<bool> reviewed;
  ProfileSort sort = ProfileSort::CreatedDesc;
};

class ProfileRepository {
 public:
  virtual ~ProfileRepository() = default;
  // Called with the new embeddings' ids inside the transaction that adds
  // them, before it commits: files named by those ids are written there, and
  // a throw rolls the rows back.
  using EmbeddingsInserted = std::function<void(const std::vector<std::uint64_t>& ids)>;

  // Inserts the profile and its embeddings in one transaction. Assigns
  // profile.key and every embedding's id and profile_key.
  virtual void create(Profile& profile, std::vector<StoredEmbedding>& embeddings,
                      const EmbeddingsInserted& inserted = {}) = 0;
  virtual std::optional<Profile> find(const Uuid& id) = 0;
  virtual PageOf<Profile> list(const ProfileFilter& filter, const Page& page) = 0;
  // Name, classification, tags, notes, reviewed, has_thumbnail and updated_at (seen
  // times and counts change only through sightings and merges); returns
  // false if the profile does not exist.
  virtual bool update(const Profile& profile) = 0;
  // Deletes the profile, its embeddings, sightings and negative examples;
  // false if absent.
  virtual bool remove(const Uuid& id) = 0;
  // Adds embeddings to an existing profile and removes `evict` ids, in one
  // transaction. Assigns the new embeddings' ids.
  virtual void add_embeddings(const Uuid& profile_id, std::vector<StoredEmbedding>& embeddings,
                              const std::vector<std::uint64_t>& evict, const EmbeddingsInserted& inserted = {}) = 0;
  // Deletes one embedding of the profile; false when the profile has no
  // embedding with that id.
  virtual bool remove_embedding(const Uuid& profile_id, std::uint64_t embedding_id) = 0;
  virtual std::vector<StoredEmbedding> embeddings_of(const Uuid& profile_id) = 0;
  // Every embedding of every profile, in id order, in chunks (for the index
  // rebuild at start); `progress` gets (done, total).
  virtual void for_each_embedding(const std::function<void(const StoredEmbedding&)>& visit,
                                  const std::function<void(std::uint64_t, std::uint64_t)>& progress = {}) = 0;
  // Moves embeddings and sightings of `sources` to `into`, adds their
  // sighting counts, widens first/last seen, deletes the sources: one
  // transaction. With `fields`, its name, classification, tags and notes
  // become the merged profile's in that same transaction (a crash must not
  // leave the sources gone and a Flagged classification lost; reviewed is
  // written with them). Returns the
  // merged profile.
  virtual Profile merge(const Uuid& into, const std::vector<Uuid>& sources, const Profile* fields = nullptr) = 0;
  virtual std::optional<Profile> find_by_key(std::uint64_t key) = 0;
  virtual std::uint64_t count() = 0;
  virtual std::vector<std::pair<Classification, std::uint64_t>> count_by_classification() = 0;
  virtual std::uint64_t count_created_since(TimePoint since) = 0;
  // For the retention of personal data: up to `limit` profiles of
  // `classification` whose last sighting (their creation, if never seen) is
  // before `before`, longest unseen first.
  virtual std::vector<Profile> unseen_since(Classification classification, TimePoint before, std::size_t limit) = 0;
};

class CameraRepository {
 public:
  virtual ~CameraRepository() = default;
  virtual void create(const Camera& camera) = 0;
  virtual std::optional<Camera> find(const Uuid& id) = 0;
  virtual PageOf<Camera> list(const Page& page) = 0;
  // What the user configures (everything but status and created_at).
  virtual bool update(const Camera& camera) = 0;
  // Only the status: the capture thread reports it while a user may be
  // editing the camera, and neither may overwrite the other's fields.
  virtual bool set_status(const Uuid& id, CameraStatus status, const std::string& message, TimePoint at) = 0;
  virtual bool remove(const Uuid& id) = 0;
};

struct SightingFilter {
  std::optional<Uuid> profile_id;
  std::optional<Uuid> camera_id;
  std::optional<Classification> classification;  // of the sighted profile
  std::optional<TimePoint> from;                 // inclusive
  std::optional<TimePoint> to;                   // exclusive
};

class SightingRepository {
 public:
  virtual ~SightingRepository() = default;
  // Also bumps the profile's sighting_count and first/last seen.
  virtual void create(const Sighting& sighting) = 0;
  virtual std::optional<Sighting> find(const Uuid& id) = 0;
  // Newest first.
  virtual PageOf<Sighting> list(const SightingFilter& filter, const Page& page) = 0;
  // Sightings per hour from `from` to `to` (one entry per hour, oldest first).
  virtual std::vector<std::uint64_t> count_per_hour(TimePoint from, TimePoint to) = 0;
  // 7 x 24 counts: [day of week, 0 = Monday][hour], UTC, over [from, to).
  virtual std::vector<std::vector<std::uint64_t>> heatmap(TimePoint from, TimePoint to) = 0;
  // The profiles with the most sightings in [from, to): (profile id, count).
  virtual std::vector<std::pair<Uuid, std::uint64_t>> most_seen(TimePoint from, TimePoint to, std::size_t limit) = 0;
  // For the storage cleanup: up to `limit` sightings with a face or frame
  // snapshot and a time before `before`, oldest first.
  virtual std::vector<Sighting> oldest_with_snapshots(TimePoint before, std::size_t limit) = 0;
  // Re-attributes sightings whose track turned out to be someone else: each
  // names `to` afterwards and remembers the profile it named first
  // (corrected_from); both profiles' counts and seen times are recounted.
  // Unknown sighting ids are skipped. Returns how many moved. Throws
  // NotFoundError if `to` does not exist.
  virtual std::size_t reassign(std::span<const Uuid> sightings, const Uuid& to) = 0;
  // Marks both snapshots as gone (the files are the caller's); false if the
  // sighting does not exist.
  virtual bool clear_snapshots(const Uuid& sighting_id) = 0;
  // Every sighting that kept its face's descriptor, newest first (time, then
  // insertion), read in chunks so memory stays bounded however many there
  // are; sightings written meanwhile may be missed.
  virtual void for_each_descriptor(const std::function<void(const Uuid&, const FaceDescriptor&)>& visit) = 0;
};

struct FeedbackFilter {
  std::optional<Uuid> sighting_id;
  std::optional<Uuid> profile_id;  // the profile it names or the one the sighting had before
};

// Feedback on sightings and the negative examples it stores.
class FeedbackRepository {
 public:
  virtual ~FeedbackRepository() = default;
  virtual void create(const Feedback& feedback) = 0;
  virtual std::optional<Feedback> find(const Uuid& id) = 0;
  // Newest first.
  virtual PageOf<Feedback> list(const FeedbackFilter& filter, const Page& page) = 0;
  // Sets undone_at; false when the feedback does not exist or was undone already.
  virtual bool mark_undone(const Uuid& id, TimePoint at) = 0;
  // Assigns example.id. Throws NotFoundError when the profile does not exist.
  virtual void add_negative(NegativeExample& example) = 0;
  virtual bool remove_negative(std::uint64_t id) = 0;
  // Every negative example (they are few: one per piece of feedback).
  virtual std::vector<NegativeExample> negatives() = 0;
};

struct RecordingFilter {
  std::optional<Uuid> camera_id;
  std::optional<TimePoint> from;  // recordings that end at or after
  std::optional<TimePoint> to;    // recordings that start before
};

class RecordingRepository {
 public:
  virtual ~RecordingRepository() = default;
  virtual void create(const Recording& recording) = 0;
  virtual bool update(const Recording& recording) = 0;
  virtual std::optional<Recording> find(const Uuid& id) = 0;
  virtual PageOf<Recording> list(const RecordingFilter& filter, const Page& page) = 0;
  virtual std::vector<Uuid> sightings_of(const Uuid& recording_id) = 0;
  virtual bool remove(const Uuid& id) = 0;
  // For the storage cleanup: up to `limit` finished recordings (end set)
  // that ended before `ended_before`, oldest start first. Recordings still
  // being written (no end) are never returned.
  virtual std::vector<Recording> oldest_finished(TimePoint ended_before, std::size_t limit) = 0;
};

class SettingsRepository {
 public:
  virtual ~SettingsRepository() = default;
  // The stored settings, or the defaults if none were saved yet.
  virtual Settings load() = 0;
  virtual void save(const Settings& settings) = 0;
};

class UserRepository {
 public:
  virtual ~UserRepository() = default;
  // Throws ConflictError if the username exists. Assigns user.id.
  virtual void create(User& user) = 0;
  virtual std::optional<User> find_by_name(const std::string& username) = 0;
  virtual std::optional<User> find(std::uint64_t id) = 0;
  virtual std::uint64_t count() = 0;
  // Every user, oldest first (a handful: no paging).
  virtual std::vector<User> list() = 0;
  // Saves username, password hash and role of user.id. Throws NotFoundError,
  // ConflictError (username taken) or LastAdminError (the last admin demoted).
  virtual void update(const User& user) = 0;
  // Deletes the user and all their tokens; false when there is no such user.
  // Throws LastAdminError for the last admin.
  virtual bool remove(std::uint64_t id) = 0;
};

class TokenRepository {
 public:
  virtual ~TokenRepository() = default;
  virtual void create(const ApiToken& token) = 0;
  virtual std::optional<ApiToken> find_by_hash(const std::string& secret_hash) = 0;
  virtual std::vector<ApiToken> list(std::uint64_t user_id, TokenKind kind) = 0;
  virtual bool remove(const Uuid& id) = 0;
  virtual void touch(const Uuid& id, TimePoint used_at) = 0;
  // Deletes tokens whose expiry is before `now`; returns how many.
  virtual std::size_t remove_expired(TimePoint now) = 0;
  // Deletes a user's tokens of `kind` (every kind when nullopt); returns how many.
  virtual std::size_t remove_for_user(std::uint64_t user_id, std::optional<TokenKind> kind) = 0;
};

// One line of the audit log: who changed what, when and from where. Values
// are JSON text kept small by the writer (server/api/audit.hpp); never secrets.
struct AuditEntry {
  std::uint64_t id = 0;  // assigned by append; increases with every entry
  TimePoint time{};
  std::optional<std::uint64_t> user_id;  // none for "system" and for failed logins
  std::string actor;                     // the username, or "system"
  std::optional<Uuid> token_id;          // the API token used (not for session tokens)
  std::string token_name;
  std::string action;       // e.g. "profile.update", "auth.login_failed", "retention.delete"
  std::string object_type;  // e.g. "profile"; "" when none
  std::string object_id;    // e.g. the profile's id; "" when none
  std::string address;      // the client's address; "" for system actions
  std::string old_value;    // JSON text; "" when none
  std::string new_value;    // JSON text; "" when none
};

struct AuditFilter {
  std::optional<std::string> actor;  // exact username (or "system")
  std::optional<std::uint64_t> user_id;
  std::optional<std::string> action;  // exact, or a prefix ending in '.' ("profile.")
  std::optional<std::string> object_type;
  std::optional<std::string> object_id;
  std::optional<TimePoint> since;  // inclusive
  std::optional<TimePoint> until;  // exclusive
};

// Append-only: entries are never changed; only the retention removes old ones.
class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  // Assigns entry.id.
  virtual void append(AuditEntry& entry) = 0;
  // Newest first.
  virtual PageOf<AuditEntry> list(const AuditFilter& filter, const Page& page) = 0;
  // Deletes the entries older than `before`; returns how many.
  virtual std::size_t remove_before(TimePoint before) = 0;
};

// One open database: the repositories share its connections.
class Database {
 public:
  virtual ~Database() = default;
  virtual ProfileRepository& profiles() = 0;
  virtual CameraRepository& cameras() = 0;
  virtual SightingRepository& sightings() = 0;
  virtual RecordingRepository& recordings() = 0;
  virtual SettingsRepository& settings() = 0;
  virtual UserRepository& users() = 0;
  virtual TokenRepository& tokens() = 0;
  virtual AuditRepository& audit() = 0;
  virtual FeedbackRepository& feedback() = 0;
  virtual std::uint64_t size_bytes() = 0;  // on disk, including the WAL
  virtual int schema_version() = 0;
};

}  // namespace safelynx::storage
