// Identifiers of profiles, cameras, sightings and recordings: RFC 4122
// version-4 UUIDs. The domain only shapes them; random bytes come from
// outside (libsodium in the layers that do I/O).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace safelynx {

class Uuid {
 public:
  Uuid() = default;  // the nil UUID
  // A version-4 UUID from 16 random bytes (version and variant bits set here).
  static Uuid from_random_bytes(std::array<std::uint8_t, 16> bytes);
  // A fresh version-4 UUID from the kernel's random source (getrandom).
  static Uuid random();
  // Canonical 8-4-4-4-12 hex, either case; throws std::invalid_argument
  // naming the text otherwise.
  static Uuid parse(std::string_view text);

  std::string to_string() const;  // lowercase canonical form
  bool is_nil() const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace safelynx
