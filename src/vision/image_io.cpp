#include "vision/image_io.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csetjmp>
#include <cstdio>  // before jpeglib.h, which uses FILE and size_t
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/image_header.hpp"
#include "vision/jpeg_js_compatible_decoder.hpp"

namespace safelynx::vision {
namespace {

using Bytes = std::span<const std::uint8_t>;

// cv::imdecode takes the encoded bytes as a Mat, whose length is an int.
constexpr std::uint64_t max_encoded_bytes = INT_MAX;

[[noreturn]] void fail(const std::string& label, const std::string& what) {
  throw ImageError(label + ": " + what);
}

void check_structure(const ImageHeader& header, const std::string& label) {
  const std::string format = image_format_name(header.format);
  const bool png = header.format == ImageFormat::png;
  const bool webp = header.format == ImageFormat::webp;
  switch (header.structure) {
    case HeaderStructure::complete:
      return;
    case HeaderStructure::truncated:
      fail(label, "truncated " + format + ": the data ends before the " +
                      (png ? "IEND chunk" : webp ? "image data" : "end-of-image marker") + " (the file was cut short)");
    case HeaderStructure::bad_chunk_length:
      fail(label, "corrupt " + format + ": invalid " + (png ? "chunk" : "segment") + " length");
    case HeaderStructure::bad_frame_header:
      fail(label, "corrupt " + format + (webp ? ": malformed VP8/VP8L/VP8X header" : ": frame header too short"));
    case HeaderStructure::no_frame_header:
      fail(label, "corrupt " + format +
                      (png    ? ": it does not start with an IHDR header chunk"
                       : webp ? ": no VP8, VP8L or VP8X chunk where the image data must start"
                              : ": no frame header (SOF) before the end of the image"));
    case HeaderStructure::animated:
      throw UnsupportedImageFormatError(label + ": animated WebP images are not accepted; send a still image (" +
                                        accepted_image_formats + ")");
  }
}

void check_pixel_count(std::uint64_t width, std::uint64_t height, const ImageReadOptions& options,
                       const std::string& label) {
  const std::string size_text = std::to_string(width) + "x" + std::to_string(height);
  if (width == 0 || height == 0) fail(label, "image has zero width or height (" + size_text + ")");
  const std::uint64_t pixels = width * height;  // both below 2^32: no overflow
  if (pixels > options.max_pixels)
    throw ImageTooLargeError(label + ": image is too large: " + size_text + " is " + std::to_string(pixels) + " pixels, more than the limit of " +
                    std::to_string(options.max_pixels));
}

// --- JPEG decoding: libjpeg's entropy decoding, jpeg-js's arithmetic --------
//
// Face descriptors must agree with the reference pipeline, which decodes JPEGs
// with jpeg-js: OpenCV's decoding moves them by up to 0.12, and even libjpeg's
// ISLOW IDCT, which differs from jpeg-js's by a step or two in one sample out
// of ten, by up to 0.086. So libjpeg only reads the file into quantised DCT
// coefficients (its transcoding interface, jpeg_read_coefficients), and the
// IDCT, chroma upsampling and colour conversion are jpeg-js's own
// (jpeg_js_compatible_decoder.hpp): the pixels are bit-identical to jpeg-js's.

// Real progressive files have about ten scans; a crafted one with thousands
// costs minutes of CPU while staying small and within the pixel limit.
constexpr int max_jpeg_scans = 500;

enum class JpegFailure { none, error, warning, too_many_scans };

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg's pointer to it is a pointer to the whole
  std::jmp_buf resume;
  JpegFailure failure = JpegFailure::none;
  char message[JMSG_LENGTH_MAX] = {};
};

JpegErrorManager& error_manager_of(j_common_ptr info) { return *reinterpret_cast<JpegErrorManager*>(info->err); }

[[noreturn]] void abort_decoding(j_common_ptr info, JpegFailure failure) {
  JpegErrorManager& errors = error_manager_of(info);
  errors.failure = failure;
  if (failure != JpegFailure::too_many_scans) (*info->err->format_message)(info, errors.message);
  std::longjmp(errors.resume, 1);
}

void on_jpeg_error(j_common_ptr info) { abort_decoding(info, JpegFailure::error); }

// libjpeg reports corrupt entropy data, a premature end and the like only as
// warnings (msg_level -1) and fills in grey; such a photo must not be used.
// Trace messages (msg_level >= 0) are ignored.
void on_jpeg_message(j_common_ptr info, int msg_level) {
  if (msg_level >= 0) return;
  ++info->err->num_warnings;
  abort_decoding(info, JpegFailure::warning);
}

void discard_jpeg_output(j_common_ptr) {}  // libjpeg would print to stderr

void on_jpeg_progress(j_common_ptr info) {
  if (info->is_decompressor && reinterpret_cast<j_decompress_ptr>(info)->input_scan_number > max_jpeg_scans)
    abort_decoding(info, JpegFailure::too_many_scans);
}

// Runs `libjpeg_calls` with `errors.resume` armed: a libjpeg error or warning
// longjmps back here and this returns false. The jump skips the frames of
// `libjpeg_calls` and of libjpeg, so they must hold no object with a
// non-trivial destructor (C++ allows a longjmp only where a throw would
// destroy nothing); all C++ objects live in the caller.
template <typename Calls>
bool run_guarded(JpegErrorManager& errors, Calls&& libjpeg_calls) {
  if (setjmp(errors.resume) != 0) return false;
  libjpeg_calls();
  return true;
}

// Owns the libjpeg decompressor; destroying it is valid after any error.
struct JpegDecompressor {
  jpeg_decompress_struct info{};
  JpegErrorManager errors{};
  jpeg_progress_mgr progress{};

  JpegDecompressor() {
    info.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = on_jpeg_error;
    errors.pub.emit_message = on_jpeg_message;
    errors.pub.output_message = discard_jpeg_output;
    progress.progress_monitor = on_jpeg_progress;
  }
  ~JpegDecompressor() { jpeg_destroy_decompress(&info); }
  JpegDecompressor(const JpegDecompressor&) = delete;
  JpegDecompressor& operator=(const JpegDecompressor&) = delete;
};

[[noreturn]] void fail_jpeg(const JpegErrorManager& errors, const std::string& label) {
  const std::string libjpeg_says = std::string("(libjpeg: ") + errors.message + ")";
  switch (errors.failure) {
    case JpegFailure::warning:
      fail(label, "corrupt JPEG data " + libjpeg_says);
    case JpegFailure::too_many_scans:
      fail(label, "corrupt JPEG: more than " + std::to_string(max_jpeg_scans) + " progressive scans");
    case JpegFailure::none:
    case JpegFailure::error:
      break;
  }
  if (errors.pub.msg_code == JERR_OUT_OF_MEMORY || errors.pub.msg_code == JERR_NO_BACKING_STORE)
    fail(label, "the JPEG needs more memory than the decoder may use " + libjpeg_says);
  fail(label, "corrupt or unsupported JPEG data " + libjpeg_says);
}

// libjpeg's cap on its whole-image buffers, which jpeg_read_coefficients
// always uses: all DCT coefficients, 2 bytes per sample, at most 3
// full-resolution components. Setting it also overrides any JPEGMEM
// environment variable, which could otherwise make good photos fail.
long jpeg_memory_limit(const ImageReadOptions& options) {
  constexpr std::uint64_t bytes_per_pixel = 8;  // 6, plus room for block padding
  constexpr std::uint64_t headroom = std::uint64_t{64} << 20;
  constexpr std::uint64_t most = LONG_MAX;
  if (options.max_pixels > (most - headroom) / bytes_per_pixel) return LONG_MAX;
  return static_cast<long>(headroom + options.max_pixels * bytes_per_pixel);
}

// libjpeg's blocks and quantisers, read through std::span of these types.
static_assert(std::is_same_v<JCOEF, std::int16_t> && std::is_same_v<UINT16, std::uint16_t>);
static_assert(DCTSIZE2 == jpegjs::block_size);

// One component of the image being decoded: its coefficients, and the samples
// of the block row decoded last. jpeg-js decodes every block into a plane and
// then reads it through nearest-neighbour upsampling, whose lines only go
// down; so one block row at a time gives the same samples, and blocks that no
// pixel reads (the padding beyond the image) are not decoded at all.
struct JpegComponentDecoder {
  jvirt_barray_ptr coefficients = nullptr;
  const std::uint16_t* quantizers = nullptr;  // natural order, 64 of them
  int vertical_sampling = 1;
  std::vector<int> sample_column_of_x;          // the sample each image column reads
  bool full_width = true;                       // sample_column_of_x[x] == x
  std::size_t blocks_across = 0;                // the blocks that hold those samples
  std::vector<std::uint8_t> block_row_samples;  // 8 lines of blocks_across * 8 samples
  std::optional<JDIMENSION> decoded_block_row;
  std::vector<std::uint8_t> upsampled_line;     // one image row's samples, if not full_width

  // The samples of an image row that reads `line` of this component, one per
  // image column.
  std::span<const std::uint8_t> upsampled(const std::uint8_t* line) {
    if (full_width) return {line, sample_column_of_x.size()};
    for (std::size_t x = 0; x < upsampled_line.size(); ++x) upsampled_line[x] = line[sample_column_of_x[x]];
    return upsampled_line;
  }
};

// The samples of `line` of a component, decoding its block row if needed.
const std::uint8_t* jpeg_component_line(JpegDecompressor& decompressor, JpegComponentDecoder& component, int line,
                                        const std::string& label) {
  const std::size_t line_stride = component.blocks_across * jpegjs::block_side;
  const auto block_row = static_cast<JDIMENSION>(line) / jpegjs::block_side;
  if (component.decoded_block_row != block_row) {
    JBLOCKARRAY blocks = nullptr;
    if (!run_guarded(decompressor.errors, [&] {
          blocks = (*decompressor.info.mem->access_virt_barray)(reinterpret_cast<j_common_ptr>(&decompressor.info),
                                                                component.coefficients, block_row, 1, FALSE);
        }))
      fail_jpeg(decompressor.errors, label);
    const std::span<const std::uint16_t, jpegjs::block_size> quantizers(component.quantizers, jpegjs::block_size);
    for (std::size_t block = 0; block < component.blocks_across; ++block) {
      const auto samples = jpegjs::dequantize_and_inverse_dct(blocks[0][block], quantizers);
      for (std::size_t row = 0; row < jpegjs::block_side; ++row)
        std::memcpy(component.block_row_samples.data() + row * line_stride + block * jpegjs::block_side,
                    samples.data() + row * jpegjs::block_side, jpegjs::block_side);
    }
    component.decoded_block_row = block_row;
  }
  return component.block_row_samples.data() + static_cast<std::size_t>(line) % jpegjs::block_side * line_stride;
}

// Decodes a YCbCr or grayscale JPEG to BGR pixels exactly as jpeg-js does,
// before EXIF orientation. Returns nothing for other colour spaces (CMYK,
// YCCK, RGB-coded), which the caller leaves to OpenCV; throws ImageError for
// corrupt data, including what libjpeg only warns about.
std::optional<cv::Mat> decode_jpeg_like_jpegjs(Bytes bytes, const std::string& label, const ImageReadOptions& options) {
  JpegDecompressor decompressor;
  jpeg_decompress_struct& info = decompressor.info;
  JpegErrorManager& errors = decompressor.errors;

  if (!run_guarded(errors, [&] {
        jpeg_create_decompress(&info);
        info.progress = &decompressor.progress;
        info.mem->max_memory_to_use = jpeg_memory_limit(options);
        jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
        jpeg_read_header(&info, TRUE);
      }))
    fail_jpeg(errors, label);

  // The same check as on our own header walk, now on what libjpeg will decode.
  check_pixel_count(info.image_width, info.image_height, options, label);
  const bool is_ycbcr = info.jpeg_color_space == JCS_YCbCr && info.num_components == 3;
  const bool is_gray = info.jpeg_color_space == JCS_GRAYSCALE && info.num_components == 1;
  if (!is_ycbcr && !is_gray) return std::nullopt;

  // Every scan, entropy-decoded into one array of coefficient blocks per component.
  jvirt_barray_ptr* coefficient_arrays = nullptr;
  if (!run_guarded(errors, [&] { coefficient_arrays = jpeg_read_coefficients(&info); })) fail_jpeg(errors, label);
  if (coefficient_arrays == nullptr) fail(label, "corrupt JPEG data: the decoder stopped before the end of the image");

  const int width = static_cast<int>(info.image_width);
  const int height = static_cast<int>(info.image_height);
  std::vector<JpegComponentDecoder> components(static_cast<std::size_t>(info.num_components));
  for (std::size_t index = 0; index < components.size(); ++index) {
    const jpeg_component_info& component_info = info.comp_info[index];
    JpegComponentDecoder& component = components[index];
    component.coefficients = coefficient_arrays[index];
    // The table as last defined in the file, as jpeg-js takes it (libjpeg's
    // component_info.quant_table is the one in force at the component's first
    // scan); the two differ only in a file that redefines a table in use.
    // libjpeg checks the table number only for components that some scan codes.
    const int table_number = component_info.quant_tbl_no;
    const JQUANT_TBL* table =
        table_number >= 0 && table_number < NUM_QUANT_TBLS ? info.quant_tbl_ptrs[table_number] : nullptr;
    if (table == nullptr) fail(label, "corrupt JPEG: a component's quantisation table is not defined");
    component.quantizers = table->quantval;
    component.vertical_sampling = component_info.v_samp_factor;
    component.full_width = component_info.h_samp_factor == info.max_h_samp_factor;
    if (!component.full_width) component.upsampled_line.resize(static_cast<std::size_t>(width));
    component.sample_column_of_x.resize(static_cast<std::size_t>(width));
    for (int x = 0; x < width; ++x)
      component.sample_column_of_x[static_cast<std::size_t>(x)] =
          jpegjs::sampled_index(x, component_info.h_samp_factor, info.max_h_samp_factor);
    component.blocks_across = static_cast<std::size_t>(component.sample_column_of_x.back()) / jpegjs::block_side + 1;
    // Holds for any sampling factors; checked because the blocks are read unchecked.
    if (component.blocks_across > component_info.width_in_blocks) fail(label, "unsupported JPEG sampling factors");
    component.block_row_samples.resize(component.blocks_across * jpegjs::block_size);
  }

  cv::Mat image(height, width, CV_8UC3);
  const std::size_t pixels_across = static_cast<std::size_t>(width);
  for (int y = 0; y < height; ++y) {
    std::array<std::span<const std::uint8_t>, 3> samples;  // Y (Cb, Cr), one per pixel
    for (std::size_t index = 0; index < components.size(); ++index) {
      JpegComponentDecoder& component = components[index];
      const int line = jpegjs::sampled_index(y, component.vertical_sampling, info.max_v_samp_factor);
      samples[index] = component.upsampled(jpeg_component_line(decompressor, component, line, label));
    }
    const std::span<std::uint8_t> bgr(image.ptr<std::uint8_t>(y), 3 * pixels_across);
    if (is_ycbcr) {
      jpegjs::ycbcr_to_bgr(samples[0], samples[1], samples[2], bgr);
    } else {  // jpeg-js copies the luma into R, G and B
      for (std::size_t x = 0; x < pixels_across; ++x) bgr[3 * x] = bgr[3 * x + 1] = bgr[3 * x + 2] = samples[0][x];
    }
  }
  // Everything up to EOI has been read; this checks nothing more, but ends the
  // decompression as libjpeg documents it.
  if (!run_guarded(errors, [&] { jpeg_finish_decompress(&info); })) fail_jpeg(errors, label);
  return image;
}

// Depth first (cheaper on 8-bit data), then channels.
cv::Mat to_bgr8(const cv::Mat& decoded, const std::string& label) {
  cv::Mat eight_bit;
  switch (decoded.depth()) {
    case CV_8U:
      eight_bit = decoded;
      break;
    case CV_16U:
      // round(v * 255 / 65535), as pngjs (the reference decoder) does; libpng's
      // own strip-16 would truncate to the high byte instead.
      decoded.convertTo(eight_bit, CV_8U, 1.0 / 257.0);
      break;
    default:
      fail(label, "unsupported sample type (only 8- and 16-bit integer images can be read)");
  }
  cv::Mat bgr;
  switch (eight_bit.channels()) {
    case 1:
      cv::cvtColor(eight_bit, bgr, cv::COLOR_GRAY2BGR);
      break;
    case 2: {  // gray + alpha: alpha dropped
      cv::Mat gray;
      cv::extractChannel(eight_bit, gray, 0);
      cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
      break;
    }
    case 3:
      bgr = eight_bit;
      break;
    case 4:
      // Alpha dropped, not composited: the reference pipeline does the same.
      cv::cvtColor(eight_bit, bgr, cv::COLOR_BGRA2BGR);
      break;
    default:
      fail(label, "unsupported number of channels (" + std::to_string(eight_bit.channels()) + ")");
  }
  return bgr;
}

// The same transforms as OpenCV's own ApplyExifOrientation, so decode_image
// agrees with cv::imread(IMREAD_COLOR) on rotated photos.
cv::Mat apply_orientation(const cv::Mat& image, int orientation) {
  if (orientation <= 1 || orientation > 8) return image;
  cv::Mat upright;
  switch (orientation) {
    case 2:
      cv::flip(image, upright, 1);
      return upright;
    case 3:
      cv::flip(image, upright, -1);
      return upright;
    case 4:
      cv::flip(image, upright, 0);
      return upright;
    default:
      break;
  }
  cv::Mat transposed;
  cv::transpose(image, transposed);
  switch (orientation) {
    case 5:
      return transposed;
    case 6:  // rotate 90 degrees clockwise
      cv::flip(transposed, upright, 1);
      return upright;
    case 7:
      cv::flip(transposed, upright, -1);
      return upright;
    default:  // 8: rotate 90 degrees anticlockwise
      cv::flip(transposed, upright, 0);
      return upright;
  }
}

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path, const std::string& label) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) fail(label, "file not found");
  if (error) fail(label, "cannot access file (" + error.message() + ")");
  if (fs::is_directory(status)) fail(label, "is a directory, not an image file");
  if (!fs::is_regular_file(status)) fail(label, "is not a regular file");
  const std::uint64_t expected_size = fs::file_size(path, error);
  if (!error && expected_size > max_encoded_bytes)
    fail(label, "file is too large (" + std::to_string(expected_size) + " bytes)");

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  errno = 0;
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(label, "cannot open file (" + std::generic_category().message(errno) + ")");

  std::vector<std::uint8_t> bytes;
  if (!error) bytes.reserve(expected_size);
  std::array<std::uint8_t, 1 << 16> chunk;
  while (true) {
    const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    if (bytes.size() > max_encoded_bytes) fail(label, "file is too large (more than " + std::to_string(max_encoded_bytes) + " bytes)");
    if (got == chunk.size()) continue;
    if (std::ferror(file.get())) fail(label, "read error (" + std::generic_category().message(errno) + ")");
    return bytes;
  }
}

}  // namespace

int jpeg_exif_orientation(std::span<const std::uint8_t> bytes) {
  if (sniff_image_format(bytes) != ImageFormat::jpeg) return 1;
  return read_image_header(bytes).orientation;
}

cv::Mat decode_image(std::span<const std::uint8_t> bytes, const std::string& label, const ImageReadOptions& options) {
  if (bytes.empty()) fail(label, "empty file (0 bytes)");
  if (bytes.size() > max_encoded_bytes) fail(label, "file is too large (" + std::to_string(bytes.size()) + " bytes)");

  // Format, structure and size come from the headers, before any pixel is
  // decoded; formats without a header reader here are never decoded.
  const ImageHeader header = read_image_header(bytes);
  const std::string format_name = image_format_name(header.format);
  if (header.format == ImageFormat::other)
    throw UnsupportedImageFormatError(label + ": not an image (unrecognised format; accepted: " +
                                      accepted_image_formats + ")");
  if (!is_accepted_image_format(header.format))
    throw UnsupportedImageFormatError(label + ": " + format_name + " images are not accepted; send " +
                                      accepted_image_formats);
  check_structure(header, label);
  check_pixel_count(header.width, header.height, options, label);

  if (header.format == ImageFormat::jpeg) {
    std::optional<cv::Mat> decoded = decode_jpeg_like_jpegjs(bytes, label, options);
    if (decoded) return apply_orientation(*decoded, header.orientation);
  }

  // IMREAD_UNCHANGED keeps alpha and 16-bit samples so that they are converted
  // here exactly as the reference does; it also skips OpenCV's EXIF rotation,
  // which is applied below from our own reading of the tag.
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& error) {
    fail(label, "the image could not be decoded (" + error.err + ")");
  }
  if (decoded.empty()) fail(label, "corrupt or unsupported " + format_name + " data: the decoder could not read it");
  // The decoder's own idea of the size must be the header's (OpenCV picks
  // its decoder by its own sniffing): a mismatch is not a usable photo.
  if (static_cast<std::uint64_t>(decoded.cols) > header.width || static_cast<std::uint64_t>(decoded.rows) > header.height)
    fail(label, "corrupt " + format_name + ": the image is larger than its header says");

  return apply_orientation(to_bgr8(decoded, label), header.orientation);
}

cv::Mat read_image(const std::filesystem::path& path, const ImageReadOptions& options) {
  const std::string label = path.string();
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, label);
  return decode_image(bytes, label, options);
}

}  // namespace safelynx::vision
