// A minimal RTSP/1.0 server for tests, on 127.0.0.1 (an ephemeral port), that
// serves one H.264 stream the way an IP camera does over TCP: RTP (and RTCP)
// interleaved on the RTSP connection ("$", channel, 16-bit length, packet).
//
// The video is a file's H.264 packets remuxed, not re-encoded, through
// libavformat's "rtp" muxer (the SDP comes from av_sdp_create), paced at the
// clip's own frame rate. Each connection that sends PLAY gets the clip from
// its first frame. Handles OPTIONS, DESCRIBE, SETUP (RTP/AVP/TCP only: UDP is
// answered 461), PLAY, TEARDOWN and GET_PARAMETER; optionally requires Basic
// credentials (401 with WWW-Authenticate: Basic otherwise), and can end or
// stall the stream after some frames to test how a client copes.
//
// Threads: one accepts, one per connection. The destructor stops them all
// promptly (it shuts the sockets down) and joins them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace safelynx::testing {

struct RtspTestServerOptions {
  std::filesystem::path video;  // a file with an H.264 video stream (other streams are not served)
  std::string path = "/stream";  // DESCRIBE of any other path is answered 404
  bool loop = true;              // at the clip's end, start it again (else close the connection)
  int close_after_frames = 0;    // > 0: close the connection after sending this many frames
  int stall_after_frames = 0;    // > 0: stop sending after this many frames, the connection kept open
  std::string username;          // non-empty: every request needs "Authorization: Basic" with these
  std::string password;
};

class RtspTestServer {
 public:
  // Throws std::runtime_error when the video has no H.264 stream or the
  // server cannot listen.
  explicit RtspTestServer(RtspTestServerOptions options);
  ~RtspTestServer();
  RtspTestServer(const RtspTestServer&) = delete;
  RtspTestServer& operator=(const RtspTestServer&) = delete;

  std::uint16_t port() const;
  // rtsp://[credentials@]127.0.0.1:PORT/stream ("user:pass" as given, already URL-encoded).
  std::string url(const std::string& credentials = "") const;
  // The served clip.
  int width() const;
  int height() const;
  double fps() const;
  const std::string& sdp() const;

  int connections() const;  // TCP connections accepted
  int plays() const;        // PLAY requests answered 200: streams started
  int frames_sent() const;  // video frames sent, all connections together
  // Every request head received (request line and headers), in order: what the client sent.
  std::vector<std::string> requests() const;
  // Anything that went against expectations on the server side (e.g. the
  // muxer handing the writer something other than one whole RTP packet);
  // tests expect none.
  std::vector<std::string> problems() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safelynx::testing
