// The helpers of sqlite_rows.hpp: integer conversions, LIMIT/OFFSET windows, roles, profile keys.
#include "storage/sqlite_rows.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>

namespace safelynx::storage::sqlite {

std::int64_t to_sql_int(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

std::array<unsigned char, kDescriptorBytes> encode_descriptor(const FaceDescriptor& descriptor) {
  std::array<unsigned char, kDescriptorBytes> bytes{};
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(descriptor[i]);
    for (std::size_t b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<unsigned char>(bits >> (8 * b));
  }
  return bytes;
}

FaceDescriptor decode_descriptor(const std::vector<unsigned char>& bytes, const std::string& database) {
  if (bytes.size() != kDescriptorBytes) {
    throw StorageError(database + ": corrupt embedding: " + std::to_string(bytes.size()) + " bytes, expected " +
                       std::to_string(kDescriptorBytes));
  }
  FaceDescriptor descriptor{};
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    std::uint32_t bits = 0;
    for (std::size_t b = 0; b < 4; ++b) bits |= static_cast<std::uint32_t>(bytes[i * 4 + b]) << (8 * b);
    descriptor[i] = std::bit_cast<float>(bits);
  }
  return descriptor;
}

std::uint64_t to_count(std::int64_t value) { return value < 0 ? 0 : static_cast<std::uint64_t>(value); }

Window window_of(const Page& page) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t index = std::max<std::uint64_t>(page.page, 1) - 1;
  if (page.per_page == 0 || index > kMax / page.per_page) return {};
  return {true, static_cast<std::int64_t>(std::min(page.per_page, kMax)),
          static_cast<std::int64_t>(index * page.per_page)};
}

std::string placeholder(int index) { return "?" + std::to_string(index); }

Role read_role(const Statement& row, int column) {
  // The schema's CHECK allows only these three.
  return parse_role(row.column_text(column)).value_or(Role::Viewer);
}

std::optional<std::int64_t> profile_key_of(Connection& connection, const Uuid& id) {
  auto statement = connection.prepare("SELECT key FROM profiles WHERE uuid = ?1");
  statement.bind_uuid(1, id);
  if (!statement.step()) return std::nullopt;
  return statement.column_int(0);
}

std::int64_t require_profile_key(Connection& connection, const Uuid& id, std::string_view what) {
  auto key = profile_key_of(connection, id);
  if (!key) throw NotFoundError(connection.name() + ": " + std::string(what) + ": no profile " + id.to_string());
  return *key;
}

}  // namespace safelynx::storage::sqlite
