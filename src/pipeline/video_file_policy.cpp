#include "pipeline/video_file_policy.hpp"

#include "pipeline/frame_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <system_error>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace safelynx::pipeline {
namespace fs = std::filesystem;

namespace {

// Demuxers of video containers. Left out on purpose: tty (renders text
// files), image2 and the *_pipe image demuxers (any photo), concat, hls,
// dash and other playlists (read further files or URLs), raw mjpeg (a JPEG).
constexpr const char* kFormatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,asf";

constexpr std::array kVideoCodecs = {
    AV_CODEC_ID_H264,   AV_CODEC_ID_HEVC,      AV_CODEC_ID_MPEG4,     AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG1VIDEO,
    AV_CODEC_ID_MJPEG,  AV_CODEC_ID_VP8,       AV_CODEC_ID_VP9,       AV_CODEC_ID_AV1,        AV_CODEC_ID_H263,
    AV_CODEC_ID_THEORA, AV_CODEC_ID_MSMPEG4V2, AV_CODEC_ID_MSMPEG4V3, AV_CODEC_ID_WMV1,       AV_CODEC_ID_WMV2,
    AV_CODEC_ID_WMV3,   AV_CODEC_ID_VC1,       AV_CODEC_ID_FLV1,      AV_CODEC_ID_RAWVIDEO,
};

std::vector<fs::path> canonical_roots(const std::vector<fs::path>& roots) {
  std::vector<fs::path> out;
  for (const fs::path& root : roots) {
    std::error_code error;
    fs::path canonical = fs::weakly_canonical(root, error);
    if (!error && canonical.is_absolute()) out.push_back(std::move(canonical));
  }
  return out;
}

// `path` (canonical) is strictly inside `root` (canonical), component-wise:
// "/videos-old/x" is not inside "/videos".
bool inside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator of the root
    if (p == path.end() || *p != *r) return false;
  }
  return p != path.end();
}

bool inside_any(const fs::path& path, const std::vector<fs::path>& roots) {
  return std::any_of(roots.begin(), roots.end(), [&](const fs::path& root) { return inside(path, root); });
}

// The refusal for a video stream whose known size is over max_frame_pixels,
// or "" when none is.
std::string oversized_stream(const AVFormatContext* context, const std::string& shown) {
  for (unsigned i = 0; i < context->nb_streams; ++i) {
    const AVCodecParameters* codec = context->streams[i]->codecpar;
    if (codec->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if (std::string refusal = frame_resolution_refusal(shown, codec->width, codec->height); !refusal.empty())
      return refusal;
  }
  return "";
}

// Opens `ffmpeg_path` with the whitelists and checks for a video stream in a
// video codec; throws VideoFileRefused naming `shown`.
void probe_video(const std::string& ffmpeg_path, const std::string& shown) {
  const std::string refused = shown +
                              ": not a video file that may be opened (containers: MP4/MOV, Matroska/WebM, AVI, "
                              "MPEG-TS/PS, FLV, ASF; with a video stream)";
  AVFormatContext* context = avformat_alloc_context();
  if (!context) throw VideoFileRefused(refused);
  AVDictionary* options = nullptr;
  av_dict_set(&options, "format_whitelist", kFormatWhitelist, 0);
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  const int opened = avformat_open_input(&context, ffmpeg_path.c_str(), nullptr, &options);  // frees context on failure
  av_dict_free(&options);
  if (opened < 0) throw VideoFileRefused(refused);
  // Most containers state the frame size in their header: refuse an absurd
  // one before a decoder allocates it. Where the header does not say
  // (MPEG-TS), the stream-info probe decodes, bounded by max_pixels.
  std::string too_large = oversized_stream(context, shown);
  bool video = false;
  if (too_large.empty()) {
    std::vector<AVDictionary*> decoder_options(context->nb_streams, nullptr);
    const std::string limit = std::to_string(max_frame_pixels);
    for (AVDictionary*& stream_options : decoder_options) av_dict_set(&stream_options, "max_pixels", limit.c_str(), 0);
    const int found = avformat_find_stream_info(context, decoder_options.data());
    for (AVDictionary*& stream_options : decoder_options) av_dict_free(&stream_options);
    too_large = oversized_stream(context, shown);
    const int index = found >= 0 ? av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0) : -1;
    if (index >= 0) {
      const AVStream* stream = context->streams[index];
      video = (stream->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0 &&
              std::find(kVideoCodecs.begin(), kVideoCodecs.end(), stream->codecpar->codec_id) != kVideoCodecs.end();
    }
  }
  avformat_close_input(&context);
  if (!too_large.empty()) throw VideoFileRefused(too_large);
  if (!video) throw VideoFileRefused(refused);
}

}  // namespace

std::string not_allowed_video_message(const std::string& path) {
  return path + ": no readable video file at this path in the folders allowed for file cameras ([cameras] file_roots)";
}

ConfinedVideoFile::ConfinedVideoFile(const std::string& path, const std::vector<fs::path>& roots) {
  if (path.empty() || !fs::path(path).is_absolute()) throw VideoFileRefused(path + ": must be an absolute path");
  const std::vector<fs::path> allowed = canonical_roots(roots);
  std::error_code error;
  canonical_ = fs::canonical(path, error);
  // One message for missing, unreadable, not a file and outside the folders.
  if (error || !inside_any(canonical_, allowed)) throw VideoFileRefused(not_allowed_video_message(path));
  // No symlink is left in the canonical path; O_NOFOLLOW refuses one put in
  // its place since, O_NONBLOCK keeps a FIFO from blocking the open.
  fd_ = ::open(canonical_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd_ < 0) throw VideoFileRefused(not_allowed_video_message(path));
  ffmpeg_path_ = "/proc/self/fd/" + std::to_string(fd_);
  struct stat info {};
  // What was opened, not what the path names now: a directory of the path
  // swapped for a symlink between the check and the open shows here.
  const fs::path opened = fs::read_symlink(ffmpeg_path_, error);
  if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode) || error || !inside_any(opened, allowed)) {
    ::close(fd_);
    fd_ = -1;
    throw VideoFileRefused(not_allowed_video_message(path));
  }
  try {
    probe_video(ffmpeg_path_, path);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

ConfinedVideoFile::~ConfinedVideoFile() {
  if (fd_ >= 0) ::close(fd_);
}

void check_video_file(const std::string& path, const std::vector<fs::path>& roots) { ConfinedVideoFile file(path, roots); }

}  // namespace safelynx::pipeline
