#include "recording/mp4_recovery.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace safelynx::recording {
namespace {

namespace fs = std::filesystem;

struct Input {
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  ~Input() {
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
  }
};

// Feeds one packet to the decoder; true once it has given back a frame.
bool decodes(Input& in) {
  if (avcodec_send_packet(in.codec, in.packet) < 0) return false;
  const int rc = avcodec_receive_frame(in.codec, in.frame);
  return rc == 0;
}

std::uint64_t read_be(const unsigned char* bytes, int count) {
  std::uint64_t value = 0;
  for (int i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

Mp4Probe probe_mp4(const fs::path& file) {
  Mp4Probe probe;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return probe;
  Input in;
  if (!in.packet || !in.frame) return probe;
  // Only the MP4/MOV demuxer: the file is ours, never guessed at.
  const AVInputFormat* mp4 = av_find_input_format("mp4");
  if (avformat_open_input(&in.format, file.c_str(), mp4, nullptr) < 0) return probe;
  const int index = av_find_best_stream(in.format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) return probe;
  const AVStream* stream = in.format->streams[index];
  const AVCodec* decoder = avcodec_find_decoder(stream->codecpar->codec_id);
  if (!decoder) return probe;
  in.codec = avcodec_alloc_context3(decoder);
  if (!in.codec || avcodec_parameters_to_context(in.codec, stream->codecpar) < 0) return probe;
  in.codec->thread_count = 1;
  if (avcodec_open2(in.codec, decoder, nullptr) < 0) return probe;

  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  std::int64_t last_end = std::numeric_limits<std::int64_t>::min();
  bool decoded = false;
  // Counting packets rather than decoding them all keeps the repair of a
  // five-minute segment quick; the file was trimmed to whole fragments.
  while (av_read_frame(in.format, in.packet) >= 0) {
    const bool ours = in.packet->stream_index == index && !(in.packet->flags & AV_PKT_FLAG_CORRUPT);
    if (ours) {
      if (!decoded) decoded = decodes(in);
      ++probe.frames;
      const std::int64_t pts = in.packet->pts != AV_NOPTS_VALUE ? in.packet->pts : in.packet->dts;
      if (pts != AV_NOPTS_VALUE) {
        first = std::min(first, pts);
        last_end = std::max(last_end, pts + std::max<std::int64_t>(in.packet->duration, 0));
      }
    }
    av_packet_unref(in.packet);
  }
  if (!decoded && probe.frames > 0) {  // a decoder holding frames back: drain it
    avcodec_send_packet(in.codec, nullptr);
    decoded = avcodec_receive_frame(in.codec, in.frame) == 0;
  }
  probe.plays = decoded && probe.frames > 0;
  if (!probe.plays) return Mp4Probe{};
  if (last_end > first) probe.seconds = static_cast<double>(last_end - first) * av_q2d(stream->time_base);
  return probe;
}

std::uintmax_t trim_to_complete_fragments(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) return 0;

  std::uintmax_t offset = 0;
  std::uintmax_t keep = 0;         // end of the last box that may stay
  std::uintmax_t before_moof = 0;  // start of a moof still waiting for its mdat
  bool fragmented = false;
  bool moof_open = false;
  while (offset + 8 <= size) {
    std::array<unsigned char, 16> header{};
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(reinterpret_cast<char*>(header.data()), 8)) break;
    std::uint64_t box = read_be(header.data(), 4);
    const std::string type(reinterpret_cast<const char*>(header.data() + 4), 4);
    if (box == 1) {  // 64-bit size after the type
      if (offset + 16 > size || !in.read(reinterpret_cast<char*>(header.data() + 8), 8)) break;
      box = read_be(header.data() + 8, 8);
      if (box < 16) break;
    } else if (box == 0) {
      box = size - offset;  // "to the end of the file": complete by definition
    } else if (box < 8) {
      break;  // not a box: what follows is garbage
    }
    if (box > size - offset) break;  // cut off by the crash
    if (type == "moof") {
      fragmented = true;
      moof_open = true;
      before_moof = offset;
    } else if (type == "mdat") {
      moof_open = false;
    }
    offset += box;
    keep = offset;
  }
  if (!fragmented) return 0;
  if (moof_open) keep = before_moof;
  if (keep >= size) return 0;
  in.close();
  fs::resize_file(file, keep, ec);
  return ec ? 0 : size - keep;
}

}  // namespace safelynx::recording
