// Internal to the SQLite backend: profiles, their tags and their embeddings.
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteProfileRepository final : public ProfileRepository {
 public:
  explicit SqliteProfileRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(Profile& profile, std::vector<StoredEmbedding>& embeddings, const EmbeddingsInserted& inserted) override;
  std::optional<Profile> find(const Uuid& id) override;
  std::optional<Profile> find_by_key(std::uint64_t key) override;
  PageOf<Profile> list(const ProfileFilter& filter, const Page& page) override;
  bool update(const Profile& profile) override;
  bool remove(const Uuid& id) override;
  bool remove_embedding(const Uuid& profile_id, std::uint64_t embedding_id) override;
  void add_embeddings(const Uuid& profile_id, std::vector<StoredEmbedding>& embeddings,
                      const std::vector<std::uint64_t>& evict, const EmbeddingsInserted& inserted) override;
  std::vector<StoredEmbedding> embeddings_of(const Uuid& profile_id) override;
  void for_each_embedding(const std::function<void(const StoredEmbedding&)>& visit,
                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) override;
  Profile merge(const Uuid& into, const std::vector<Uuid>& sources, const Profile* fields = nullptr) override;
  std::uint64_t count() override;
  std::vector<std::pair<Classification, std::uint64_t>> count_by_classification() override;
  std::uint64_t count_created_since(TimePoint since) override;
  std::vector<Profile> unseen_since(Classification classification, TimePoint before, std::size_t limit) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
