// Deleting a profile, the one way both the API (DELETE /profiles/{id}) and
// the retention of personal data do it.
#pragma once

#include <optional>

#include "domain/events.hpp"
#include "index/embedding_index.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

// Where a profile's data lives.
struct ProfileStores {
  storage::Database& database;
  storage::MediaStore& media;
  index::EmbeddingIndex& index;
  EventBus& events;
};

// Deletes the profile with everything that belongs to it: the row, its
// embeddings and sightings (one transaction), its entries in the embedding
// index, its thumbnail and the snapshots of its sightings; then publishes
// ProfileDeleted. Returns the profile as it was, or nullopt if there was none.
std::optional<Profile> delete_profile(const ProfileStores& stores, const Uuid& id);

}  // namespace safelynx::server
