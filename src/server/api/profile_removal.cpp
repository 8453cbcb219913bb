#include "server/api/profile_removal.hpp"

#include <vector>

namespace safelynx::server {
namespace {

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

}  // namespace

std::optional<Profile> delete_profile(const ProfileStores& stores, const Uuid& id) {
  const auto profile = stores.database.profiles().find(id);
  if (!profile) return std::nullopt;
  // The snapshot files are named by sighting: collect them before the rows go.
  const std::vector<Uuid> sightings = sighting_ids_of(stores.database.sightings(), id);
  if (!stores.database.profiles().remove(id)) return std::nullopt;
  // The index knows only profiles with embeddings (an import may bring
  // none) and refuses to remove an unknown one.
  if (profile->embedding_count > 0) stores.index.remove_profile(profile->key);
  stores.media.remove(storage::MediaKind::Thumbnail, id);
  for (const Uuid& sighting : sightings) {
    stores.media.remove(storage::MediaKind::FaceSnapshot, sighting);
    stores.media.remove(storage::MediaKind::FrameSnapshot, sighting);
  }
  stores.events.publish(ProfileDeleted{id});
  return profile;
}

}  // namespace safelynx::server
