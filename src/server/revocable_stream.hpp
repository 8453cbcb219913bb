// A streamed body (a live MJPEG view) that ends once the right to watch it
// does: its check runs at most once per `interval`, on the I/O thread that
// polls the stream, so keep it quick.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "server/http_types.hpp"

namespace safelynx::server {

class RevocableStream : public ResponseStream {
 public:
  using Clock = std::chrono::steady_clock;

  using Now = std::function<Clock::time_point()>;

  RevocableStream(std::shared_ptr<ResponseStream> inner, std::function<bool()> still_allowed,
                  std::chrono::milliseconds interval = std::chrono::seconds(1), Now now = Clock::now)
      : inner_(std::move(inner)),
        still_allowed_(std::move(still_allowed)),
        interval_(interval),
        now_(std::move(now)),
        checked_(now_()) {}

  std::optional<std::string> next_part() override {
    const auto now = now_();
    if (now - checked_ >= interval_) {
      checked_ = now;
      if (!still_allowed_()) return std::nullopt;
    }
    return inner_->next_part();
  }
  std::chrono::milliseconds poll_interval() const override { return inner_->poll_interval(); }

 private:
  std::shared_ptr<ResponseStream> inner_;
  std::function<bool()> still_allowed_;
  const std::chrono::milliseconds interval_;
  Now now_;
  Clock::time_point checked_;
};

}  // namespace safelynx::server
