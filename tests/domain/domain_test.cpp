#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "domain/profile.hpp"
#include "domain/settings.hpp"
#include "domain/uuid.hpp"

namespace safelynx {
namespace {

TEST(Uuid, RandomBytesBecomeAVersion4UuidThatRoundTrips) {
  std::array<std::uint8_t, 16> bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(0xF0 + i);
  const Uuid id = Uuid::from_random_bytes(bytes);
  const std::string text = id.to_string();
  EXPECT_EQ(text, "f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff");  // version nibble 4, variant 10xx
  EXPECT_EQ(Uuid::parse(text), id);
  EXPECT_EQ(Uuid::parse("F0F1F2F3-F4F5-46F7-B8F9-FAFBFCFDFEFF"), id);
  EXPECT_FALSE(id.is_nil());
  EXPECT_TRUE(Uuid().is_nil());
  EXPECT_LT(Uuid(), id);
}

TEST(Uuid, RandomOnesAreVersion4AndDistinct) {
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    const Uuid id = Uuid::random();
    EXPECT_EQ(id.bytes()[6] >> 4, 4);
    EXPECT_EQ(id.bytes()[8] >> 6, 2);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, MalformedTextIsRefusedNamingIt) {
  for (const char* bad : {"", "f0f1f2f3f4f546f7b8f9fafbfcfdfeff", "f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfefg",
                          "f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff0", "f0f1f2f3-f4f5-46f7-b8f9fafbfcfdfeff-",
                          "f0f1f2f3-f4f5-46f7-b8f-9fafbfcfdfeff"}) {
    try {
      Uuid::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("is not a UUID"), std::string::npos) << e.what();
    }
  }
}

TEST(Classification, ParsesItsFourNamesAndNothingElse) {
  for (Classification c :
       {Classification::Trusted, Classification::Known, Classification::Unknown, Classification::Flagged})
    EXPECT_EQ(parse_classification(to_string(c)), c);
  try {
    parse_classification("vip");
    ADD_FAILURE() << "accepted 'vip'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'vip' is not one of trusted, known, unknown, flagged"), std::string::npos);
  }
}

TEST(Gallery, AdmitsBelowTheCapAndKeepsTheBestAtIt) {
  const std::vector<GalleryEntry> two = {{1, 0.5f}, {2, 0.9f}};
  EXPECT_TRUE(admit_to_gallery(two, 0.1f, 3).admit);
  EXPECT_FALSE(admit_to_gallery(two, 0.1f, 3).evict.has_value());

  const GalleryDecision better = admit_to_gallery(two, 0.7f, 2);
  EXPECT_TRUE(better.admit);
  ASSERT_TRUE(better.evict.has_value());
  EXPECT_EQ(*better.evict, 1u);  // the worst one goes

  const GalleryDecision worse = admit_to_gallery(two, 0.4f, 2);
  EXPECT_FALSE(worse.admit);
  EXPECT_FALSE(worse.evict.has_value());
  EXPECT_FALSE(admit_to_gallery(two, 0.5f, 2).admit);  // a tie keeps what is there
  EXPECT_FALSE(admit_to_gallery({}, 1.0f, 0).admit);
}

TEST(Settings, DefaultsAreValid) { EXPECT_TRUE(validate(Settings{}).empty()); }

TEST(Settings, EveryOutOfRangeValueIsReportedByKey) {
  Settings s;
  s.detection.min_score = 1.0f;
  s.detection.min_face_size = 8;
  s.recognition.match_threshold = std::nanf("");
  s.recognition.sighting_cooldown_s = -1;
  s.recording.pre_buffer_s = 61;
  s.recording.post_buffer_s = 601;
  s.recording.max_segment_s = 5;
  s.storage.quota_bytes = 1024;
  const auto problems = validate(s);
  std::vector<std::string> keys;
  for (const auto& p : problems) keys.push_back(p.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"detection.min_score", "detection.min_face_size",
                                            "recognition.match_threshold", "recognition.sighting_cooldown_s",
                                            "recording.pre_buffer_s", "recording.post_buffer_s",
                                            "recording.max_segment_s", "storage.quota_bytes"}));
  EXPECT_EQ(problems[0].message, "must be in (0, 1), got 1");
  EXPECT_EQ(problems[1].message, "must be in [16, 4096], got 8");

  Settings edges;
  edges.detection.min_face_size = 16;
  edges.recognition.match_threshold = 2.0f;
  edges.recognition.sighting_cooldown_s = 0;
  edges.recording.max_segment_s = 3600;
  EXPECT_TRUE(validate(edges).empty());
}

}  // namespace
}  // namespace safelynx
