// Domain events and the in-process bus that carries them to subscribers
// (the WebSocket hub, the alert notifier, metrics). No I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/entities.hpp"

namespace safelynx {

struct ProfileCreated { Profile profile; };
struct ProfileUpdated { Profile profile; };
struct ProfileDeleted { Uuid profile_id; };
struct ProfilesMerged { Uuid into; std::vector<Uuid> sources; };
struct ProfileSighted { Profile profile; Sighting sighting; };
struct FaceDetected { Uuid camera_id; Box box; float score = 0; };
struct NewSighting { Sighting sighting; };
// A track turned out to be someone else: its sightings now name `to`.
struct SightingsCorrected { Uuid from; Uuid to; std::vector<Uuid> sightings; bool from_removed = false; };
// A face the matcher will not name: its nearest profiles are too close to
// each other or to the threshold. Candidates nearest first.
struct MatchCandidate { Uuid profile_id; float distance = 0; };
struct UncertainFace { Uuid camera_id; Box box; std::vector<MatchCandidate> candidates; };
struct CameraStatusChanged { Uuid camera_id; CameraStatus status; std::string message; };
struct StorageWarning { std::uint64_t used_bytes = 0; std::uint64_t quota_bytes = 0; std::string message; };
struct Alert { std::string reason; std::optional<Profile> profile; std::optional<Sighting> sighting; };

using EventPayload = std::variant<ProfileCreated, ProfileUpdated, ProfileDeleted, ProfilesMerged, ProfileSighted,
                                  FaceDetected, NewSighting, SightingsCorrected, UncertainFace, CameraStatusChanged,
                                  StorageWarning, Alert>;

struct DomainEvent {
  EventPayload payload;
  TimePoint timestamp;
};

// "ProfileCreated", "NewSighting", ...
const char* event_type_name(const EventPayload& payload);

// Synchronous fan-out: publish() calls every handler on the publishing
// thread, so handlers must be quick (enqueue, not send). A handler that
// throws is reported to the error callback and the others still run.
// Subscriptions end when their handle is destroyed.
class EventBus {
 public:
  using Handler = std::function<void(const DomainEvent&)>;

  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&&) noexcept = default;
    ~Subscription();

   private:
    friend class EventBus;
    Subscription(std::weak_ptr<EventBus*> bus, std::uint64_t id) : bus_(std::move(bus)), id_(id) {}
    std::weak_ptr<EventBus*> bus_;
    std::uint64_t id_ = 0;
  };

  explicit EventBus(std::function<void(const std::string&)> on_handler_error = {});
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  [[nodiscard]] Subscription subscribe(Handler handler);
  void publish(EventPayload payload);            // stamped with now_ms()
  void publish(const DomainEvent& event);
  std::size_t subscriber_count() const;

 private:
  void unsubscribe(std::uint64_t id);

  mutable std::mutex mutex_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Handler>>> handlers_;
  std::uint64_t next_id_ = 1;
  std::function<void(const std::string&)> on_handler_error_;
  std::shared_ptr<EventBus*> self_;  // Subscriptions hold a weak_ptr: safe if the bus dies first
};

}  // namespace safelynx
