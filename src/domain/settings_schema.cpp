#include "domain/settings_schema.hpp"

#include <algorithm>
#include <array>
#include <sstream>
#include <type_traits>
#include <utility>

namespace safelynx {
namespace {

template <typename T>
std::string shown(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// (settings.*Section).*Member, for a Settings or a const one.
template <auto Section, auto Member, typename S>
constexpr auto& member(S& settings) {
  return settings.*Section.*Member;
}

template <auto Section, auto Member>
using MemberType = std::remove_cvref_t<decltype(std::declval<Settings&>().*Section.*Member)>;

template <auto Section, auto Member>
constexpr SettingField number(MemberType<Section, Member> low, MemberType<Section, Member> high,
                              RangeEnds ends = RangeEnds::Closed) {
  using T = MemberType<Section, Member>;
  return NumberSetting<T>{&member<Section, Member, Settings>, &member<Section, Member, const Settings>, {low, high, ends}};
}

template <auto Section, auto Member>
constexpr SettingField flag() {
  static_assert(std::is_same_v<MemberType<Section, Member>, bool>);
  return FlagSetting{&member<Section, Member, Settings>, &member<Section, Member, const Settings>};
}

using S = Settings;
constexpr std::uint64_t kNoHigh = std::numeric_limits<std::uint64_t>::max();

constexpr SettingSpec kSchema[] = {
    {"detection.min_score", number<&S::detection, &S::Detection::min_score>(0.0f, 1.0f, RangeEnds::OpenBoth), "",
     "Minimum detector score", "Faces the detector is less sure of are ignored (enrolment, identify, cameras)."},
    {"detection.min_face_size", number<&S::detection, &S::Detection::min_face_size>(16, 4096), "px", "Minimum face size",
     "Smallest face side the cameras use: smaller faces are not recognised reliably."},
    {"recognition.match_threshold", number<&S::recognition, &S::Recognition::match_threshold>(0.0f, 2.0f, RangeEnds::OpenLow),
     "", "Match threshold",
     "How close a face must be to a person's face samples to be named: lower is stricter (fewer mix-ups, more faces "
     "left uncertain)."},
    {"recognition.min_margin", number<&S::recognition, &S::Recognition::min_margin>(0.0f, 1.0f), "", "Lead over the runner-up",
     "A face is named only when the best person is at least this much closer than the next one; otherwise it is shown "
     "as uncertain with both candidates, never with a wrong name."},
    {"recognition.stranger_threshold",
     number<&S::recognition, &S::Recognition::stranger_threshold>(0.0f, 2.0f, RangeEnds::OpenLow), "", "Stranger threshold",
     "A face farther than this from everyone becomes (or matches) an unknown profile; between the match threshold and "
     "this it is uncertain. Below the match threshold it has no effect."},
    {"recognition.sighting_cooldown_s", number<&S::recognition, &S::Recognition::sighting_cooldown_s>(0, 86'400), "s",
     "Sighting cooldown", "One sighting per person per camera in this many seconds."},
    {"recording.pre_buffer_s", number<&S::recording, &S::Recording::pre_buffer_s>(0, 60), "s", "Video before a sighting",
     "Video kept from before a sighting."},
    {"recording.post_buffer_s", number<&S::recording, &S::Recording::post_buffer_s>(0, 600), "s",
     "Video after the last sighting", "Video kept after the last sighting."},
    {"recording.max_segment_s", number<&S::recording, &S::Recording::max_segment_s>(10, 3600), "s", "Longest recording file",
     "Longer recordings are split into files of at most this length."},
    {"storage.quota_bytes", number<&S::storage, &S::Storage::quota_bytes>(std::uint64_t(100) << 20, kNoHigh), "bytes",
     "Storage quota", "Disk budget for the database and media; a warning when use crosses 90%."},
    {"storage.auto_cleanup", flag<&S::storage, &S::Storage::auto_cleanup>(), "", "Clean up automatically",
     "At 95% of the quota, delete the oldest finished recordings, then the oldest snapshots, until use is below 80%."},
    {"storage.min_retention_days", number<&S::storage, &S::Storage::min_retention_days>(0, 3650), "days", "Minimum retention",
     "The clean-up never deletes a recording or snapshot younger than this."},
    {"notifications.on_flagged", flag<&S::notifications, &S::Notifications::on_flagged>(), "",
     "Alert when a flagged person is seen", "An alert each time a profile classified as flagged is sighted."},
    {"notifications.on_unknown", flag<&S::notifications, &S::Notifications::on_unknown>(), "",
     "Alert for every new unknown face",
     "An alert whenever a camera sees someone it has never seen before. Can be frequent in busy places."},
    {"retention.unknown_profiles_days", number<&S::retention, &S::Retention::unknown_profiles_days>(0, 36'500), "days",
     "Delete unknown people after",
     "An unknown profile not seen for this many days is deleted with its photos, face data and sightings, checked hourly. "
     "0 keeps them."},
    {"retention.known_profiles_days", number<&S::retention, &S::Retention::known_profiles_days>(0, 36'500), "days",
     "Delete known and trusted people after",
     "The same for known and trusted profiles; 0 keeps them. Flagged profiles are never deleted automatically."},
    {"audit.retention_days", number<&S::audit, &S::Audit::retention_days>(0, 36'500), "days", "Keep audit entries for",
     "Older entries of the audit log are deleted. 0 keeps them forever."},
};

// A section's settings are next to each other, as in the struct.
constexpr bool starts_section(std::size_t i) { return i == 0 || kSchema[i].section() != kSchema[i - 1].section(); }

constexpr auto kSections = [] {
  constexpr std::size_t kCount = [] {
    std::size_t count = 0;
    for (std::size_t i = 0; i < std::size(kSchema); ++i) count += starts_section(i);
    return count;
  }();
  std::array<std::string_view, kCount> sections{};
  std::size_t next = 0;
  for (std::size_t i = 0; i < std::size(kSchema); ++i)
    if (starts_section(i)) sections[next++] = kSchema[i].section();
  return sections;
}();

}  // namespace

template <typename T>
bool SettingRange<T>::contains(T value) const {
  const bool above_low = ends == RangeEnds::Closed ? value >= low : value > low;
  const bool below_high = ends == RangeEnds::OpenBoth ? value < high : value <= high;
  return above_low && below_high;
}

template <typename T>
std::string SettingRange<T>::text() const {
  return (ends == RangeEnds::Closed ? "[" : "(") + shown(low) + ", " + shown(high) + (ends == RangeEnds::OpenBoth ? ")" : "]");
}

template <typename T>
std::optional<std::string> SettingRange<T>::problem(T value) const {
  if (contains(value)) return std::nullopt;
  return refusal(shown(value));
}

template <typename T>
std::string SettingRange<T>::refusal(std::string_view got) const {
  return "must be in " + text() + ", got " + std::string(got);
}

template struct SettingRange<float>;
template struct SettingRange<int>;
template struct SettingRange<std::uint64_t>;

std::span<const SettingSpec> settings_schema() { return kSchema; }

std::span<const std::string_view> settings_sections() { return kSections; }

const SettingSpec* find_setting(std::string_view key) {
  const auto it = std::find_if(std::begin(kSchema), std::end(kSchema), [&](const SettingSpec& spec) { return spec.key == key; });
  return it == std::end(kSchema) ? nullptr : &*it;
}

}  // namespace safelynx
