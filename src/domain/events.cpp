#include "domain/events.hpp"

#include <exception>
#include <type_traits>

namespace safelynx {

const char* event_type_name(const EventPayload& payload) {
  return std::visit(
      [](const auto& e) -> const char* {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ProfileCreated>) return "ProfileCreated";
        else if constexpr (std::is_same_v<T, ProfileUpdated>) return "ProfileUpdated";
        else if constexpr (std::is_same_v<T, ProfileDeleted>) return "ProfileDeleted";
        else if constexpr (std::is_same_v<T, ProfilesMerged>) return "ProfilesMerged";
        else if constexpr (std::is_same_v<T, ProfileSighted>) return "ProfileSighted";
        else if constexpr (std::is_same_v<T, FaceDetected>) return "FaceDetected";
        else if constexpr (std::is_same_v<T, NewSighting>) return "NewSighting";
        else if constexpr (std::is_same_v<T, SightingsCorrected>) return "SightingsCorrected";
        else if constexpr (std::is_same_v<T, UncertainFace>) return "UncertainFace";
        else if constexpr (std::is_same_v<T, CameraStatusChanged>) return "CameraStatusChanged";
        else if constexpr (std::is_same_v<T, StorageWarning>) return "StorageWarning";
        else return "Alert";
      },
      payload);
}

EventBus::Subscription::~Subscription() {
  if (auto bus = bus_.lock()) (*bus)->unsubscribe(id_);
}

EventBus::EventBus(std::function<void(const std::string&)> on_handler_error)
    : on_handler_error_(std::move(on_handler_error)), self_(std::make_shared<EventBus*>(this)) {}

EventBus::~EventBus() = default;

EventBus::Subscription EventBus::subscribe(Handler handler) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  handlers_.emplace_back(id, std::make_shared<Handler>(std::move(handler)));
  return Subscription(self_, id);
}

void EventBus::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(handlers_, [id](const auto& entry) { return entry.first == id; });
}

std::size_t EventBus::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return handlers_.size();
}

void EventBus::publish(EventPayload payload) { publish(DomainEvent{std::move(payload), now_ms()}); }

void EventBus::publish(const DomainEvent& event) {
  // Copy the handler list so handlers may (un)subscribe without deadlock.
  std::vector<std::shared_ptr<Handler>> handlers;
  {
    std::lock_guard lock(mutex_);
    handlers.reserve(handlers_.size());
    for (const auto& [id, handler] : handlers_) handlers.push_back(handler);
  }
  for (const auto& handler : handlers) {
    try {
      (*handler)(event);
    } catch (const std::exception& error) {
      if (on_handler_error_) on_handler_error_(std::string(event_type_name(event.payload)) + " handler failed: " + error.what());
    } catch (...) {
      if (on_handler_error_) on_handler_error_(std::string(event_type_name(event.payload)) + " handler failed");
    }
  }
}

}  // namespace safelynx
