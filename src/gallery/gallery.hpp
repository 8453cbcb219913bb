// The gallery: profiles with their embeddings, thumbnails and index entries,
// kept consistent across the database, the media folder, the embedding
// index and the event bus. The API (enrol, photos, import, edit, merge,
// delete, identify), the retention of personal data and the pipeline's
// strangers all change profiles here, so each invariant is written once:
// a profile row exists before its index entries, a failed create leaves no
// thumbnail or face photo behind, a gallery keeps its best `capacity`
// embeddings (an embedding's photo goes with it), every change is announced
// on the bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/entities.hpp"
#include "domain/events.hpp"
#include "gallery/match_decision.hpp"
#include "gallery/merge_plan.hpp"
#include "index/embedding_index.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::gallery {

// A face within this distance of one of a profile's negative examples is
// never named as that profile. Measured on celebrities-dev: see
// docs/ACCURACY.md ("Negative examples").
inline constexpr float kNegativeExampleRadius = 0.45f;

struct GalleryOptions {
  std::size_t capacity = 20;  // embeddings kept per profile (the best)
};

// A face offered to a profile: its descriptor, how good a view it is and
// the photo of the face it came from (JPEG; empty: none).
struct FaceSample {
  FaceDescriptor descriptor{};
  float quality = 0;  // higher is better (see face_quality)
  std::string photo_jpeg;
};

// The profile an index search found, and how far it was.
struct Identification {
  Profile profile;
  float distance = 0;
};

// What the gallery decided for a face: the verdict of decide() and the
// candidates' profiles (nearest first).
struct GalleryMatch {
  MatchDecision decision;
  std::vector<Identification> candidates;
  // The profile named, when the verdict is Named.
  const Profile* named() const {
    return decision.verdict == MatchVerdict::Named && !candidates.empty() ? &candidates.front().profile : nullptr;
  }
};

struct FacesAdded {
  Profile profile;  // as stored afterwards
  std::size_t added = 0;
  std::size_t evicted = 0;
  std::vector<std::uint64_t> added_ids;  // the new embeddings' ids
};

struct MergeResult {
  Profile target;                // as it was before the merge
  std::vector<Profile> sources;  // as they were
  Profile merged;
  std::vector<MergeConflict> conflicts;  // what was chosen (see merge_plan.hpp)
};

class Gallery {
 public:
  Gallery(storage::Database& database, storage::MediaStore& media, index::EmbeddingIndex& index, EventBus& events,
          GalleryOptions options = {});

  std::size_t capacity() const { return options_.capacity; }

  // A new profile with the best `capacity` of `faces`: name, classification,
  // tags and notes come from `fields`; the id and times are assigned here.
  // Publishes ProfileCreated.
  Profile create(const Profile& fields, std::span<const FaceSample> faces, const std::string& thumbnail_jpeg);
  // A profile as exported elsewhere (ids, times, counts kept); at most
  // `capacity` embeddings, without photos; `thumbnail_jpeg` may be empty. Publishes
  // ProfileCreated. Throws storage::ConflictError if the id exists.
  Profile restore(Profile profile, std::vector<StoredEmbedding> embeddings, const std::string& thumbnail_jpeg);
  // Offers faces to an existing profile's gallery (better ones push out the
  // worst at capacity); `thumbnail_jpeg` is asked only when the profile has
  // no thumbnail yet. Publishes ProfileUpdated. Throws storage::NotFoundError.
  FacesAdded add_faces(const Uuid& id, std::span<const FaceSample> faces,
                       const std::function<std::string()>& thumbnail_jpeg);
  // "This face is not that profile": from now on match() never names the
  // profile for a face within kNegativeExampleRadius of it. Throws
  // storage::NotFoundError.
  NegativeExample add_negative(const Uuid& profile_id, const FaceDescriptor& descriptor);
  // false when there is no such negative example (any more).
  bool remove_negative(std::uint64_t id);
  // Stores name, classification, tags and notes; publishes ProfileUpdated.
  // nullopt when the profile does not exist.
  std::optional<Profile> update(Profile profile);
  // Moves the sources' embeddings and sightings into `into`, deletes the
  // sources (their thumbnails too), trims the merged gallery to capacity;
  // the fields are merged by plan_merge (the most restrictive
  // classification wins, tags and notes combined) in the same transaction.
  // Publishes ProfilesMerged and ProfileUpdated. Throws storage::NotFoundError
  // naming a profile that does not exist, std::invalid_argument when the
  // combined notes or tags would be over their limits.
  MergeResult merge(const Uuid& into, const std::vector<Uuid>& sources);
  // What merge() would make of these profiles, changing nothing (a dry run).
  // Throws as merge() does, except for the limits: see over_limits.
  MergePlan preview_merge(const Uuid& into, const std::vector<Uuid>& sources);
  // The other profiles nearest to this one, nearest first, at most `limit`,
  // each at its best distance from any of the profile's embeddings, within
  // `radius`. Throws storage::NotFoundError.
  std::vector<Identification> similar(const Uuid& id, std::size_t limit, float radius);
  // Deletes the profile with its embeddings (and their photos), sightings
  // (rows and snapshots), index entries and thumbnail; publishes
  // ProfileDeleted. Returns the profile as it was, or nullopt if there was none.
  std::optional<Profile> remove(const Uuid& id);
  // Deletes one embedding of the profile: its row, index entry and photo;
  // the last one may go (the profile is then recognised no more). Publishes
  // ProfileUpdated. Returns the profile as stored afterwards, or nullopt when
  // the profile has no embedding `embedding_id`.
  std::optional<Profile> remove_face(const Uuid& id, std::uint64_t embedding_id);

  // The verdict on a face under `rule` (see match_decision.hpp). `ignore`
  // leaves one profile out, as if it did not exist: a track asks whether it
  // is someone else than the unknown profile made from its own first faces.
  // A profile with a negative example near the face is left out the same way.
  GalleryMatch match(const FaceDescriptor& descriptor, const MatchRule& rule, const std::optional<Uuid>& ignore = {});
  // Loads every stored embedding into the (empty) index; `progress` gets
  // (done, total) now and then.
  void rebuild_index(const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});
  std::size_t indexed_embeddings() const { return index_.size(); }

 private:
  storage::Database& database_;
  storage::MediaStore& media_;
  index::EmbeddingIndex& index_;
  EventBus& events_;
  const GalleryOptions options_;
  // The negative examples by profile key, read once and kept in step: every
  // match consults them, and they are few.
  mutable std::shared_mutex negatives_mutex_;
  std::map<std::uint64_t, std::vector<NegativeExample>> negatives_;

  void load_negatives();
  bool near_negative(std::uint64_t profile_key, const FaceDescriptor& descriptor) const;

  void index_embeddings(const std::vector<StoredEmbedding>& embeddings);
  MergeResult merge_sources_of(const Uuid& into, const std::vector<Uuid>& sources);
  Profile create_with(Profile profile, std::vector<StoredEmbedding> embeddings, std::span<const std::string_view> photos,
                      const std::string& thumbnail_jpeg);
  // Writes the photos (parallel to the embeddings being inserted) once their
  // ids are known, inside the insert's transaction; `written` names the
  // files, for removal when the insert fails after all.
  storage::ProfileRepository::EmbeddingsInserted photo_writer(std::span<const std::string_view> photos,
                                                              std::vector<std::uint64_t>& written);
  void remove_photos(const std::vector<std::uint64_t>& embedding_ids);
};

}  // namespace safelynx::gallery
