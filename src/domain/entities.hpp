// What Safelynx stores: profiles, cameras, sightings, recordings, users and
// API tokens. Plain values, no I/O; times are UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/face.hpp"
#include "domain/profile.hpp"
#include "domain/roles.hpp"
#include "domain/uuid.hpp"

namespace safelynx {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;

inline TimePoint now_ms() { return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now()); }
inline std::int64_t to_unix_ms(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_unix_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }
// "2026-11-29T03:04:05.678Z"
std::string to_iso8601(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" and a bare date
// "YYYY-MM-DD" (midnight UTC); throws std::invalid_argument naming the text.
TimePoint parse_iso8601(std::string_view text);

inline constexpr std::size_t kMaxProfileNameLength = 200;
inline constexpr std::size_t kMaxTagLength = 64;
inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxNotesLength = 10'000;

struct Profile {
  Uuid id;
  // Assigned by storage when the profile is first saved: the embedding
  // index's ProfileId (a dense integer is what the index wants).
  std::uint64_t key = 0;
  std::optional<std::string> name;
  Classification classification = Classification::Unknown;
  std::vector<std::string> tags;  // sorted, unique
  std::string notes;
  bool has_thumbnail = false;  // thumbnail JPEG stored under the data dir
  // A person has looked at it (the review queue of unknown faces); a new
  // profile, the pipeline's strangers included, is not.
  bool reviewed = false;
  std::optional<TimePoint> first_seen;
  std::optional<TimePoint> last_seen;
  std::uint64_t sighting_count = 0;
  std::uint64_t embedding_count = 0;  // filled by reads; ignored by writes
  TimePoint created_at;
  TimePoint updated_at;
};

// One face descriptor of a profile's gallery.
struct StoredEmbedding {
  std::uint64_t id = 0;  // assigned by storage; the index's EmbeddingId
  std::uint64_t profile_key = 0;
  FaceDescriptor descriptor{};
  float quality = 0;  // higher is better; the gallery keeps the best
  TimePoint created_at;
  bool has_photo = false;  // the face JPEG it came from, stored under the data dir by its id
};

enum class CameraKind { Usb, Rtsp, Http, File, Browser };
std::string_view to_string(CameraKind kind);
CameraKind parse_camera_kind(std::string_view text);  // throws std::invalid_argument listing the kinds

// `stopped`: not streaming (as configured); `connecting`, `active`, `error`
// are reported by the pipeline.
enum class CameraStatus { Stopped, Connecting, Active, Error };
std::string_view to_string(CameraStatus status);
CameraStatus parse_camera_status(std::string_view text);

struct Camera {
  Uuid id;
  std::string name;
  CameraKind kind = CameraKind::Usb;
  std::string source;  // device index/path, URL or file path
  int width = 0;       // 0: the source's own
  int height = 0;
  double fps = 0;      // 0: the source's own
  std::string location;
  bool enabled = true;
  CameraStatus status = CameraStatus::Stopped;
  std::string status_message;  // the last error, when status is Error
  TimePoint created_at;
  TimePoint updated_at;
};

// The margin of a match with no second profile within reach.
inline constexpr float kNoSecondProfile = 2.0f;

struct Sighting {
  Uuid id;
  Uuid profile_id;
  Uuid camera_id;
  TimePoint time;
  Box box;
  float detector_score = 0;
  // The decision this sighting was written on, from its own face: how far it
  // is from the profile it names, and how much nearer that profile is than
  // the next one (larger is surer; kNoSecondProfile when there is none).
  float match_distance = 0;
  float match_margin = 0;
  // Set when the sighting was re-attributed (its track turned out to be
  // someone else): the profile it first named, which may no longer exist.
  std::optional<Uuid> corrected_from;
  bool has_face_snapshot = false;   // face crop JPEG under the data dir
  bool has_frame_snapshot = false;  // full frame JPEG under the data dir
  std::optional<Uuid> recording_id;
  double recording_offset_s = 0;
  // The descriptor of the face the sighting was written from and how good a
  // view it was: what a search by face and feedback on the sighting work
  // with. Never served. Sightings from before they were kept have none.
  std::optional<FaceDescriptor> descriptor;
  float face_quality = 0;
};

// A person's word on a sighting: "this is profile X" (the sighting moves to
// X, its face is offered to X's gallery) or "this is not X" (its face
// becomes a negative example of X and the sighting is decided again).
// Undoable: what it changed is remembered.
enum class FeedbackVerdict { Is, IsNot };
std::string_view to_string(FeedbackVerdict verdict);  // "is" | "is_not"
std::optional<FeedbackVerdict> parse_feedback_verdict(std::string_view text);

struct Feedback {
  Uuid id;
  Uuid sighting_id;
  FeedbackVerdict verdict = FeedbackVerdict::Is;
  Uuid profile_id;           // the profile the verdict names
  Uuid previous_profile_id;  // the sighting's profile before
  bool added_to_gallery = false;
  std::optional<std::uint64_t> embedding_id;  // the gallery embedding `is` added
  std::optional<std::uint64_t> negative_id;   // the negative example `is_not` stored
  std::optional<Uuid> created_profile_id;     // the unknown profile `is_not` made for the sighting
  TimePoint created_at;
  std::optional<TimePoint> undone_at;
};

// A face that is not the profile it belongs to: the gallery never names the
// profile for a face near it.
struct NegativeExample {
  std::uint64_t id = 0;  // assigned by storage
  std::uint64_t profile_key = 0;
  FaceDescriptor descriptor{};
  TimePoint created_at;
};

struct Recording {
  Uuid id;
  Uuid camera_id;
  TimePoint start;
  std::optional<TimePoint> end;  // unset while recording
  std::string file;              // relative to the data dir's recordings/
  std::uint64_t size_bytes = 0;
};

struct User {
  std::uint64_t id = 0;
  std::string username;
  std::string password_hash;  // argon2id, libsodium's encoded string
  TimePoint created_at;
  Role role = Role::Viewer;  // least privilege unless said otherwise
};

inline constexpr std::size_t kMaxUsernameLength = 64;

// Session tokens (from login, short-lived) and API tokens (long-lived, named)
// are one mechanism; only a hash of the secret is stored.
enum class TokenKind { Session, Api };

struct ApiToken {
  Uuid id;
  std::uint64_t user_id = 0;
  TokenKind kind = TokenKind::Session;
  std::string name;
  std::string secret_hash;  // hex
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> last_used_at;
  // The most this token may do; a request gets the lesser of this and its
  // user's current role, so demoting a user demotes their tokens.
  Role role = Role::Viewer;
};

}  // namespace safelynx
