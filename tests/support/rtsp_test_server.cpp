#include "rtsp_test_server.hpp"
#include "socket_send.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/base64.h>
#include <libavutil/mathematics.h>
}

namespace safelynx::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxRtpPacket = 1400;  // what the RTP muxer may put in one packet (header included)

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

struct InputCloser {
  void operator()(AVFormatContext* context) const { avformat_close_input(&context); }
};
using InputContext = std::unique_ptr<AVFormatContext, InputCloser>;

struct PacketFreer {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
using Packet = std::unique_ptr<AVPacket, PacketFreer>;

struct OpenedInput {
  InputContext context;
  int video_stream = -1;
};

OpenedInput open_input(const std::filesystem::path& file) {
  AVFormatContext* raw = nullptr;
  if (const int code = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); code < 0)
    throw std::runtime_error("rtsp test server: cannot open " + file.string() + ": " + av_error(code));
  OpenedInput input{InputContext(raw), -1};
  if (const int code = avformat_find_stream_info(raw, nullptr); code < 0)
    throw std::runtime_error("rtsp test server: cannot read " + file.string() + ": " + av_error(code));
  for (unsigned i = 0; i < raw->nb_streams; ++i) {
    if (raw->streams[i]->codecpar->codec_id == AV_CODEC_ID_H264) {
      input.video_stream = static_cast<int>(i);
      break;
    }
  }
  if (input.video_stream < 0) throw std::runtime_error("rtsp test server: no H.264 stream in " + file.string());
  return input;
}

// An "rtp" muxer for one stream with the input's codec parameters; its
// output goes to `pb` when given (the SDP needs no output).
AVFormatContext* new_rtp_muxer(const AVStream* source) {
  AVFormatContext* muxer = nullptr;
  if (const int code = avformat_alloc_output_context2(&muxer, nullptr, "rtp", nullptr); code < 0 || !muxer)
    throw std::runtime_error("rtsp test server: no rtp muxer: " + av_error(code));
  AVStream* stream = avformat_new_stream(muxer, nullptr);
  if (!stream || avcodec_parameters_copy(stream->codecpar, source->codecpar) < 0) {
    avformat_free_context(muxer);
    throw std::runtime_error("rtsp test server: cannot set up the rtp muxer's stream");
  }
  stream->codecpar->codec_tag = 0;
  stream->time_base = source->time_base;
  return muxer;
}

}  // namespace

struct RtspTestServer::Impl {
  RtspTestServerOptions options;
  int listen_fd = -1;
  std::uint16_t port = 0;
  int width = 0;
  int height = 0;
  double fps = 0;
  std::string sdp;

  std::atomic<bool> stopping{false};
  std::atomic<int> accepted{0};
  std::atomic<int> plays{0};
  std::atomic<int> frames_sent{0};
  std::atomic<int> next_session{0};
  std::thread acceptor;

  mutable std::mutex mutex;  // guards what follows
  std::vector<int> client_fds;
  std::vector<std::thread> connections;
  std::vector<std::string> requests;
  std::vector<std::string> problems;

  void problem(const std::string& text) {
    std::lock_guard lock(mutex);
    problems.push_back(text);
  }

  void accept_loop();
  void serve(int fd);
};

// ---------------------------------------------------------------------------
// One connection's RTP stream: the clip's H.264 packets, remuxed into RTP.

namespace {

class RtpStreamer {
 public:
  // send(channel, packet, size): false when the client went away.
  using Sender = std::function<bool(int channel, const std::uint8_t* data, int size)>;
  using Reporter = std::function<void(const std::string& problem)>;

  RtpStreamer(std::filesystem::path video, int rtp_channel, int rtcp_channel, Sender send, Reporter report)
      : video_(std::move(video)),
        rtp_channel_(rtp_channel),
        rtcp_channel_(rtcp_channel),
        send_(std::move(send)),
        report_(std::move(report)) {
    input_ = open_input(video_);
    muxer_ = new_rtp_muxer(input_.context->streams[input_.video_stream]);
    auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferSize));
    if (!buffer) throw std::runtime_error("rtsp test server: out of memory");
    io_ = avio_alloc_context(buffer, kBufferSize, 1, this, nullptr, &RtpStreamer::write_packet, nullptr);
    if (!io_) {
      av_free(buffer);
      throw std::runtime_error("rtsp test server: out of memory");
    }
    // The RTP muxer sizes its packets to this and flushes after each one, so
    // every write_packet call is one whole RTP or RTCP packet.
    io_->max_packet_size = kMaxRtpPacket;
    muxer_->pb = io_;
    if (const int code = avformat_write_header(muxer_, nullptr); code < 0)
      throw std::runtime_error("rtsp test server: the rtp muxer refused the stream: " + av_error(code));
    header_written_ = true;
  }

  ~RtpStreamer() {
    if (header_written_) av_write_trailer(muxer_);
    avformat_free_context(muxer_);
    if (io_) av_freep(&io_->buffer);
    avio_context_free(&io_);
  }
  RtpStreamer(const RtpStreamer&) = delete;
  RtpStreamer& operator=(const RtpStreamer&) = delete;

  // When the next frame is due, relative to the start of the stream.
  std::chrono::duration<double> next_due() {
    if (!fill()) return std::chrono::duration<double>(0);
    const AVRational base = input_.context->streams[input_.video_stream]->time_base;
    return std::chrono::duration<double>(static_cast<double>(output_dts(*pending_)) * av_q2d(base));
  }

  enum class Result { sent, clip_ended, failed };

  // Sends the next frame's RTP packets.
  Result send_frame() {
    if (!fill()) return Result::clip_ended;
    AVPacket* packet = pending_.get();
    const AVStream* in = input_.context->streams[input_.video_stream];
    const std::int64_t pts = (packet->pts == AV_NOPTS_VALUE ? packet->dts : packet->pts) - first_ts_ + offset_;
    const std::int64_t dts = output_dts(*packet);
    clip_end_ = std::max(clip_end_, dts - offset_ + std::max<std::int64_t>(packet->duration, 1));
    packet->pts = av_rescale_q(pts, in->time_base, muxer_->streams[0]->time_base);
    packet->dts = av_rescale_q(dts, in->time_base, muxer_->streams[0]->time_base);
    packet->duration = av_rescale_q(packet->duration, in->time_base, muxer_->streams[0]->time_base);
    packet->stream_index = 0;
    packet->pos = -1;
    const int code = av_write_frame(muxer_, packet);
    av_packet_unref(packet);
    have_pending_ = false;
    if (code < 0 || failed_) {
      if (!failed_) report_("av_write_frame: " + av_error(code));
      return Result::failed;
    }
    return Result::sent;
  }

  // Starts the clip again; timestamps go on from where it ended.
  void rewind() {
    input_ = open_input(video_);
    offset_ += clip_end_;
    clip_end_ = 0;
    first_ts_ = AV_NOPTS_VALUE;
  }

 private:
  static constexpr int kBufferSize = 64 * 1024;  // larger than any packet: only flushes write

#if LIBAVFORMAT_VERSION_MAJOR >= 61
  static int write_packet(void* opaque, const std::uint8_t* data, int size) {
#else
  static int write_packet(void* opaque, std::uint8_t* data, int size) {
#endif
    auto* self = static_cast<RtpStreamer*>(opaque);
    if (self->failed_) return AVERROR(EPIPE);
    // One call, one packet: version 2, at most max_packet_size bytes.
    if (size < 12 || size > kMaxRtpPacket || (data[0] >> 6) != 2) {
      self->report_("the rtp muxer wrote " + std::to_string(size) + " bytes that are not one RTP packet");
    }
    // RTCP (sender reports, types 200-204) goes on the odd channel.
    const bool rtcp = size >= 2 && data[1] >= 200 && data[1] <= 204;
    if (!self->send_(rtcp ? self->rtcp_channel_ : self->rtp_channel_, data, size)) {
      self->failed_ = true;
      return AVERROR(EPIPE);
    }
    return size;
  }

  // Reads the next video packet into pending_; false at the clip's end.
  bool fill() {
    if (have_pending_) return true;
    if (!pending_) pending_.reset(av_packet_alloc());
    for (;;) {
      if (av_read_frame(input_.context.get(), pending_.get()) < 0) return false;
      if (pending_->stream_index == input_.video_stream) break;
      av_packet_unref(pending_.get());
    }
    if (first_ts_ == AV_NOPTS_VALUE) first_ts_ = pending_->dts != AV_NOPTS_VALUE ? pending_->dts : pending_->pts;
    have_pending_ = true;
    return true;
  }

  std::int64_t output_dts(const AVPacket& packet) const {
    const std::int64_t dts = packet.dts != AV_NOPTS_VALUE ? packet.dts : packet.pts;
    return dts - first_ts_ + offset_;
  }

  std::filesystem::path video_;
  int rtp_channel_;
  int rtcp_channel_;
  Sender send_;
  Reporter report_;
  OpenedInput input_;
  AVFormatContext* muxer_ = nullptr;
  AVIOContext* io_ = nullptr;
  bool header_written_ = false;
  bool failed_ = false;
  Packet pending_;
  bool have_pending_ = false;
  std::int64_t first_ts_ = AV_NOPTS_VALUE;  // the clip's first dts, in the input's time base
  std::int64_t offset_ = 0;                 // added to timestamps: the clip's length times the loops so far
  std::int64_t clip_end_ = 0;               // the end of the clip so far, relative to first_ts_
};

struct Request {
  std::string method;
  std::string uri;
  std::string cseq;
  std::string head;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercased names

  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

// Parses one request head ("\r\n\r\n" already found and cut off).
Request parse_request(const std::string& head) {
  Request request;
  request.head = head;
  std::size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const auto space = first.find(' ');
  const auto second_space = first.find(' ', space == std::string::npos ? space : space + 1);
  if (space != std::string::npos) {
    request.method = first.substr(0, space);
    request.uri = first.substr(space + 1, second_space == std::string::npos ? std::string::npos : second_space - space - 1);
  }
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    request.headers.emplace_back(lowercase(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  request.cseq = request.header("cseq");
  return request;
}

// The path of an rtsp:// URI ("/stream/streamid=0"), or the URI itself.
std::string uri_path(const std::string& uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  const auto slash = uri.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : uri.substr(slash);
}

}  // namespace

// ---------------------------------------------------------------------------
// The server

void RtspTestServer::Impl::accept_loop() {
  while (!stopping) {
    pollfd entry{listen_fd, POLLIN, 0};
    if (::poll(&entry, 1, 50) <= 0) continue;
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) continue;
    ++accepted;
    std::lock_guard lock(mutex);
    client_fds.push_back(fd);
    connections.emplace_back([this, fd] {
      try {
        serve(fd);
      } catch (const std::exception& error) {  // e.g. the video cannot be reopened to loop
        problem(std::string("connection: ") + error.what());
        ::shutdown(fd, SHUT_RDWR);
      }
    });
  }
}

void RtspTestServer::Impl::serve(int fd) {
  std::string received;
  std::string session;
  int rtp_channel = 0;
  int rtcp_channel = 1;
  bool set_up = false;
  std::unique_ptr<RtpStreamer> streamer;
  Clock::time_point play_started;
  int frames = 0;     // sent on this connection
  bool stalled = false;
  bool closing = false;

  const auto reply = [&](const Request& request, const std::string& status, const std::string& headers = "",
                         const std::string& body = "") {
    std::string text = "RTSP/1.0 " + status + "\r\nCSeq: " + request.cseq + "\r\nServer: safelynx-rtsp-test\r\n";
    if (!session.empty() && request.method != "OPTIONS") text += "Session: " + session + ";timeout=60\r\n";
    text += headers;
    if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    text += "\r\n" + body;
    return send_all(fd, text.data(), text.size());
  };

  const std::string expected_authorization = [&] {
    if (options.username.empty()) return std::string();
    const std::string plain = options.username + ":" + options.password;
    std::string encoded(AV_BASE64_SIZE(plain.size()), '\0');
    av_base64_encode(encoded.data(), static_cast<int>(encoded.size()),
                     reinterpret_cast<const std::uint8_t*>(plain.data()), static_cast<int>(plain.size()));
    encoded.resize(std::char_traits<char>::length(encoded.c_str()));
    return "Basic " + encoded;
  }();

  const auto handle = [&](const Request& request) -> bool {  // false: close the connection
    if (!expected_authorization.empty() && request.header("authorization") != expected_authorization) {
      return reply(request, "401 Unauthorized", "WWW-Authenticate: Basic realm=\"safelynx-test\"\r\n");
    }
    if (request.method == "OPTIONS") {
      return reply(request, "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n");
    }
    if (request.method == "DESCRIBE") {
      const std::string path = uri_path(request.uri);
      if (path != options.path && path != options.path + "/") return reply(request, "404 Not Found");
      const std::string base = "rtsp://127.0.0.1:" + std::to_string(port) + options.path + "/";
      return reply(request, "200 OK", "Content-Base: " + base + "\r\nContent-Type: application/sdp\r\n", sdp);
    }
    if (request.method == "SETUP") {
      const std::string transport = request.header("transport");
      if (transport.find("RTP/AVP/TCP") == std::string::npos) return reply(request, "461 Unsupported Transport");
      if (const auto at = transport.find("interleaved="); at != std::string::npos) {
        if (std::sscanf(transport.c_str() + at, "interleaved=%d-%d", &rtp_channel, &rtcp_channel) != 2) {
          rtcp_channel = rtp_channel + 1;
        }
      }
      if (session.empty()) session = std::to_string(0x5afe0000 + next_session++);
      set_up = true;
      return reply(request, "200 OK",
                   "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(rtp_channel) + "-" +
                       std::to_string(rtcp_channel) + "\r\n");
    }
    if (request.method == "PLAY") {
      if (!set_up) return reply(request, "455 Method Not Valid in This State");
      if (!streamer) {
        try {
          // Interleaved: '$', the channel, the length (16 bits, big-endian), the packet.
          const auto send = [fd](int channel, const std::uint8_t* data, int size) {
            const std::uint8_t frame[4] = {'$', static_cast<std::uint8_t>(channel),
                                           static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size & 0xff)};
            return send_all(fd, frame, sizeof frame) && send_all(fd, data, static_cast<std::size_t>(size));
          };
          streamer = std::make_unique<RtpStreamer>(options.video, rtp_channel, rtcp_channel, send,
                                                    [this](const std::string& text) { problem(text); });
        } catch (const std::exception& error) {
          problem(error.what());
          reply(request, "500 Internal Server Error");
          return false;
        }
      }
      if (!reply(request, "200 OK", "Range: npt=0.000-\r\n")) return false;
      ++plays;
      play_started = Clock::now();
      return true;
    }
    if (request.method == "GET_PARAMETER") return reply(request, "200 OK");
    if (request.method == "TEARDOWN") {
      reply(request, "200 OK");
      return false;
    }
    return reply(request, "501 Not Implemented");
  };

  // Takes whole requests (and the client's interleaved RTCP) off `received`.
  const auto consume = [&]() -> bool {
    for (;;) {
      if (received.empty()) return true;
      if (received[0] == '$') {  // interleaved data from the client (RTCP receiver reports)
        if (received.size() < 4) return true;
        const std::size_t length = (static_cast<unsigned char>(received[2]) << 8) | static_cast<unsigned char>(received[3]);
        if (received.size() < 4 + length) return true;
        received.erase(0, 4 + length);
        continue;
      }
      const auto end = received.find("\r\n\r\n");
      if (end == std::string::npos) return received.size() < 64 * 1024;
      Request request = parse_request(received.substr(0, end));
      std::size_t body = 0;
      if (const std::string length = request.header("content-length"); !length.empty())
        body = std::strtoul(length.c_str(), nullptr, 10);
      if (received.size() < end + 4 + body) return true;
      received.erase(0, end + 4 + body);
      {
        std::lock_guard lock(mutex);
        requests.push_back(request.head);
      }
      if (!handle(request)) return false;
    }
  };

  while (!stopping && !closing) {
    int wait_ms = 50;
    const bool streaming = streamer && play_started != Clock::time_point{} && !stalled;
    if (streaming) {
      const auto due = play_started + std::chrono::duration_cast<Clock::duration>(streamer->next_due());
      wait_ms = static_cast<int>(std::clamp<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count(), 0, 50));
    }
    pollfd entry{fd, POLLIN, 0};
    const int ready = ::poll(&entry, 1, wait_ms);
    if (ready > 0) {
      char buffer[4096];
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) break;  // the client closed the connection
      received.append(buffer, static_cast<std::size_t>(got));
      if (!consume()) break;
    }
    if (!streaming || stopping) continue;
    const auto due = play_started + std::chrono::duration_cast<Clock::duration>(streamer->next_due());
    if (Clock::now() < due) continue;
    RtpStreamer::Result result = streamer->send_frame();
    if (result == RtpStreamer::Result::clip_ended && options.loop) {
      streamer->rewind();
      result = streamer->send_frame();
    }
    if (result != RtpStreamer::Result::sent) break;  // the clip ended, or the client went away
    ++frames;
    ++frames_sent;
    if (options.close_after_frames > 0 && frames >= options.close_after_frames) closing = true;
    if (options.stall_after_frames > 0 && frames >= options.stall_after_frames) stalled = true;
  }
  streamer.reset();
  // The client sees the end of the stream; the descriptor itself is closed
  // by the destructor (closing it here could let a new connection reuse the
  // number before the destructor shuts it down).
  ::shutdown(fd, SHUT_RDWR);
}

RtspTestServer::RtspTestServer(RtspTestServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  {
    OpenedInput input = open_input(impl_->options.video);
    const AVStream* video = input.context->streams[input.video_stream];
    impl_->width = video->codecpar->width;
    impl_->height = video->codecpar->height;
    const AVRational rate = video->avg_frame_rate.num > 0 ? video->avg_frame_rate : video->r_frame_rate;
    impl_->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    AVFormatContext* muxer = new_rtp_muxer(video);
    char text[16 * 1024] = {};
    const int code = av_sdp_create(&muxer, 1, text, sizeof text);
    avformat_free_context(muxer);
    if (code < 0) throw std::runtime_error("rtsp test server: av_sdp_create: " + av_error(code));
    impl_->sdp = text;
  }

  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(impl_->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (impl_->listen_fd < 0 || ::bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(impl_->listen_fd, 16) != 0) {
    if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
    throw std::runtime_error("rtsp test server cannot listen");
  }
  socklen_t length = sizeof address;
  ::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
  impl_->port = ntohs(address.sin_port);
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

RtspTestServer::~RtspTestServer() {
  impl_->stopping = true;
  impl_->acceptor.join();  // no new connections after this
  {
    std::lock_guard lock(impl_->mutex);
    for (const int fd : impl_->client_fds) ::shutdown(fd, SHUT_RDWR);  // wakes blocked sends and polls
  }
  for (auto& thread : impl_->connections) thread.join();
  for (const int fd : impl_->client_fds) ::close(fd);
  ::close(impl_->listen_fd);
}

std::uint16_t RtspTestServer::port() const { return impl_->port; }

std::string RtspTestServer::url(const std::string& credentials) const {
  return "rtsp://" + credentials + (credentials.empty() ? "" : "@") + "127.0.0.1:" + std::to_string(impl_->port) +
         impl_->options.path;
}

int RtspTestServer::width() const { return impl_->width; }
int RtspTestServer::height() const { return impl_->height; }
double RtspTestServer::fps() const { return impl_->fps; }
const std::string& RtspTestServer::sdp() const { return impl_->sdp; }
int RtspTestServer::connections() const { return impl_->accepted; }
int RtspTestServer::plays() const { return impl_->plays; }
int RtspTestServer::frames_sent() const { return impl_->frames_sent; }

std::vector<std::string> RtspTestServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::vector<std::string> RtspTestServer::problems() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->problems;
}

}  // namespace safelynx::testing
