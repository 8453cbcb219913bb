#include "domain/password_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace safelynx {
namespace {

// The most common passwords of 10 characters or more in public breach
// corpora (top lists of rockyou and SecLists), lowercase; shorter ones are
// already refused by the length rule. Scanned in order; 200 entries cost nothing next to argon2id.
constexpr std::array kCommonPasswords = {
    "1234567890", "0123456789", "0987654321", "9876543210", "12345678910", "1234567891", "123456789a", "123456789q",
    "a123456789", "1234567890a", "1234567890q", "1234512345", "1234554321", "1122334455", "1357924680", "1212121212",
    "1231231234", "123123123123", "12341234qwer", "123456789abc", "1111111111", "0000000000", "2222222222",
    "3333333333", "4444444444", "5555555555", "6666666666", "7777777777", "8888888888", "9999999999", "aaaaaaaaaa",
    "qqqqqqqqqq", "abcdefghij", "abcdef1234", "abc1234567", "abcd123456", "abc123456789", "aa12345678", "a1b2c3d4e5",
    "a1s2d3f4g5", "qwertyuiop", "qwertyuiop1", "qwertyuiop123", "qwerty1234", "qwerty12345", "qwerty123456",
    "qwertyqwerty", "qwerty123!", "qwer1234asdf", "1234qwerasdf", "1q2w3e4r5t", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u",
    "1q2w3e4r5t6y7u8i", "q1w2e3r4t5", "q1w2e3r4t5y6", "q1w2e3r4t5y6u7", "1qaz2wsx3edc", "1qazxsw23edc",
    "qazwsxedcrfv", "qazwsxedc1", "qazwsxedc123", "zaq12wsx3edc", "zaq1zaq1zaq1", "zaq12wsxcde3", "!qaz2wsx3edc",
    "!qaz@wsx#edc", "123qweasdzxc", "qweasdzxc1", "qweasdzxc123", "asdfghjkl1", "asdfghjkl12", "asdfghjkl123",
    "asdfasdfasdf", "asdfasdf12", "zxcvbnm123", "zxcvbnm1234", "zxcvbnmasd", "1qaz1qaz1qaz", "qweqweqwe123",
    "password12", "password123", "password1234", "password12345", "password123456", "password01", "password11",
    "password99", "password10", "password1!", "password123!", "passwordpassword", "password2020", "password2021",
    "password2022", "password2023", "password2024", "password2025", "password2026", "p@ssw0rd123", "p@ssword123",
    "passw0rd123", "pa55w0rd123", "p@55w0rd123", "mypassword", "mypassword1", "newpassword", "newpassword1",
    "yourpassword", "thisisapassword", "administrator", "administrator1", "admin12345", "admin123456", "adminadmin",
    "adminadmin1", "admin@1234", "rootroot12", "changeme12", "changeme123", "default123", "guest12345", "test123456",
    "testtest12", "testing123", "welcome123", "welcome1234", "welcome2024", "letmein123", "letmein1234", "secret1234",
    "secret12345", "security12", "security123", "safelynx12", "safelynx123", "safelynx2024", "safelynxadmin",
    "iloveyou12", "iloveyou123", "iloveyou1234", "loveyou123", "football12", "football123", "baseball123",
    "basketball", "basketball1", "superman123", "starwars123", "spiderman1", "pokemon123", "minecraft1",
    "minecraft123", "dragonball", "dragonball1", "naruto1234", "master1234", "shadow1234", "monkey1234", "dragon1234",
    "sunshine12", "sunshine123", "chocolate1", "chocolate123", "butterfly1", "elizabeth1", "michael123",
    "jennifer123", "jessica123", "charlie123", "liverpool1", "liverpool123", "chelsea123", "arsenal123", "manchester",
    "manchester1", "barcelona1", "princess12", "princess123", "jesuschrist", "jesus12345", "blessed123", "hello12345",
    "hellohello", "helloworld", "helloworld1", "computer12", "internet12", "summer2022", "summer2023", "summer2024",
    "summer2025", "winter2022", "winter2023", "winter2024", "spring2023", "spring2024", "autumn2024", "trustno123",
    "whatever12",
};

std::size_t utf8_length(std::string_view text) {
  // Continuation bytes (10xxxxxx) do not start a character.
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace

std::optional<std::string> password_problem(std::string_view password, std::string_view username) {
  const std::size_t length = utf8_length(password);
  if (length < kMinPasswordLength)
    return "must have at least " + std::to_string(kMinPasswordLength) + " characters (has " + std::to_string(length) + ")";
  if (length > kMaxPasswordLength) return "must have at most " + std::to_string(kMaxPasswordLength) + " characters";
  const std::string lower = lowercase(password);
  if (std::find(kCommonPasswords.begin(), kCommonPasswords.end(), lower) != kCommonPasswords.end())
    return "is one of the most common passwords; choose another";
  if (!username.empty() && lower == lowercase(username)) return "must not be the username";
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password.front(); }))
    return "must not be one character repeated";
  return std::nullopt;
}

}  // namespace safelynx
