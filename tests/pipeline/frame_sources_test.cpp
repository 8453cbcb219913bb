// The live frame sources against real sockets: a small HTTP server in the test
// serves an MP4 (with Range, as FFmpeg seeks to the index at the end) and an
// MJPEG multipart stream (what IP cameras send), and an in-process RTSP
// server (tests/support/rtsp_test_server.hpp) serves H.264 over RTP
// interleaved on TCP, as IP cameras do; error paths for unreachable, silent
// and ending streams, USB devices that do not exist, and the browser feed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../support/rtsp_test_server.hpp"
#include "../support/socket_send.hpp"
#include "pipeline/frame_source.hpp"

namespace safelynx::pipeline {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using safelynx::testing::send_all;

// A minimal HTTP/1.1 server on 127.0.0.1: one thread per connection; the
// handler gets the socket and the request head and writes the answer.
class TestHttpServer {
 public:
  using Handler = std::function<void(int fd, const std::string& request_head, const std::atomic<bool>& stopping)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("test server cannot listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestHttpServer() {
    stopping_ = true;
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (const int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes blocked reads and writes
    }
    for (auto& thread : connections_) thread.join();
    for (const int fd : client_fds_) ::close(fd);
    ::close(listen_fd_);
  }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path, const std::string& credentials = "") const {
    return "http://" + credentials + (credentials.empty() ? "" : "@") + "127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return accepted_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd entry{listen_fd_, POLLIN, 0};
      if (::poll(&entry, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard lock(mutex_);
      client_fds_.push_back(fd);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && !stopping_) {
      pollfd entry{fd, POLLIN, 0};
      if (::poll(&entry, 1, 50) <= 0) continue;
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return;
      head.append(buffer, static_cast<std::size_t>(got));
      if (head.size() > 64 * 1024) return;
    }
    if (stopping_) return;
    handler_(fd, head, stopping_);
    ::shutdown(fd, SHUT_WR);
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> client_fds_;
  std::vector<std::thread> connections_;
};

// Serves `bytes` as video/mp4, honouring "Range: bytes=a-" and "bytes=a-b".
TestHttpServer::Handler file_handler(std::string bytes) {
  return [bytes = std::move(bytes)](int fd, const std::string& head, const std::atomic<bool>& stopping) {
    std::size_t first = 0;
    std::size_t last = bytes.size() - 1;
    bool partial = false;
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (const auto range = lower.find("\r\nrange: bytes="); range != std::string::npos) {
      unsigned long long a = 0;
      unsigned long long b = 0;
      const char* spec = head.c_str() + range + std::string("\r\nrange: bytes=").size();
      const int fields = std::sscanf(spec, "%llu-%llu", &a, &b);
      if (fields >= 1 && a < bytes.size()) {
        partial = true;
        first = static_cast<std::size_t>(a);
        if (fields == 2 && b >= a && b < bytes.size()) last = static_cast<std::size_t>(b);
      }
    }
    const std::size_t length = last - first + 1;
    std::string answer = partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
    answer += "Content-Type: video/mp4\r\nAccept-Ranges: bytes\r\nConnection: close\r\n";
    answer += "Content-Length: " + std::to_string(length) + "\r\n";
    if (partial) {
      answer += "Content-Range: bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                std::to_string(bytes.size()) + "\r\n";
    }
    answer += "\r\n";
    if (!send_all(fd, answer)) return;
    for (std::size_t offset = first; offset <= last && !stopping; offset += 64 * 1024) {
      const std::size_t amount = std::min<std::size_t>(64 * 1024, last + 1 - offset);
      if (!send_all(fd, bytes.data() + offset, amount)) return;
    }
  };
}

std::string jpeg_bytes(int width, int height, int shade) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(shade, 255 - shade, 128));
  cv::rectangle(image, cv::Rect(width / 4, height / 4, width / 2, height / 2), cv::Scalar(0, 0, 255), -1);
  std::vector<unsigned char> encoded;
  cv::imencode(".jpg", image, encoded);
  return std::string(encoded.begin(), encoded.end());
}

struct MjpegScript {
  int frames = 1000;          // parts to send
  bool silent_after = false;  // then keep the connection open without sending (else close it)
  int width = 320;
  int height = 240;
};

// multipart/x-mixed-replace, as IP cameras send MJPEG; FFmpeg reads it with
// its "mpjpeg" demuxer.
TestHttpServer::Handler mjpeg_handler(MjpegScript script) {
  return [script](int fd, const std::string&, const std::atomic<bool>& stopping) {
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=safelynxframe\r\n"
                      "Cache-Control: no-cache\r\nConnection: close\r\n\r\n")) {
      return;
    }
    for (int i = 0; i < script.frames && !stopping; ++i) {
      const std::string jpeg = jpeg_bytes(script.width, script.height, (i * 37) % 256);
      const std::string part = "--safelynxframe\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                               std::to_string(jpeg.size()) + "\r\n\r\n" + jpeg + "\r\n";
      if (!send_all(fd, part)) return;
      std::this_thread::sleep_for(20ms);
    }
    while (script.silent_after && !stopping) std::this_thread::sleep_for(20ms);
  };
}

// Accepts, reads the request and never answers.
TestHttpServer::Handler silent_handler() {
  return [](int, const std::string&, const std::atomic<bool>& stopping) {
    while (!stopping) std::this_thread::sleep_for(20ms);
  };
}

std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);  // nothing listens there now
  return ntohs(address.sin_port);
}

// The FrameSourceError message of `action`, or "" when it did not throw one.
template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const FrameSourceError& error) {
    return error.what();
  }
  return "";
}

const std::filesystem::path kClip = SAFELYNX_TESTDATA_DIR "/video/short_hamilton_clip.mp4";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

NetworkStreamOptions quick_options() {
  NetworkStreamOptions options;
  options.open_timeout = 5s;
  options.read_timeout = 5s;
  return options;
}

TEST(NetworkStreamSource, ReadsAnMp4ServedOverHttpLikeTheFileItself) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  TestHttpServer server(file_handler(read_file(kClip)));
  VideoFileSource file(kClip, VideoFileOptions{false, false, {kClip.parent_path()}});
  file.open();
  NetworkStreamSource stream(server.url("/clip.mp4"), quick_options());
  EXPECT_EQ(stream.describe(), server.url("/clip.mp4"));
  stream.open();
  EXPECT_GT(stream.fps(), 0);
  EXPECT_NEAR(stream.fps(), file.fps(), 0.01);
  int frames = 0;
  std::string ended;
  for (;;) {
    std::optional<cv::Mat> expected = file.read();
    std::optional<cv::Mat> got;
    ended = error_of([&] { got = stream.read(); });
    if (!ended.empty()) {
      EXPECT_FALSE(expected.has_value()) << "the HTTP stream ended early, after " << frames << " frames";
      break;
    }
    ASSERT_TRUE(got.has_value());  // a network stream never ends quietly
    ASSERT_TRUE(expected.has_value()) << "the HTTP stream has more frames than the file";
    ASSERT_EQ(got->size(), expected->size());
    ASSERT_EQ(got->type(), CV_8UC3);
    ASSERT_EQ(cv::norm(*got, *expected, cv::NORM_INF), 0) << "frame " << frames;
    ++frames;
  }
  EXPECT_GT(frames, 10);
  // The end of a live stream is an error (the capture thread reconnects).
  EXPECT_NE(ended.find(server.url("/clip.mp4")), std::string::npos) << ended;
  EXPECT_NE(ended.find("ended"), std::string::npos) << ended;
}

TEST(NetworkStreamSource, ReadsAnMjpegMultipartStream) {
  TestHttpServer server(mjpeg_handler(MjpegScript{}));
  NetworkStreamSource stream(server.url("/video.mjpg"), quick_options());
  stream.open();
  for (int i = 0; i < 10; ++i) {
    const std::optional<cv::Mat> frame = stream.read();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->cols, 320);
    EXPECT_EQ(frame->rows, 240);
    EXPECT_EQ(frame->type(), CV_8UC3);
    // The red square in the middle survives JPEG.
    const cv::Vec3b centre = frame->at<cv::Vec3b>(120, 160);
    EXPECT_GT(centre[2], 200);
    EXPECT_LT(centre[0], 60);
  }
  stream.close();
}

TEST(NetworkStreamSource, AnMjpegStreamThatEndsIsAnError) {
  MjpegScript script;
  script.frames = 5;
  TestHttpServer server(mjpeg_handler(script));
  NetworkStreamSource stream(server.url("/video.mjpg", "admin:hunter2"), quick_options());
  stream.open();
  int frames = 0;
  std::string message;
  for (int i = 0; i < 10 && message.empty(); ++i) {
    message = error_of([&] {
      ASSERT_TRUE(stream.read().has_value());
      ++frames;
    });
  }
  EXPECT_GE(frames, 1);
  EXPECT_LE(frames, 5);
  EXPECT_NE(message.find("the stream ended"), std::string::npos) << message;
  EXPECT_NE(message.find("http://***@127.0.0.1:" + std::to_string(server.port())), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(NetworkStreamSource, AStreamThatGoesSilentFailsAfterTheReadTimeout) {
  MjpegScript script;
  script.frames = 8;
  script.silent_after = true;
  TestHttpServer server(mjpeg_handler(script));
  NetworkStreamOptions options;
  options.open_timeout = 5s;
  options.read_timeout = 1s;
  NetworkStreamSource stream(server.url("/video.mjpg"), options);
  stream.open();
  const auto started = Clock::now();
  std::string message;
  for (int i = 0; i < 20 && message.empty(); ++i) {
    message = error_of([&] { ASSERT_TRUE(stream.read().has_value()); });
  }
  EXPECT_NE(message.find("no frame within 1 s"), std::string::npos) << message;
  EXPECT_LT(Clock::now() - started, 8s);
}

TEST(NetworkStreamSource, UnreachableUrlFailsNamingIt) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  NetworkStreamSource stream(url, quick_options());
  const std::string message = error_of([&] { stream.open(); });
  EXPECT_NE(message.find(url), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { stream.read(); }).find("read before open"), std::string::npos);
}

TEST(NetworkStreamSource, ServerThatNeverAnswersTimesOutOnOpen) {
  TestHttpServer server(silent_handler());
  NetworkStreamOptions options;
  options.open_timeout = 1s;
  options.read_timeout = 1s;
  NetworkStreamSource stream(server.url("/stream", "user:s3cret"), options);
  const auto started = Clock::now();
  const std::string message = error_of([&] { stream.open(); });
  const auto elapsed = Clock::now() - started;
  EXPECT_GE(server.connections(), 1);
  EXPECT_NE(message.find("no answer within 1 s"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  EXPECT_LT(elapsed, 8s);  // generous: the point is that it does not hang
}

TEST(NetworkStreamSource, CredentialsNeverAppearInMessages) {
  const std::uint16_t port = closed_port();
  for (const std::string& scheme : {std::string("http"), std::string("rtsp")}) {
    const std::string url = scheme + "://admin:p%40ss:word@127.0.0.1:" + std::to_string(port) + "/live";
    NetworkStreamSource stream(url, quick_options());
    EXPECT_EQ(stream.describe(), scheme + "://***@127.0.0.1:" + std::to_string(port) + "/live");
    const std::string message = error_of([&] { stream.open(); });
    EXPECT_FALSE(message.empty()) << url;
    EXPECT_NE(message.find(stream.describe()), std::string::npos) << message;
    EXPECT_EQ(message.find("word"), std::string::npos) << message;
    EXPECT_EQ(message.find("admin"), std::string::npos) << message;
  }
}

TEST(NetworkStreamSource, OnlyNetworkSchemesAreOpened) {
  for (const char* url : {"file:///etc/passwd", "/etc/passwd", "concat:a|b", "pipe:0"}) {
    NetworkStreamSource stream(url, quick_options());
    const std::string message = error_of([&] { stream.open(); });
    EXPECT_NE(message.find("unsupported URL"), std::string::npos) << url << ": " << message;
  }
}

// ---------------------------------------------------------------------------
// RTSP: H.264 over RTP interleaved on the RTSP connection (TCP), from the
// in-process server. Opening takes about a second: FFmpeg reads ~20 frames,
// paced in real time, to learn the frame rate.

using safelynx::testing::RtspTestServer;
using safelynx::testing::RtspTestServerOptions;

RtspTestServerOptions rtsp_clip() {
  RtspTestServerOptions options;
  options.video = kClip;
  return options;
}

// The request heads the server received whose method is `method`.
std::vector<std::string> requests_of(const RtspTestServer& server, const std::string& method) {
  std::vector<std::string> found;
  for (const std::string& head : server.requests()) {
    if (head.rfind(method + " ", 0) == 0) found.push_back(head);
  }
  return found;
}

TEST(RtspTestServer, DescribesTheClipWithAnSdpFromLibavformat) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  const RtspTestServer server(rtsp_clip());
  EXPECT_EQ(server.width(), 640);
  EXPECT_EQ(server.height(), 360);
  EXPECT_NEAR(server.fps(), 29.97, 0.01);
  const std::string& sdp = server.sdp();
  EXPECT_NE(sdp.find("m=video 0 RTP/AVP 96"), std::string::npos) << sdp;
  EXPECT_NE(sdp.find("a=rtpmap:96 H264/90000"), std::string::npos) << sdp;
  EXPECT_NE(sdp.find("sprop-parameter-sets="), std::string::npos) << sdp;  // SPS/PPS from the MP4's avcC
  EXPECT_NE(sdp.find("a=control:streamid=0"), std::string::npos) << sdp;
  EXPECT_EQ(server.url(), "rtsp://127.0.0.1:" + std::to_string(server.port()) + "/stream");
}

TEST(NetworkStreamSource, ReadsAnH264RtspStreamOverTcpFrameForFrame) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  const RtspTestServer server(rtsp_clip());
  NetworkStreamSource stream(server.url(), quick_options());
  EXPECT_EQ(stream.describe(), server.url());
  const auto started = Clock::now();
  stream.open();
  EXPECT_NEAR(stream.fps(), server.fps(), 0.01);
  // The same packets as the file, decoded by the same decoder: the same
  // pixels, from the first frame on (none lost, none reordered).
  VideoFileSource file(kClip, VideoFileOptions{false, false, {kClip.parent_path()}});
  file.open();
  for (int i = 0; i < 40; ++i) {
    const std::optional<cv::Mat> expected = file.read();
    const std::optional<cv::Mat> got = stream.read();
    ASSERT_TRUE(expected.has_value());
    ASSERT_TRUE(got.has_value()) << "frame " << i;
    ASSERT_EQ(got->size(), cv::Size(server.width(), server.height())) << "frame " << i;
    ASSERT_EQ(got->type(), CV_8UC3);
    ASSERT_EQ(cv::norm(*got, *expected, cv::NORM_INF), 0) << "frame " << i;
  }
  stream.close();
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.plays(), 1);
  EXPECT_TRUE(server.problems().empty()) << server.problems().front();
  // RTSP goes over TCP from the first SETUP on (FFmpeg's own default tries
  // UDP first, which this server answers 461), unless an operator overrode it.
  if (std::getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS") == nullptr) {
    const std::vector<std::string> setups = requests_of(server, "SETUP");
    ASSERT_EQ(setups.size(), 1U);
    EXPECT_NE(setups[0].find("Transport: RTP/AVP/TCP;unicast;interleaved=0-1"), std::string::npos) << setups[0];
  }
}

TEST(NetworkStreamSource, AnRtspStreamTheServerEndsIsAnErrorAndReconnects) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  RtspTestServerOptions options = rtsp_clip();
  options.close_after_frames = 45;  // past the ~20-30 frames that open() reads ahead
  const RtspTestServer server(options);
  NetworkStreamSource stream(server.url(), quick_options());
  const auto started = Clock::now();
  stream.open();
  int frames = 0;
  std::string message;
  for (int i = 0; i < 100 && message.empty(); ++i) {
    message = error_of([&] {
      ASSERT_TRUE(stream.read().has_value());
      ++frames;
    });
  }
  EXPECT_LT(Clock::now() - started, 4s);  // the end is noticed at once, not after the read timeout
  EXPECT_EQ(frames, 45);                  // every frame sent was delivered before the end
  EXPECT_EQ(message, server.url() + ": the stream ended");
  // What the capture thread does next: open again, a new connection.
  stream.open();
  EXPECT_TRUE(stream.read().has_value());
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.plays(), 2);
  EXPECT_TRUE(server.problems().empty()) << server.problems().front();
}

TEST(NetworkStreamSource, AnRtspStreamThatStallsFailsAfterTheReadTimeout) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  RtspTestServerOptions options = rtsp_clip();
  options.stall_after_frames = 40;  // then silence, the connection kept open
  const RtspTestServer server(options);
  NetworkStreamOptions timeouts;
  timeouts.open_timeout = 5s;
  timeouts.read_timeout = 1s;
  NetworkStreamSource stream(server.url(), timeouts);
  stream.open();
  int frames = 0;
  std::string message;
  Clock::duration slowest{};
  for (int i = 0; i < 100 && message.empty(); ++i) {
    const auto read_started = Clock::now();
    message = error_of([&] {
      ASSERT_TRUE(stream.read().has_value());
      ++frames;
    });
    slowest = std::max(slowest, Clock::now() - read_started);
  }
  // The interrupted read still returns a frame the decoder held (FFmpeg's
  // RTSP demuxer reports the interruption as the end of the stream, and
  // OpenCV drains the decoder); the next read fails at once. The last frame
  // sent may be lost with the H.264 parser's state: 39 or 40 frames.
  EXPECT_GE(frames, 35);
  EXPECT_LE(frames, 40);
  EXPECT_EQ(message, server.url() + ": no frame within 1 s");  // not "the stream ended"
  EXPECT_GE(slowest, 900ms);  // one read waited out the timeout...
  EXPECT_LT(slowest, 3s);     // ...and not much longer
  EXPECT_EQ(server.connections(), 1);
}

TEST(NetworkStreamSource, RtspCredentialsInTheUrlAreSentButNeverShown) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  RtspTestServerOptions options = rtsp_clip();
  options.username = "admin";
  options.password = "p@ss:word";
  const RtspTestServer server(options);
  const std::string redacted = "rtsp://***@127.0.0.1:" + std::to_string(server.port()) + "/stream";

  // Percent-encoded in the URL; FFmpeg decodes them and answers the 401 with Basic.
  NetworkStreamSource right(server.url("admin:p%40ss%3Aword"), quick_options());
  EXPECT_EQ(right.describe(), redacted);
  right.open();
  for (int i = 0; i < 3; ++i) {
    const std::optional<cv::Mat> frame = right.read();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->size(), cv::Size(server.width(), server.height()));
  }
  right.close();
  const std::vector<std::string> plays = requests_of(server, "PLAY");
  ASSERT_EQ(plays.size(), 1U);
  EXPECT_NE(plays[0].find("Authorization: Basic YWRtaW46cEBzczp3b3Jk"), std::string::npos) << plays[0];  // admin:p@ss:word

  for (const std::string& credentials : {std::string("admin:letmein"), std::string("")}) {
    NetworkStreamSource wrong(server.url(credentials), quick_options());
    const auto started = Clock::now();
    const std::string message = error_of([&] { wrong.open(); });
    EXPECT_LT(Clock::now() - started, 2s) << "a 401 fails at once";
    EXPECT_NE(message.find("cannot open the stream"), std::string::npos) << message;
    EXPECT_NE(message.find(wrong.describe()), std::string::npos) << message;
    EXPECT_EQ(message.find("letmein"), std::string::npos) << message;
    EXPECT_EQ(message.find("admin"), std::string::npos) << message;
  }
  EXPECT_EQ(server.plays(), 1);
}

TEST(NetworkStreamSource, AnRtspPathTheServerDoesNotHaveFailsToOpen) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << "test video missing: " << kClip;
  const RtspTestServer server(rtsp_clip());
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(server.port()) + "/no-such-stream";
  NetworkStreamSource stream(url, quick_options());
  const auto started = Clock::now();
  const std::string message = error_of([&] { stream.open(); });
  EXPECT_LT(Clock::now() - started, 2s);
  EXPECT_NE(message.find(url + ": cannot open the stream"), std::string::npos) << message;
  EXPECT_EQ(server.plays(), 0);
}

TEST(UsbCameraSource, MissingDeviceNamesIt) {
  UsbCameraSource by_path("/dev/video97", 640, 480, 15);
  EXPECT_EQ(by_path.describe(), "usb /dev/video97");
  std::string message = error_of([&] { by_path.open(); });
  EXPECT_NE(message.find("no camera at /dev/video97"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { by_path.read(); }).find("read before open"), std::string::npos);

  UsbCameraSource by_index("97", 0, 0, 0);
  message = error_of([&] { by_index.open(); });
  EXPECT_NE(message.find("no camera at /dev/video97"), std::string::npos) << message;

  UsbCameraSource not_a_device("/dev/null/video0", 0, 0, 0);
  EXPECT_FALSE(error_of([&] { not_a_device.open(); }).empty());
  UsbCameraSource regular_file("/etc/hostname", 0, 0, 0);
  if (std::filesystem::exists("/etc/hostname")) {
    message = error_of([&] { regular_file.open(); });
    EXPECT_NE(message.find("not a camera device"), std::string::npos) << message;
  }
}

TEST(BrowserFrameSource, DecodesTheNewestJpegPushedFromAnotherThread) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  BrowserFrameSource source(feed, 5s);
  source.open();
  std::thread browser([&] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(50ms);
      feed->push_jpeg(jpeg_bytes(64, 48, 10));
    }
  });
  for (int i = 0; i < 3; ++i) {
    const std::optional<cv::Mat> frame = source.read();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->cols, 64);
    EXPECT_EQ(frame->rows, 48);
    EXPECT_EQ(frame->type(), CV_8UC3);
  }
  browser.join();
  EXPECT_EQ(feed->replaced(), 0U);
}

TEST(BrowserFrameFeed, KeepsOnlyTheNewestFrameAndCountsTheOthers) {
  BrowserFrameFeed feed;
  feed.push_jpeg("one");
  feed.push_jpeg("two");
  feed.push_jpeg("three");
  EXPECT_EQ(feed.replaced(), 2U);
  EXPECT_EQ(feed.take(0ms), "three");
  EXPECT_EQ(feed.take(10ms), std::nullopt);  // nothing newer
}

TEST(BrowserFrameSource, CorruptJpegIsSkipped) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  BrowserFrameSource source(feed, 5s);
  feed->push_jpeg("definitely not a jpeg");
  std::thread browser([&] {
    std::this_thread::sleep_for(200ms);
    feed->push_jpeg(std::string());
    std::this_thread::sleep_for(100ms);
    feed->push_jpeg(jpeg_bytes(32, 24, 100));
  });
  const std::optional<cv::Mat> frame = source.read();
  browser.join();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->size(), cv::Size(32, 24));
}

TEST(BrowserFrameSource, IdleTimeoutIsAnError) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  BrowserFrameSource source(feed, 200ms);
  std::string message = error_of([&] { source.read(); });
  EXPECT_NE(message.find("the browser stopped sending frames"), std::string::npos) << message;

  // Only undecodable frames: the error says so.
  feed->push_jpeg(jpeg_bytes(64, 48, 1).substr(0, 20));
  message = error_of([&] { source.read(); });
  EXPECT_NE(message.find("corrupt"), std::string::npos) << message;

  // The page sends again: the next source (a retry) reads.
  BrowserFrameSource retry(feed, 200ms);
  feed->push_jpeg(jpeg_bytes(16, 16, 1));
  EXPECT_TRUE(retry.read().has_value());
}

TEST(BrowserFrameSource, FeedCloseWakesABlockedReadWhichEnds) {
  auto feed = std::make_shared<BrowserFrameFeed>();
  auto source = std::make_unique<BrowserFrameSource>(feed, 30s);
  std::atomic<bool> done{false};
  std::optional<cv::Mat> result = cv::Mat();
  std::thread reader([&] {
    result = source->read();
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  const auto closed_at = Clock::now();
  feed->close();
  while (!done && Clock::now() - closed_at < 5s) std::this_thread::sleep_for(1ms);
  const auto woke_after = Clock::now() - closed_at;
  reader.join();
  EXPECT_FALSE(result.has_value());
  EXPECT_LT(woke_after, 2s);
  // Closed: later reads end at once, even with a frame waiting.
  feed->push_jpeg(jpeg_bytes(16, 16, 1));
  EXPECT_FALSE(source->read().has_value());

  // A source's close() does not close the feed; after reopen() a new source
  // (the camera started again) reads the frame that waits.
  source->close();
  feed->reopen();
  BrowserFrameSource again(feed, 1s);
  again.open();
  const std::optional<cv::Mat> frame = again.read();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->size(), cv::Size(16, 16));
  again.close();
  feed->push_jpeg(jpeg_bytes(8, 8, 1));
  BrowserFrameSource third(feed, 1s);
  EXPECT_TRUE(third.read().has_value());
}

}  // namespace
}  // namespace safelynx::pipeline
