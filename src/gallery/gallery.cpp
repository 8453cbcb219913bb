#include "gallery/gallery.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "domain/profile.hpp"

namespace safelynx::gallery {
namespace {

// Which of the offered faces to store, and which stored embeddings they
// push out, by the gallery rule (admit_to_gallery), best faces first.
struct GalleryPlan {
  std::vector<StoredEmbedding> added;
  std::vector<std::string_view> photos;  // of `added`, into the offered faces
  std::vector<std::uint64_t> evicted;
};

GalleryPlan plan_gallery(std::vector<GalleryEntry> gallery, std::span<const FaceSample> faces, std::size_t capacity,
                         TimePoint now) {
  GalleryPlan plan;
  std::vector<std::size_t> order(faces.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return faces[a].quality > faces[b].quality; });
  std::uint64_t placeholder = UINT64_MAX;  // ids for offered faces, counting down past the stored ones
  std::vector<std::pair<std::uint64_t, std::size_t>> pending;
  for (std::size_t i : order) {
    const GalleryDecision decision = admit_to_gallery(gallery, faces[i].quality, capacity);
    if (!decision.admit) continue;
    if (decision.evict) {
      std::erase_if(gallery, [&](const GalleryEntry& e) { return e.embedding_id == *decision.evict; });
      if (*decision.evict >= placeholder) std::erase_if(pending, [&](const auto& p) { return p.first == *decision.evict; });
      else plan.evicted.push_back(*decision.evict);
    }
    gallery.push_back({--placeholder, faces[i].quality});
    pending.emplace_back(placeholder, i);
  }
  for (const auto& [id, i] : pending) {
    StoredEmbedding embedding;
    embedding.descriptor = faces[i].descriptor;
    embedding.quality = faces[i].quality;
    embedding.created_at = now;
    embedding.has_photo = !faces[i].photo_jpeg.empty();
    plan.added.push_back(embedding);
    plan.photos.push_back(faces[i].photo_jpeg);
  }
  return plan;
}

std::vector<Uuid> sighting_ids_of(storage::SightingRepository& sightings, const Uuid& profile_id) {
  std::vector<Uuid> ids;
  storage::SightingFilter filter;
  filter.profile_id = profile_id;
  for (std::uint64_t page = 1;; ++page) {
    auto result = sightings.list(filter, {page, 1000});
    for (const Sighting& s : result.items) ids.push_back(s.id);
    if (result.items.size() < 1000) break;
  }
  return ids;
}

Profile existing(storage::ProfileRepository& profiles, const Uuid& id) {
  auto profile = profiles.find(id);
  if (!profile) throw storage::NotFoundError("no profile with id " + id.to_string());
  return *profile;
}

}  // namespace

Gallery::Gallery(storage::Database& database, storage::MediaStore& media, index::EmbeddingIndex& index,
                 EventBus& events, GalleryOptions options)
    : database_(database), media_(media), index_(index), events_(events), options_(options) {
  if (options_.capacity == 0) throw std::invalid_argument("a gallery keeps at least one embedding per profile");
  load_negatives();
}

void Gallery::load_negatives() {
  std::map<std::uint64_t, std::vector<NegativeExample>> loaded;
  for (NegativeExample& example : database_.feedback().negatives()) loaded[example.profile_key].push_back(example);
  std::unique_lock lock(negatives_mutex_);
  negatives_ = std::move(loaded);
}

bool Gallery::near_negative(std::uint64_t profile_key, const FaceDescriptor& descriptor) const {
  std::shared_lock lock(negatives_mutex_);
  const auto found = negatives_.find(profile_key);
  if (found == negatives_.end()) return false;
  return std::any_of(found->second.begin(), found->second.end(), [&](const NegativeExample& n) {
    return descriptor_distance(n.descriptor, descriptor) <= kNegativeExampleRadius;
  });
}

NegativeExample Gallery::add_negative(const Uuid& profile_id, const FaceDescriptor& descriptor) {
  NegativeExample example;
  example.profile_key = existing(database_.profiles(), profile_id).key;
  example.descriptor = descriptor;
  example.created_at = now_ms();
  database_.feedback().add_negative(example);
  std::unique_lock lock(negatives_mutex_);
  negatives_[example.profile_key].push_back(example);
  return example;
}

bool Gallery::remove_negative(std::uint64_t id) {
  if (!database_.feedback().remove_negative(id)) return false;
  std::unique_lock lock(negatives_mutex_);
  for (auto& [key, examples] : negatives_) std::erase_if(examples, [&](const NegativeExample& n) { return n.id == id; });
  return true;
}

void Gallery::index_embeddings(const std::vector<StoredEmbedding>& embeddings) {
  if (embeddings.empty()) return;
  index::EmbeddingBatch batch;
  batch.reserve(embeddings.size(), kDescriptorSize);
  for (const StoredEmbedding& e : embeddings) batch.push_back(e.profile_key, e.id, e.descriptor);
  index_.add_batch(batch);
}

storage::ProfileRepository::EmbeddingsInserted Gallery::photo_writer(std::span<const std::string_view> photos,
                                                                     std::vector<std::uint64_t>& written) {
  return [this, photos, &written](const std::vector<std::uint64_t>& ids) {
    for (std::size_t i = 0; i < ids.size() && i < photos.size(); ++i) {
      if (photos[i].empty()) continue;
      written.push_back(ids[i]);
      media_.write_face_photo(ids[i], photos[i]);
    }
  };
}

void Gallery::remove_photos(const std::vector<std::uint64_t>& embedding_ids) {
  for (std::uint64_t id : embedding_ids) media_.remove_face_photo(id);
}

Profile Gallery::create_with(Profile profile, std::vector<StoredEmbedding> embeddings,
                             std::span<const std::string_view> photos, const std::string& thumbnail_jpeg) {
  if (!thumbnail_jpeg.empty()) {
    media_.write(storage::MediaKind::Thumbnail, profile.id, thumbnail_jpeg);
    profile.has_thumbnail = true;
  }
  std::vector<std::uint64_t> written;
  try {
    database_.profiles().create(profile, embeddings, photo_writer(photos, written));
  } catch (...) {
    if (profile.has_thumbnail) media_.remove(storage::MediaKind::Thumbnail, profile.id);
    remove_photos(written);
    throw;
  }
  index_embeddings(embeddings);
  profile.embedding_count = embeddings.size();
  events_.publish(ProfileCreated{profile});
  return profile;
}

Profile Gallery::create(const Profile& fields, std::span<const FaceSample> faces, const std::string& thumbnail_jpeg) {
  if (faces.empty()) throw std::invalid_argument("a new profile needs at least one face");
  Profile profile;
  profile.id = Uuid::random();
  profile.name = fields.name;
  profile.classification = fields.classification;
  profile.tags = fields.tags;
  profile.notes = fields.notes;
  profile.created_at = profile.updated_at = now_ms();
  GalleryPlan plan = plan_gallery({}, faces, options_.capacity, profile.created_at);
  return create_with(std::move(profile), std::move(plan.added), plan.photos, thumbnail_jpeg);
}

Profile Gallery::restore(Profile profile, std::vector<StoredEmbedding> embeddings, const std::string& thumbnail_jpeg) {
  if (embeddings.size() > options_.capacity)
    throw std::invalid_argument("more than the gallery's capacity (" + std::to_string(options_.capacity) +
                                ") embeddings");
  // Checked before the thumbnail is written: it would replace the other's.
  if (database_.profiles().find(profile.id))
    throw storage::ConflictError("profile " + profile.id.to_string() + " already exists");
  profile.has_thumbnail = false;
  for (StoredEmbedding& e : embeddings) e.has_photo = false;  // an export carries no face photos
  return create_with(std::move(profile), std::move(embeddings), {}, thumbnail_jpeg);
}

FacesAdded Gallery::add_faces(const Uuid& id, std::span<const FaceSample> faces,
                              const std::function<std::string()>& thumbnail_jpeg) {
  existing(database_.profiles(), id);
  std::vector<GalleryEntry> gallery;
  for (const StoredEmbedding& e : database_.profiles().embeddings_of(id)) gallery.push_back({e.id, e.quality});
  GalleryPlan plan = plan_gallery(std::move(gallery), faces, options_.capacity, now_ms());
  std::vector<std::uint64_t> written;
  try {
    database_.profiles().add_embeddings(id, plan.added, plan.evicted, photo_writer(plan.photos, written));
  } catch (...) {
    remove_photos(written);
    throw;
  }
  remove_photos(plan.evicted);
  for (std::uint64_t evicted : plan.evicted) index_.remove_embedding(evicted);
  index_embeddings(plan.added);
  std::vector<std::uint64_t> added_ids;
  for (const StoredEmbedding& e : plan.added) added_ids.push_back(e.id);
  Profile profile = existing(database_.profiles(), id);  // fresh: the caller's analysis took a while
  if (!profile.has_thumbnail && thumbnail_jpeg) {
    media_.write(storage::MediaKind::Thumbnail, id, thumbnail_jpeg());
    profile.has_thumbnail = true;
  }
  profile.updated_at = now_ms();
  database_.profiles().update(profile);
  profile = existing(database_.profiles(), id);
  events_.publish(ProfileUpdated{profile});
  return {profile, plan.added.size(), plan.evicted.size(), std::move(added_ids)};
}

std::optional<Profile> Gallery::update(Profile profile) {
  profile.updated_at = now_ms();
  if (!database_.profiles().update(profile)) return std::nullopt;
  events_.publish(ProfileUpdated{profile});
  return profile;
}

MergeResult Gallery::merge_sources_of(const Uuid& into, const std::vector<Uuid>& sources) {
  MergeResult result;
  result.target = existing(database_.profiles(), into);
  for (const Uuid& source : sources) {
    if (source == into) throw std::invalid_argument("a profile cannot be merged into itself");
    result.sources.push_back(existing(database_.profiles(), source));
  }
  return result;
}

MergePlan Gallery::preview_merge(const Uuid& into, const std::vector<Uuid>& sources) {
  const MergeResult profiles = merge_sources_of(into, sources);
  return plan_merge(profiles.target, profiles.sources, options_.capacity);
}

MergeResult Gallery::merge(const Uuid& into, const std::vector<Uuid>& sources) {
  MergeResult result = merge_sources_of(into, sources);
  MergePlan plan = plan_merge(result.target, result.sources, options_.capacity);
  if (!plan.over_limits.empty()) throw std::invalid_argument(plan.over_limits.front());
  result.conflicts = std::move(plan.conflicts);
  result.merged = database_.profiles().merge(into, sources, &plan.merged);
  for (const Profile& source : result.sources) {
    // The index knows only profiles with embeddings (see remove()).
    if (source.embedding_count > 0) index_.merge_profiles(source.key, result.target.key);
    media_.remove(storage::MediaKind::Thumbnail, source.id);
  }
  std::vector<StoredEmbedding> embeddings = database_.profiles().embeddings_of(into);
  if (embeddings.size() > options_.capacity) {
    std::stable_sort(embeddings.begin(), embeddings.end(),
                     [](const StoredEmbedding& a, const StoredEmbedding& b) { return a.quality > b.quality; });
    std::vector<std::uint64_t> evict;
    for (std::size_t i = options_.capacity; i < embeddings.size(); ++i) evict.push_back(embeddings[i].id);
    std::vector<StoredEmbedding> none;
    database_.profiles().add_embeddings(into, none, evict);
    remove_photos(evict);
    for (std::uint64_t id : evict) index_.remove_embedding(id);
    result.merged = existing(database_.profiles(), into);
  }
  load_negatives();  // the sources' moved to `into` in the merge's transaction
  events_.publish(ProfilesMerged{into, sources});
  events_.publish(ProfileUpdated{result.merged});
  return result;
}

std::optional<Profile> Gallery::remove(const Uuid& id) {
  const auto profile = database_.profiles().find(id);
  if (!profile) return std::nullopt;
  // The snapshot files are named by sighting, the face photos by embedding:
  // collect them before the rows go.
  const std::vector<Uuid> sightings = sighting_ids_of(database_.sightings(), id);
  std::vector<std::uint64_t> photos;
  for (const StoredEmbedding& e : database_.profiles().embeddings_of(id))
    if (e.has_photo) photos.push_back(e.id);
  if (!database_.profiles().remove(id)) return std::nullopt;
  remove_photos(photos);
  // The index knows only profiles with embeddings (an import may bring
  // none) and refuses to remove an unknown one.
  if (profile->embedding_count > 0) index_.remove_profile(profile->key);
  {
    std::unique_lock lock(negatives_mutex_);  // the rows went with the profile
    negatives_.erase(profile->key);
  }
  media_.remove(storage::MediaKind::Thumbnail, id);
  for (const Uuid& sighting : sightings) {
    media_.remove(storage::MediaKind::FaceSnapshot, sighting);
    media_.remove(storage::MediaKind::FrameSnapshot, sighting);
  }
  events_.publish(ProfileDeleted{id});
  return profile;
}

std::optional<Profile> Gallery::remove_face(const Uuid& id, std::uint64_t embedding_id) {
  if (!database_.profiles().remove_embedding(id, embedding_id)) return std::nullopt;
  media_.remove_face_photo(embedding_id);
  index_.remove_embedding(embedding_id);
  auto profile = database_.profiles().find(id);
  if (!profile) return std::nullopt;  // deleted meanwhile
  profile->updated_at = now_ms();
  database_.profiles().update(*profile);
  events_.publish(ProfileUpdated{*profile});
  return profile;
}

GalleryMatch Gallery::match(const FaceDescriptor& descriptor, const MatchRule& rule, const std::optional<Uuid>& ignore) {
  // More than decide() looks at, for the profiles left out: the one ignored
  // and those a negative example rules out.
  std::size_t with_negatives = 0;
  {
    std::shared_lock lock(negatives_mutex_);
    for (const auto& [key, examples] : negatives_) with_negatives += examples.empty() ? 0 : 1;
  }
  const auto found = index_.search(descriptor, 3 + std::min<std::size_t>(with_negatives, 16), rule.search_radius());
  std::vector<index::Match> kept;
  std::vector<Identification> profiles;
  for (const index::Match& m : found) {
    if (near_negative(m.profile, descriptor)) continue;
    // A profile deleted between the search and the read is no candidate.
    auto profile = database_.profiles().find_by_key(m.profile);
    if (!profile || (ignore && profile->id == *ignore)) continue;
    kept.push_back(m);
    profiles.push_back(Identification{std::move(*profile), m.distance});
  }
  GalleryMatch result;
  result.decision = decide(kept, rule);
  profiles.resize(std::min(profiles.size(), result.decision.candidates.size()));
  result.candidates = std::move(profiles);
  return result;
}

std::vector<Identification> Gallery::similar(const Uuid& id, std::size_t limit, float radius) {
  const Profile profile = existing(database_.profiles(), id);
  if (limit == 0) return {};
  // Each embedding asks for one more than wanted: the profile finds itself.
  std::vector<index::Match> best;
  for (const StoredEmbedding& e : database_.profiles().embeddings_of(id)) {
    for (const index::Match& m : index_.search(e.descriptor, limit + 1, radius)) {
      if (m.profile == profile.key) continue;
      auto known = std::find_if(best.begin(), best.end(), [&](const index::Match& b) { return b.profile == m.profile; });
      if (known == best.end()) best.push_back(m);
      else known->distance = std::min(known->distance, m.distance);
    }
  }
  std::stable_sort(best.begin(), best.end(), [](const index::Match& a, const index::Match& b) { return a.distance < b.distance; });
  std::vector<Identification> result;
  for (const index::Match& m : best) {
    if (result.size() == limit) break;
    // A profile deleted between the search and the read is left out.
    if (auto other = database_.profiles().find_by_key(m.profile)) result.push_back({std::move(*other), m.distance});
  }
  return result;
}

void Gallery::rebuild_index(const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  constexpr std::size_t kChunk = 4096;
  index::EmbeddingBatch batch;
  batch.reserve(kChunk, kDescriptorSize);
  auto flush = [&] {
    index_.add_batch(batch);
    batch = {};
    batch.reserve(kChunk, kDescriptorSize);
  };
  database_.profiles().for_each_embedding(
      [&](const StoredEmbedding& embedding) {
        batch.push_back(embedding.profile_key, embedding.id, embedding.descriptor);
        if (batch.size() == kChunk) flush();
      },
      progress);
  if (batch.size() > 0) flush();
}

}  // namespace safelynx::gallery
