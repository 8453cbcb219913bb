// Camera frames too large to process, and browser frames that are not JPEG,
// are refused from their headers or declared size before anything decodes
// them (issue 13, finding 2: a 400 KB PNG of 20000x20000 sent as a browser
// frame took the server from 270 MB to 1.6 GB).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "../support/hostile_images.hpp"
#include "pipeline/frame_source.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;
namespace hostile = safelynx::testing::hostile;

std::string encoded(const std::string& extension, int width, int height) {
  const cv::Mat image(height, width, CV_8UC3, cv::Scalar(30, 140, 220));
  std::vector<unsigned char> bytes;
  cv::imencode(extension, image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const FrameSourceError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no FrameSourceError";
  return "";
}

TEST(BrowserFrameRefusal, OnlyJpegFramesWithASaneSizeMayBeDecoded) {
  EXPECT_EQ(browser_frame_refusal(encoded(".jpg", 64, 48)), std::nullopt);
  // 8K video fits under the limit.
  EXPECT_EQ(browser_frame_refusal(hostile::with_jpeg_size(encoded(".jpg", 16, 16), 7680, 4320)), std::nullopt);
  EXPECT_EQ(browser_frame_refusal(""), "empty frame");
  EXPECT_EQ(browser_frame_refusal(encoded(".png", 8, 8)), "not a JPEG (PNG): send frames as JPEG");
  EXPECT_EQ(browser_frame_refusal("definitely not a jpeg"), "not a JPEG (unknown): send frames as JPEG");
  EXPECT_EQ(browser_frame_refusal(hostile::with_jpeg_size(encoded(".jpg", 16, 16), 20000, 20000)),
            "frame too large: 20000x20000 is more than 40000000 pixels");
  EXPECT_EQ(browser_frame_refusal(encoded(".jpg", 16, 16).substr(0, 20)), "corrupt JPEG: no frame header (SOF) with a size");
}

TEST(BrowserFrameSource, HugeAndNonJpegFramesAreSkippedUndecodedAndReported) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  // A valid 20000x20000 PNG: decoding it would take 1.2 GB.
  feed->push_jpeg(hostile::black_png(20000, 20000));
  BrowserFrameSource source(feed, 300ms);
  std::string message = error_of([&] { source.read(); });
  EXPECT_NE(message.find("no decodable frame within 0.3 s (1 refused, the last: not a JPEG (PNG)"), std::string::npos)
      << message;

  // Refused frames are skipped: the good one after them is read.
  BrowserFrameSource next(feed, 5s);
  std::thread page([&] {
    feed->push_jpeg(hostile::with_jpeg_size(encoded(".jpg", 16, 16), 20000, 20000));
    std::this_thread::sleep_for(100ms);
    feed->push_jpeg(encoded(".jpg", 32, 24));
  });
  const std::optional<cv::Mat> frame = next.read();
  page.join();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->size(), cv::Size(32, 24));
}

TEST(FrameResolution, StreamsAboveTheFrameLimitAreACameraError) {
  EXPECT_NO_THROW(check_frame_resolution("usb 0", 7680, 4320));
  EXPECT_NO_THROW(check_frame_resolution("usb 0", 0, 0));  // not known yet
  EXPECT_EQ(error_of([] { check_frame_resolution("rtsp://cam.local/stream", 20000, 20000); }),
            "rtsp://cam.local/stream: the resolution 20000x20000 is more than the limit of 40000000 pixels a frame");
}

}  // namespace
}  // namespace safelynx::pipeline
