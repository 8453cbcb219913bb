#include "pipeline/live_view.hpp"

#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "vision/face_crops.hpp"

namespace safelynx::pipeline {

void LiveView::offer(const cv::Mat& bgr, std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  latest_ = bgr;
  latest_sequence_ = sequence;
}

void LiveView::show(std::vector<OverlayBox> overlay, std::vector<SettledFace> settled) {
  std::lock_guard lock(mutex_);
  overlay_ = std::move(overlay);
  settled_ = std::move(settled);
}

void LiveView::clear_faces() {
  std::lock_guard lock(mutex_);
  overlay_.clear();
  settled_.clear();
}

std::vector<bool> LiveView::needs_descriptor(const std::vector<FaceDetection>& found,
                                             std::chrono::steady_clock::time_point now,
                                             std::chrono::steady_clock::duration refresh) const {
  std::vector<bool> needs(found.size(), true);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < found.size(); ++i)
    for (const SettledFace& settled : settled_)
      if (intersection_over_union(found[i].box, settled.box) >= 0.5f && now - settled.described_at < refresh)
        needs[i] = false;
  return needs;
}

std::optional<LiveJpeg> LiveView::jpeg(bool overlay, std::uint64_t newer_than) {
  std::lock_guard lock(mutex_);
  if (latest_.empty() || latest_sequence_ <= newer_than) return std::nullopt;
  LiveJpeg& cached = encoded_[overlay ? 1 : 0];
  if (cached.sequence != latest_sequence_) {
    cv::Mat picture = latest_;
    if (overlay && !overlay_.empty()) {
      picture = latest_.clone();
      for (const OverlayBox& o : overlay_) {
        const cv::Rect r(cv::Point(static_cast<int>(o.box.x), static_cast<int>(o.box.y)),
                         cv::Size(static_cast<int>(o.box.width), static_cast<int>(o.box.height)));
        cv::rectangle(picture, r, o.colour, 2);
        if (!o.label.empty())
          cv::putText(picture, o.label, cv::Point(r.x, std::max(12, r.y - 6)), cv::FONT_HERSHEY_SIMPLEX, 0.5, o.colour, 1,
                      cv::LINE_AA);
      }
    }
    cached.jpeg = vision::encode_jpeg(picture, 80);
    cached.sequence = latest_sequence_;
  }
  return cached;
}

}  // namespace safelynx::pipeline
