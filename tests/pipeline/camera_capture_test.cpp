#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/camera_capture.hpp"
#include "pipeline/frame_source.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;

// Fails to open `open_failures` times, then gives `frames` frames and either
// ends or fails the read (as a dropped network stream does).
struct Script {
  std::atomic<int> open_failures{0};
  int frames = 0;
  bool fail_after_frames = false;
  std::atomic<int> opened{0};
  std::atomic<int> live_sources{0};
};

class ScriptedSource final : public FrameSource {
 public:
  explicit ScriptedSource(Script& script) : script_(script) { ++script_.live_sources; }
  ~ScriptedSource() override { --script_.live_sources; }
  void open() override {
    if (script_.open_failures.fetch_sub(1) > 0) throw FrameSourceError("rtsp://cam/stream: connection refused");
    ++script_.opened;
  }
  std::optional<cv::Mat> read() override {
    if (given_ == script_.frames) {
      if (script_.fail_after_frames) throw FrameSourceError("rtsp://cam/stream: stream ended unexpectedly");
      return std::nullopt;
    }
    ++given_;
    return cv::Mat(4, 4, CV_8UC3, cv::Scalar(given_, 0, 0));
  }
  void close() override {}
  double fps() const override { return 0; }
  std::string describe() const override { return "scripted"; }

 private:
  Script& script_;
  int given_ = 0;
};

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return predicate();
}

std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') ++n;
    ::closedir(dir);
  }
  return n;
}

TEST(CameraCapture, RetriesAFailingSourceThenDeliversEveryFrameInOrder) {
  Script script;
  script.open_failures = 3;
  script.frames = 5;
  BoundedQueue<Frame> queue(100, OverflowPolicy::DropOldest);
  std::mutex mutex;
  std::vector<std::pair<CameraStatus, std::string>> changes;
  const Uuid camera = Uuid::parse("44444444-4444-4444-8444-444444444444");
  CameraCapture capture(
      camera, [&] { return std::make_unique<ScriptedSource>(script); }, queue, {1ms, 4ms},
      [&](CameraStatus status, const std::string& message) {
        std::lock_guard lock(mutex);
        changes.emplace_back(status, message);
      });
  capture.start();
  ASSERT_TRUE(eventually([&] { return capture.status().message == "end of video"; }));
  capture.stop();

  const CaptureStatus status = capture.status();
  EXPECT_EQ(status.status, CameraStatus::Stopped);
  EXPECT_EQ(status.reconnects, 3u);
  EXPECT_EQ(status.frames, 5u);
  EXPECT_EQ(status.dropped, 0u);
  EXPECT_TRUE(status.last_frame.has_value());
  for (std::uint64_t expected = 1; expected <= 5; ++expected) {
    auto frame = queue.pop(0ms);
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->sequence, expected);
    EXPECT_EQ(frame->camera_id, camera);
    EXPECT_EQ(frame->bgr.at<cv::Vec3b>(0, 0)[0], expected);
  }
  std::lock_guard lock(mutex);
  ASSERT_GE(changes.size(), 3u);
  EXPECT_EQ(changes[0].first, CameraStatus::Connecting);
  EXPECT_EQ(changes[1], std::make_pair(CameraStatus::Error, std::string("rtsp://cam/stream: connection refused")));
  EXPECT_EQ(changes.back(), std::make_pair(CameraStatus::Stopped, std::string("end of video")));
}

TEST(CameraCapture, AFullQueueDropsTheOldestFramesAndCountsThem) {
  Script script;
  script.frames = 10;
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  CameraCapture capture(Uuid{}, [&] { return std::make_unique<ScriptedSource>(script); }, queue, {1ms, 1ms});
  capture.start();
  ASSERT_TRUE(eventually([&] { return capture.status().message == "end of video"; }));
  EXPECT_EQ(capture.status().dropped, 6u);
  EXPECT_EQ(queue.pop(0ms)->sequence, 7u);  // the newest four are kept
}

TEST(CameraCapture, AClosedBrowserCameraSaysSoRatherThanEndOfVideo) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  CameraCapture capture(Uuid{}, [&] { return std::make_unique<BrowserFrameSource>(feed, 30s); }, queue, {1ms, 1ms});
  capture.start();
  ASSERT_TRUE(eventually([&] { return capture.status().status == CameraStatus::Connecting || capture.status().status == CameraStatus::Active; }));
  feed->close();
  ASSERT_TRUE(eventually([&] { return capture.status().status == CameraStatus::Stopped; }));
  EXPECT_EQ(capture.status().message, "the browser camera was closed");
}

TEST(CameraCapture, HundredsOfReconnectsLeakNoThreadOrSource) {
  Script script;
  script.frames = 1;
  script.fail_after_frames = true;  // every stream dies after one frame
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  const std::size_t threads_before = thread_count();
  {
    CameraCapture capture(Uuid{}, [&] { return std::make_unique<ScriptedSource>(script); }, queue, {0ms, 0ms});
    capture.start();
    ASSERT_TRUE(eventually([&] { return capture.status().reconnects >= 300; }, 20s));
    // The capture thread, and perhaps an open's helper that is just exiting.
    EXPECT_LE(thread_count(), threads_before + 2);
    EXPECT_LE(script.live_sources.load(), 1);       // a failed source is released before the retry
  }
  // stop() does not wait for an open under way: its helper thread frees that
  // source when open() returns.
  EXPECT_TRUE(CameraCapture::wait_for_abandoned_opens(5s));
  EXPECT_EQ(script.live_sources.load(), 0);
  // A joined thread leaves /proc/self/task a moment after join() returns.
  EXPECT_TRUE(eventually([&] { return thread_count() == threads_before; })) << thread_count();
  EXPECT_GE(script.opened.load(), 300);
}

TEST(CameraCapture, StopInterruptsALongRetryWait) {
  Script script;
  script.open_failures = 1'000'000;
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  CameraCapture capture(Uuid{}, [&] { return std::make_unique<ScriptedSource>(script); }, queue, {60s, 60s});
  capture.start();
  ASSERT_TRUE(eventually([&] { return capture.status().status == CameraStatus::Error; }));
  const auto before = std::chrono::steady_clock::now();
  capture.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_EQ(capture.status().status, CameraStatus::Stopped);
}

TEST(FrameSource, RedactsCredentialsFromUrls) {
  EXPECT_EQ(redact_credentials("rtsp://admin:secret@10.0.0.2:554/live"), "rtsp://***@10.0.0.2:554/live");
  EXPECT_EQ(redact_credentials("rtsp://10.0.0.2/live"), "rtsp://10.0.0.2/live");
  EXPECT_EQ(redact_credentials("http://cam/snap?user=a@b"), "http://cam/snap?user=a@b");
  EXPECT_EQ(redact_credentials("/dev/video0"), "/dev/video0");
}

TEST(VideoFileSource, AMissingOrBogusFileIsNamed) {
  VideoFileSource missing("/no/such/clip.mp4", {});
  try {
    missing.open();
    FAIL() << "opened a missing file";
  } catch (const FrameSourceError& error) {
    EXPECT_NE(std::string(error.what()).find("/no/such/clip.mp4"), std::string::npos) << error.what();
  }
  VideoFileSource not_video(SAFELYNX_SOURCE_DIR "/README.md", {});
  EXPECT_THROW(not_video.open(), FrameSourceError);
}

TEST(VideoFileSource, PlaysTheSharedClipInRealTimeOnceOrLooping) {
  const std::string clip = SAFELYNX_TESTDATA_DIR "/video/short_hamilton_clip.mp4";
  if (!std::filesystem::exists(clip)) GTEST_SKIP() << "shared test video not found at " << clip;
  VideoFileSource fast(clip, {.realtime = false, .loop = false, .roots = {SAFELYNX_TESTDATA_DIR}});
  fast.open();
  EXPECT_NEAR(fast.fps(), 29.97, 0.01);
  int frames = 0;
  while (auto frame = fast.read()) {
    EXPECT_EQ(frame->cols, 640);
    ++frames;
  }
  EXPECT_EQ(frames, 275);

  VideoFileSource looping(clip, {.realtime = false, .loop = true, .roots = {SAFELYNX_TESTDATA_DIR}});
  looping.open();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(looping.read().has_value()) << "frame " << i;  // past the end: loops

  VideoFileSource paced(clip, {.realtime = true, .loop = false, .roots = {SAFELYNX_TESTDATA_DIR}});
  paced.open();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 31; ++i) ASSERT_TRUE(paced.read().has_value());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(seconds, 30 / 29.97 - 0.05);  // paced at the file's rate, not as fast as decoding
}


// ---------------------------------------------------------------------------
// Opens that do not return: stop() must not wait for them (OpenCV serialises
// FFmpeg opens process-wide, so one silent camera held up the others).

// An open() that blocks until released, like a peer that never answers.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool released = false;
  std::atomic<int> live_sources{0};
  void release() {
    {
      std::lock_guard lock(mutex);
      released = true;
    }
    changed.notify_all();
  }
};

class HangingSource final : public FrameSource {
 public:
  explicit HangingSource(Gate& gate) : gate_(gate) { ++gate_.live_sources; }
  ~HangingSource() override { --gate_.live_sources; }
  void open() override {
    std::unique_lock lock(gate_.mutex);
    gate_.changed.wait(lock, [&] { return gate_.released; });
    throw FrameSourceError("hanging: gave up");
  }
  std::optional<cv::Mat> read() override { return std::nullopt; }
  void close() override {}
  double fps() const override { return 0; }
  std::string describe() const override { return "hanging"; }
  std::chrono::milliseconds open_timeout() const override { return 200ms; }

 private:
  Gate& gate_;
};

TEST(CameraCapture, AnOpenPastItsTimeoutIsAnErrorAndStopDoesNotWaitForIt) {
  Gate gate;
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  {
    CameraCapture capture(Uuid{}, [&] { return std::make_unique<HangingSource>(gate); }, queue, {60s, 60s});
    capture.start();
    // The source's timeout plus the second of grace, with margin.
    ASSERT_TRUE(eventually([&] { return capture.status().status == CameraStatus::Error; }, 5s));
    EXPECT_EQ(capture.status().message, "hanging: no answer within 0.2 s");
    const auto before = std::chrono::steady_clock::now();
    capture.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
    EXPECT_EQ(capture.status().status, CameraStatus::Stopped);
  }
  // The abandoned open still holds its source until it returns; then the
  // helper frees it, and nothing is left behind.
  EXPECT_EQ(gate.live_sources.load(), 1);
  EXPECT_FALSE(CameraCapture::wait_for_abandoned_opens(0ms));
  gate.release();
  EXPECT_TRUE(CameraCapture::wait_for_abandoned_opens(5s));
  EXPECT_EQ(gate.live_sources.load(), 0);
}

// A TCP port that accepts connections (the kernel completes the handshake
// for the listen backlog) and never sends a byte.
class SilentPeer {
 public:
  SilentPeer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen");
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentPeer() { ::close(fd_); }
  std::string url() const { return "rtsp://admin:s3cret@127.0.0.1:" + std::to_string(port_) + "/live"; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(CameraCapture, AnRtspPeerThatNeverAnswersIsAnErrorAfterTheOpenTimeout) {
  SilentPeer peer;
  NetworkStreamOptions options;
  options.open_timeout = 2s;
  options.read_timeout = 2s;
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  CameraCapture capture(Uuid{}, [&] { return std::make_unique<NetworkStreamSource>(peer.url(), options); }, queue,
                        {60s, 60s});
  const auto started = std::chrono::steady_clock::now();
  capture.start();
  ASSERT_TRUE(eventually([&] { return capture.status().status == CameraStatus::Error; }, 8s))
      << to_string(capture.status().status);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s + 3s);
  const std::string message = capture.status().message;
  EXPECT_NE(message.find("no answer within 2 s"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  const auto before = std::chrono::steady_clock::now();
  capture.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  EXPECT_TRUE(CameraCapture::wait_for_abandoned_opens(10s));
}

TEST(CameraCapture, StoppingACameraIsNotHeldUpByAnotherOneStuckOpening) {
  const std::filesystem::path clip = SAFELYNX_TESTDATA_DIR "/video/short_hamilton_clip.mp4";
  if (!std::filesystem::exists(clip)) GTEST_SKIP() << "shared test video not found at " << clip;
  SilentPeer peer;
  NetworkStreamOptions options;
  options.open_timeout = 20s;  // stuck for the whole test
  BoundedQueue<Frame> queue(4, OverflowPolicy::DropOldest);
  CameraCapture playing(
      Uuid{}, [&] { return std::make_unique<VideoFileSource>(clip, VideoFileOptions{true, true, {clip.parent_path()}}); },
      queue, {60s, 60s});
  playing.start();
  ASSERT_TRUE(eventually([&] { return playing.status().status == CameraStatus::Active; }, 10s)) << playing.status().message;

  CameraCapture stuck(Uuid{}, [&] { return std::make_unique<NetworkStreamSource>(peer.url(), options); }, queue,
                      {60s, 60s});
  stuck.start();
  std::this_thread::sleep_for(500ms);  // inside FFmpeg's open, waiting for the silent peer
  ASSERT_EQ(stuck.status().status, CameraStatus::Connecting);

  auto before = std::chrono::steady_clock::now();
  playing.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  before = std::chrono::steady_clock::now();
  stuck.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  EXPECT_TRUE(CameraCapture::wait_for_abandoned_opens(30s));
}

}  // namespace
}  // namespace safelynx::pipeline
