// The password policy, applied to every password a user chooses (the first
// admin's from SAFELYNX_ADMIN_PASSWORD, new users, changes and resets):
// at least 10 characters, at most 1024, and not one of the most common
// passwords (compared case-insensitively). Generated passwords pass it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace safelynx {

inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordLength = 1024;

// Why `password` is refused (a sentence without the field name, e.g. "must
// have at least 10 characters"), or nullopt when it is acceptable. Length is
// counted in characters (UTF-8 code points), not bytes. `username`, when
// given, may not be the password either.
std::optional<std::string> password_problem(std::string_view password, std::string_view username = {});

}  // namespace safelynx
