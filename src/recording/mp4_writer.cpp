#include "recording/mp4_writer.hpp"

#include <opencv2/imgproc.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace safelynx::recording {

namespace {

// The most video a crash can take with it (plus frames not yet encoded).
constexpr std::int64_t kFragmentMicroseconds = 1'000'000;

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

}  // namespace

struct Mp4Writer::Av {
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVStream* stream = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  SwsContext* scale = nullptr;
  bool header_written = false;

  ~Av() {
    sws_freeContext(scale);
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&codec);
    if (format) {
      if (format->pb) avio_closep(&format->pb);
      avformat_free_context(format);
    }
  }
};

Mp4Writer::Mp4Writer(const std::filesystem::path& file, cv::Size size, Mp4WriterOptions options)
    : file_(file), size_(size.width & ~1, size.height & ~1), av_(std::make_unique<Av>()) {
  auto fail = [&](const std::string& what, int code = 0) -> void {
    throw Mp4WriterError("cannot record to " + file_.string() + ": " + what + (code ? " (" + av_error(code) + ")" : ""));
  };
  if (size_.width < 16 || size_.height < 16) fail("frame size " + std::to_string(size.width) + "x" + std::to_string(size.height) + " is too small");
  const double fps = options.fps > 0 ? options.fps : 30;
  const AVRational time_base{1, 90'000};

  const std::string path = file_.string();
  int rc = avformat_alloc_output_context2(&av_->format, nullptr, "mp4", path.c_str());
  if (rc < 0 || !av_->format) fail("no MP4 muxer", rc);
  const AVCodec* encoder = avcodec_find_encoder_by_name("libx264");
  if (!encoder) encoder = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (!encoder) fail("no H.264 encoder in this FFmpeg");
  encoder_name_ = encoder->name;
  av_->stream = avformat_new_stream(av_->format, nullptr);
  av_->codec = avcodec_alloc_context3(encoder);
  if (!av_->stream || !av_->codec) fail("out of memory");
  AVCodecContext* c = av_->codec;
  c->width = size_.width;
  c->height = size_.height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = time_base;
  c->framerate = av_d2q(fps, 1000);
  c->gop_size = static_cast<int>(fps * 2);  // a keyframe every 2 s: seeking in the player stays quick
  c->thread_count = options.threads;
  if (av_->format->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* settings = nullptr;
  if (std::string(encoder->name) == "libx264") {
    av_dict_set(&settings, "preset", options.preset.c_str(), 0);
    av_dict_set(&settings, "tune", "zerolatency", 0);
    av_dict_set(&settings, "crf", std::to_string(options.crf).c_str(), 0);
    // Baseline-compatible main profile: every browser decodes it.
    av_dict_set(&settings, "profile", "main", 0);
  }
  rc = avcodec_open2(c, encoder, &settings);
  av_dict_free(&settings);
  if (rc < 0) fail(std::string("cannot open the ") + encoder->name + " encoder", rc);
  rc = avcodec_parameters_from_context(av_->stream->codecpar, c);
  if (rc < 0) fail("bad encoder parameters", rc);
  av_->stream->time_base = time_base;
  av_->stream->avg_frame_rate = c->framerate;

  rc = avio_open(&av_->format->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (rc < 0) fail("cannot create the file", rc);
  // Fragmented MP4: an empty index up front, then a fragment (its own
  // index and frames) about every second, written out at once. A process
  // killed while recording leaves a file that plays up to its last complete
  // fragment (repair_recordings trims the rest); a faststart file has no
  // index until finish() and is lost whole. Browsers play fragmented MP4 in
  // <video> like any other, with Range requests.
  AVDictionary* muxer = nullptr;
  av_dict_set(&muxer, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
  av_dict_set(&muxer, "frag_duration", std::to_string(kFragmentMicroseconds).c_str(), 0);
  rc = avformat_write_header(av_->format, &muxer);
  av_dict_free(&muxer);
  if (rc < 0) fail("cannot write the MP4 header", rc);
  av_->header_written = true;

  av_->frame = av_frame_alloc();
  av_->packet = av_packet_alloc();
  if (!av_->frame || !av_->packet) fail("out of memory");
  av_->frame->format = c->pix_fmt;
  av_->frame->width = c->width;
  av_->frame->height = c->height;
  rc = av_frame_get_buffer(av_->frame, 0);
  if (rc < 0) fail("cannot allocate a frame", rc);
  av_->scale = sws_getContext(size_.width, size_.height, AV_PIX_FMT_BGR24, size_.width, size_.height, AV_PIX_FMT_YUV420P,
                              SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!av_->scale) fail("no BGR to YUV converter");
  fps_ = fps;
}

Mp4Writer::~Mp4Writer() {
  if (!finished_) {
    try {
      finish();
    } catch (const std::exception&) {
      // The destructor must not throw; an unfinished file is repaired or removed at the next start.
    }
  }
}

void Mp4Writer::write(const cv::Mat& bgr) {
  if (finished_) throw Mp4WriterError("cannot record to " + file_.string() + ": already finished");
  cv::Mat image = bgr;
  if (image.cols != size_.width || image.rows != size_.height) {
    if (image.cols >= size_.width && image.rows >= size_.height && image.cols - size_.width <= 1 && image.rows - size_.height <= 1)
      image = image(cv::Rect(0, 0, size_.width, size_.height));  // the odd last row/column
    else
      cv::resize(bgr, image, size_);
  }
  if (!image.isContinuous()) image = image.clone();
  int rc = av_frame_make_writable(av_->frame);
  if (rc < 0) throw Mp4WriterError("cannot record to " + file_.string() + ": " + av_error(rc));
  const std::uint8_t* source[1] = {image.data};
  const int stride[1] = {static_cast<int>(image.step[0])};
  sws_scale(av_->scale, source, stride, 0, size_.height, av_->frame->data, av_->frame->linesize);
  // Frames are evenly spaced at the recording's rate.
  av_->frame->pts = static_cast<std::int64_t>(static_cast<double>(frames_) * 90'000.0 / fps_);
  rc = avcodec_send_frame(av_->codec, av_->frame);
  if (rc < 0) throw Mp4WriterError("cannot record to " + file_.string() + ": encoding failed (" + av_error(rc) + ")");
  ++frames_;
  encode(false);
}

void Mp4Writer::encode(bool flush) {
  if (flush) avcodec_send_frame(av_->codec, nullptr);
  while (true) {
    const int rc = avcodec_receive_packet(av_->codec, av_->packet);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    if (rc < 0) throw Mp4WriterError("cannot record to " + file_.string() + ": encoding failed (" + av_error(rc) + ")");
    av_packet_rescale_ts(av_->packet, av_->codec->time_base, av_->stream->time_base);
    av_->packet->stream_index = av_->stream->index;
    const int written = av_interleaved_write_frame(av_->format, av_->packet);
    if (written < 0) throw Mp4WriterError("cannot record to " + file_.string() + ": write failed (" + av_error(written) + ")");
    // A fragment the muxer has completed goes to the file now, not when
    // the I/O buffer fills (between fragments there is nothing to flush).
    avio_flush(av_->format->pb);
    if (av_->format->pb->error < 0)
      throw Mp4WriterError("cannot record to " + file_.string() + ": write failed (" + av_error(av_->format->pb->error) + ")");
  }
}

void Mp4Writer::finish() {
  if (finished_) return;
  finished_ = true;
  encode(true);
  const int rc = av_write_trailer(av_->format);
  avio_closep(&av_->format->pb);
  if (rc < 0) throw Mp4WriterError("cannot record to " + file_.string() + ": cannot finish the file (" + av_error(rc) + ")");
}

}  // namespace safelynx::recording
