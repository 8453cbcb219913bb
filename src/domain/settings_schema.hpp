// Each run-time setting described once: its key, the member of Settings it
// is, its range, unit, label and help. validate(Settings), the config file's
// keys, the stored and served JSON and GET /api/v1/settings/schema (which the
// web UI's settings page reads) all go through this table, so they cannot
// disagree.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "domain/settings.hpp"

namespace safelynx {

// Which ends belong to a range: [low, high], (low, high] or (low, high).
enum class RangeEnds { Closed, OpenLow, OpenBoth };

template <typename T>
struct SettingRange {
  T low;
  T high;  // std::numeric_limits<T>::max(): no upper bound
  RangeEnds ends = RangeEnds::Closed;

  bool contains(T value) const;  // false for NaN
  bool has_high() const { return high != std::numeric_limits<T>::max(); }
  std::string text() const;  // "[16, 4096]", "(0, 1)", "(0, 2]"
  // "must be in [16, 4096], got 8"; nullopt when `value` is in the range.
  std::optional<std::string> problem(T value) const;
  // The same message for a value shown as `got` that T cannot hold (a config
  // file's integer too large for an int).
  std::string refusal(std::string_view got) const;
};

extern template struct SettingRange<float>;
extern template struct SettingRange<int>;
extern template struct SettingRange<std::uint64_t>;

// The member a setting is, to read (`of`) and write (`in`).
template <typename T>
struct NumberSetting {
  T& (*in)(Settings&);
  const T& (*of)(const Settings&);
  SettingRange<T> range;
};

struct FlagSetting {
  bool& (*in)(Settings&);
  const bool& (*of)(const Settings&);
};

using SettingField = std::variant<NumberSetting<float>, NumberSetting<int>, NumberSetting<std::uint64_t>, FlagSetting>;

struct SettingSpec {
  std::string_view key;  // "detection.min_score": [section] and key in the config file, the nesting in JSON
  SettingField field;
  std::string_view unit;   // "px", "s", "days", "bytes"; empty when none
  std::string_view label;  // a short name for a form
  std::string_view help;   // what it changes, in a sentence or two

  constexpr std::string_view section() const { return key.substr(0, key.find('.')); }
  constexpr std::string_view name() const { return key.substr(key.find('.') + 1); }
};

// Every setting, in the order of Settings' members.
std::span<const SettingSpec> settings_schema();
// The sections of the keys, in that order: "detection", "recognition", ...
std::span<const std::string_view> settings_sections();
// nullptr when `key` is not a setting.
const SettingSpec* find_setting(std::string_view key);

}  // namespace safelynx
