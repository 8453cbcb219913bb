// Internal to the SQLite backend: conversions, paging and lookups shared by several repositories.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

// A count or id for SQLite's signed integers, capped at their largest value.
std::int64_t to_sql_int(std::uint64_t value);

// A column's count or id back; a negative one reads as 0.
std::uint64_t to_count(std::int64_t value);

// Descriptors (embeddings, sightings, negative examples) as little-endian
// float32 whatever the host, so a database file is portable; a blob of the
// wrong size is StorageError naming `database`.
inline constexpr std::size_t kDescriptorBytes = kDescriptorSize * sizeof(float);
std::array<unsigned char, kDescriptorBytes> encode_descriptor(const FaceDescriptor& descriptor);
FaceDescriptor decode_descriptor(const std::vector<unsigned char>& bytes, const std::string& database);

// "?N", the numbered parameter N of a statement.
std::string placeholder(int index);

struct Window {
  bool any = false;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};

// LIMIT/OFFSET for a 1-based page (page 0 reads as 1); no rows when the
// offset would not fit SQLite's integers.
Window window_of(const Page& page);

// A role column; the schema's CHECK allows only the three roles.
Role read_role(const Statement& row, int column);

// The profiles row key of a profile id, if there is one.
std::optional<std::int64_t> profile_key_of(Connection& connection, const Uuid& id);

// As profile_key_of, but throws NotFoundError (naming `what` was attempted)
// when there is no such profile.
std::int64_t require_profile_key(Connection& connection, const Uuid& id, std::string_view what);

}  // namespace safelynx::storage::sqlite
