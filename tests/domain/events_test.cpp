#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "domain/entities.hpp"
#include "domain/events.hpp"

namespace safelynx {
namespace {

TEST(Time, Iso8601RoundTripsWithMilliseconds) {
  const TimePoint t = from_unix_ms(1'795'914'245'678);
  const std::string text = to_iso8601(t);
  EXPECT_EQ(text, "2026-11-29T01:04:05.678Z");
  EXPECT_EQ(parse_iso8601(text), t);
  EXPECT_EQ(to_iso8601(from_unix_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(to_iso8601(from_unix_ms(-1)), "1969-12-31T23:59:59.999Z");
}

TEST(Time, Iso8601AcceptsDatesOffsetsAndFractions) {
  EXPECT_EQ(parse_iso8601("2026-11-29"), parse_iso8601("2026-11-29T00:00:00Z"));
  EXPECT_EQ(parse_iso8601("2026-11-29T01:30:00+01:30"), parse_iso8601("2026-11-29T00:00:00Z"));
  EXPECT_EQ(parse_iso8601("2026-11-28T22:00:00-02:00"), parse_iso8601("2026-11-29T00:00:00Z"));
  EXPECT_EQ(to_unix_ms(parse_iso8601("2026-11-29T00:00:00.5Z")) - to_unix_ms(parse_iso8601("2026-11-29T00:00:00Z")), 500);
  EXPECT_EQ(to_unix_ms(parse_iso8601("2026-11-29T00:00:00.123456Z")) % 1000, 123);
  EXPECT_EQ(parse_iso8601("2024-02-29T12:00:00Z"), from_unix_ms(1'709'208'000'000));
}

TEST(Time, MalformedTimesAreRefusedNamingThem) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2025-02-29", "2026-11-29T25:00:00Z",
                          "2026-11-29T10:00:00", "2026-11-29T10:00:00.Z", "2026-11-29T10:00:00+0100",
                          "2026-11-29T10:00:00Zjunk", "2026/11/29"}) {
    try {
      (void)parse_iso8601(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(std::string("'") + bad + "'"), std::string::npos) << error.what();
    }
  }
}

TEST(CameraKind, ParsesItsNamesAndNothingElse) {
  for (CameraKind k : {CameraKind::Usb, CameraKind::Rtsp, CameraKind::Http, CameraKind::File, CameraKind::Browser})
    EXPECT_EQ(parse_camera_kind(to_string(k)), k);
  EXPECT_THROW(parse_camera_kind("webcam"), std::invalid_argument);
  for (CameraStatus s : {CameraStatus::Stopped, CameraStatus::Connecting, CameraStatus::Active, CameraStatus::Error})
    EXPECT_EQ(parse_camera_status(to_string(s)), s);
  EXPECT_THROW(parse_camera_status("on"), std::invalid_argument);
}

TEST(EventBus, DeliversToEverySubscriberUntilTheSubscriptionEnds) {
  EventBus bus;
  std::vector<std::string> first, second;
  auto a = bus.subscribe([&](const DomainEvent& e) { first.push_back(event_type_name(e.payload)); });
  {
    auto b = bus.subscribe([&](const DomainEvent& e) { second.push_back(event_type_name(e.payload)); });
    EXPECT_EQ(bus.subscriber_count(), 2u);
    bus.publish(ProfileCreated{});
  }
  EXPECT_EQ(bus.subscriber_count(), 1u);
  bus.publish(NewSighting{});
  EXPECT_EQ(first, (std::vector<std::string>{"ProfileCreated", "NewSighting"}));
  EXPECT_EQ(second, (std::vector<std::string>{"ProfileCreated"}));
}

TEST(EventBus, AThrowingHandlerIsReportedAndOthersStillRun) {
  std::vector<std::string> errors;
  EventBus bus([&](const std::string& error) { errors.push_back(error); });
  int delivered = 0;
  auto bad = bus.subscribe([](const DomainEvent&) { throw std::runtime_error("disk full"); });
  auto good = bus.subscribe([&](const DomainEvent&) { ++delivered; });
  bus.publish(Alert{"flagged person", std::nullopt, std::nullopt});
  EXPECT_EQ(delivered, 1);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("Alert"), std::string::npos);
  EXPECT_NE(errors[0].find("disk full"), std::string::npos);
}

TEST(EventBus, ASubscriptionMayOutliveItsBus) {
  EventBus::Subscription survivor;
  {
    EventBus bus;
    survivor = bus.subscribe([](const DomainEvent&) {});
  }
  SUCCEED();  // destroying `survivor` after the bus must not touch freed memory (ASan checks)
}

TEST(EventBus, EveryEventHasItsTypeName) {
  EXPECT_STREQ(event_type_name(ProfileUpdated{}), "ProfileUpdated");
  EXPECT_STREQ(event_type_name(ProfileDeleted{}), "ProfileDeleted");
  EXPECT_STREQ(event_type_name(ProfilesMerged{}), "ProfilesMerged");
  EXPECT_STREQ(event_type_name(ProfileSighted{}), "ProfileSighted");
  EXPECT_STREQ(event_type_name(FaceDetected{}), "FaceDetected");
  EXPECT_STREQ(event_type_name(CameraStatusChanged{}), "CameraStatusChanged");
  EXPECT_STREQ(event_type_name(StorageWarning{}), "StorageWarning");
}

}  // namespace
}  // namespace safelynx
