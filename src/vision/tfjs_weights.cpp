#include "vision/tfjs_weights.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace safelynx::vision {
namespace {

using nlohmann::json;

// Caps well above any real model (face-api's largest manifest totals ~6 MB), so
// that a hostile or corrupt manifest fails with WeightLoadError rather than
// exhausting memory.
constexpr std::size_t kMaxElementsPerTensor = std::size_t{1} << 28;
constexpr std::size_t kMaxShardBytesPerManifest = std::size_t{1} << 30;
// Real manifests nest four levels deep; the cap keeps pathological nesting cheap.
constexpr int kMaxJsonDepth = 16;

// `text` with control characters escaped, so that a hostile name can neither
// cut the message short (NUL) nor forge extra lines.
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

[[noreturn]] void fail(const std::string& label, const std::string& tensor, const std::string& what) {
  std::string message = label + ": ";
  if (!tensor.empty()) message += "tensor '" + printable(tensor) + "': ";
  throw WeightLoadError(message + what);
}

std::string shape_text(const std::vector<int>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

// For messages; `replace` because strict dumping throws on invalid UTF-8.
std::string json_text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// IEEE 754 half precision to float (TF.js float16 quantisation).
float half_to_float(std::uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    value = std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
  }
  return sign ? -value : value;
}

// A manifest may only name shards inside its own directory: no absolute paths,
// no ".." components, nothing the OS would truncate (NUL). Both separators count
// as separators so that a Windows-style "..\\x" is caught too. Returns why the
// path is unacceptable, or an empty string when it is fine.
std::string shard_path_problem(const std::string& path) {
  if (path.empty()) return "empty path";
  if (path.find('\0') != std::string::npos) return "contains a NUL character";
  if (path.front() == '/' || path.front() == '\\' || std::filesystem::path(path).is_absolute()) return "absolute path";
  if (path.size() >= 2 && path[1] == ':') return "absolute path (drive letter)";
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t end = std::min(path.find_first_of("/\\", start), path.size());
    if (path.compare(start, end - start, "..") == 0) return "it contains a '..' component";
    start = end + 1;
  }
  return {};
}

json parse_json(std::string_view text, const std::string& label) {
  // The callback sees every value as it is parsed; failing fast on depth keeps
  // deeply nested garbage from costing anything.
  const json::parser_callback_t limit_depth = [&label](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      fail(label, "", "malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {
    fail(label, "", std::string("malformed JSON: ") + e.what());
  }
}

struct Encoding {
  std::string dtype;        // logical dtype: float32, int32, bool
  std::string stored;       // what the bytes hold: float32, int32, bool, uint8, uint16, float16
  double scale = 1;
  double min = 0;
  std::size_t bytes_per_element = 4;
};

Encoding read_encoding(const json& entry, const std::string& label, const std::string& name) {
  Encoding enc;
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail(label, name, "missing or non-string \"dtype\"");
  enc.dtype = entry["dtype"].get<std::string>();
  if (enc.dtype != "float32" && enc.dtype != "int32" && enc.dtype != "bool")
    fail(label, name, "unsupported dtype '" + printable(enc.dtype) + "' (expected float32, int32 or bool)");
  enc.stored = enc.dtype;
  enc.bytes_per_element = enc.dtype == "bool" ? 1 : 4;
  if (!entry.contains("quantization")) return enc;

  const json& q = entry["quantization"];
  if (!q.is_object() || !q.contains("dtype") || !q["dtype"].is_string())
    fail(label, name, "\"quantization\" must be an object with a string \"dtype\"");
  enc.stored = q["dtype"].get<std::string>();
  if (enc.stored == "uint8" || enc.stored == "uint16") {
    if (!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") || !q["min"].is_number())
      fail(label, name, "quantization '" + enc.stored + "' needs numeric \"scale\" and \"min\"");
    enc.scale = q["scale"].get<double>();
    enc.min = q["min"].get<double>();
    if (!std::isfinite(enc.scale) || !std::isfinite(enc.min)) fail(label, name, "non-finite quantization scale or min");
    enc.bytes_per_element = enc.stored == "uint8" ? 1 : 2;
  } else if (enc.stored == "float16") {
    enc.bytes_per_element = 2;
  } else {
    fail(label, name,
         "unsupported quantization dtype '" + printable(enc.stored) + "' (expected uint8, uint16 or float16)");
  }
  if (enc.dtype == "bool") fail(label, name, "quantised bool tensors are not supported");
  return enc;
}

std::vector<int> read_shape(const json& entry, const std::string& label, const std::string& name,
                            std::size_t& element_count) {
  if (!entry.contains("shape") || !entry["shape"].is_array()) fail(label, name, "missing or non-array \"shape\"");
  std::vector<int> shape;
  element_count = 1;
  for (const json& dim : entry["shape"]) {
    // is_number_unsigned first: reading a value above LLONG_MAX as long long would wrap.
    const bool in_range = dim.is_number_unsigned()
                              ? dim.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())
                              : dim.is_number_integer() && dim.get<std::int64_t>() >= 0 &&
                                    dim.get<std::int64_t>() <= std::numeric_limits<int>::max();
    if (!in_range)
      fail(label, name, "shape dimensions must be integers in [0, " + std::to_string(std::numeric_limits<int>::max()) +
                            "], got " + json_text(dim));
    const auto d = static_cast<std::size_t>(dim.get<std::int64_t>());
    shape.push_back(static_cast<int>(d));
    if (d != 0 && element_count > kMaxElementsPerTensor / d)
      fail(label, name,
           "shape " + json_text(entry["shape"]) + " has more than " + std::to_string(kMaxElementsPerTensor) +
               " elements");
    element_count *= d;
  }
  return shape;
}

float decode_element(const std::uint8_t* p, const Encoding& enc) {
  if (enc.stored == "uint8") return static_cast<float>(p[0] * enc.scale + enc.min);
  if (enc.stored == "uint16") {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return static_cast<float>(v * enc.scale + enc.min);
  }
  if (enc.stored == "float16") {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return half_to_float(v);
  }
  if (enc.stored == "int32") {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return static_cast<float>(v);
  }
  if (enc.stored == "bool") return p[0] ? 1.0f : 0.0f;
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

// The whole content of `path`, which must be a regular file: a directory or a
// device (a symlink to /dev/zero, say) would otherwise read as empty or endless.
std::string read_regular_file(const std::filesystem::path& path, const std::string& label, const std::string& what,
                              const std::string& hint) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    fail(label, "", "cannot open " + what + " at " + path.string() + ": " +
                        (ec ? ec.message() : std::string("no such file")) + hint);
  if (!std::filesystem::is_regular_file(status))
    fail(label, "", what + " at " + path.string() + " is not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(label, "", "cannot read " + what + " at " + path.string() + ": " + ec.message());
  if (size > kMaxShardBytesPerManifest)
    fail(label, "", what + " at " + path.string() + " is " + std::to_string(size) +
                        " bytes, more than any supported model");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(label, "", "cannot open " + what + " at " + path.string() + hint);
  std::string content(static_cast<std::size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (static_cast<std::uintmax_t>(in.gcount()) != size)
    fail(label, "", "cannot read " + what + " at " + path.string() + " (short read)");
  return content;
}

}  // namespace

WeightMap::WeightMap(std::string source, std::map<std::string, Tensor> tensors)
    : source_(std::move(source)), tensors_(std::move(tensors)) {}

const Tensor& WeightMap::require(const std::string& name, const std::vector<int>& expected_shape) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(source_, name, "missing from the manifest");
  if (it->second.shape != expected_shape)
    fail(source_, name, "shape " + shape_text(it->second.shape) + " does not match the expected " +
                            shape_text(expected_shape));
  return it->second;
}

WeightMap parse_tfjs_weights(std::string_view manifest_json, const ShardReader& read_shard,
                             const std::string& label) {
  const json manifest = parse_json(manifest_json, label);
  if (!manifest.is_array()) fail(label, "", "a weight manifest must be a JSON array of weight groups");

  std::map<std::string, Tensor> tensors;
  std::size_t total_shard_bytes = 0;
  for (std::size_t g = 0; g < manifest.size(); ++g) {
    const json& group = manifest[g];
    const std::string group_label = label + " (group " + std::to_string(g) + ")";
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() || !group.contains("weights") ||
        !group["weights"].is_array())
      fail(group_label, "", "each weight group needs \"paths\" and \"weights\" arrays");

    // A group's shards are one byte stream split into files.
    std::vector<std::uint8_t> data;
    std::string shards_text;
    for (const json& path : group["paths"]) {
      if (!path.is_string()) fail(group_label, "", "shard paths must be strings");
      const std::string shard = path.get<std::string>();
      if (const std::string problem = shard_path_problem(shard); !problem.empty())
        fail(label, "", "shard path '" + printable(shard) + "' rejected: " + problem +
                            " (shards must lie in the manifest's directory)");
      const std::vector<std::uint8_t> bytes = read_shard(shard);
      if (bytes.size() > kMaxShardBytesPerManifest - total_shard_bytes)
        fail(label, "", "shard " + printable(shard) + " takes the weights past " +
                            std::to_string(kMaxShardBytesPerManifest) + " bytes, more than any supported model");
      total_shard_bytes += bytes.size();
      data.insert(data.end(), bytes.begin(), bytes.end());
      shards_text += (shards_text.empty() ? "" : ", ") + printable(shard);
    }

    std::size_t offset = 0;
    for (const json& entry : group["weights"]) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string())
        fail(group_label, "", "every weight needs a string \"name\"");
      const std::string name = entry["name"].get<std::string>();
      if (tensors.count(name)) fail(label, name, "appears twice in the manifest");
      const Encoding enc = read_encoding(entry, label, name);
      std::size_t count = 0;
      Tensor tensor;
      tensor.name = name;
      tensor.shape = read_shape(entry, label, name, count);
      const std::size_t bytes = count * enc.bytes_per_element;
      if (bytes > data.size() - offset)
        fail(label, name,
             "needs " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) + " but shard(s) " +
                 (shards_text.empty() ? std::string("<none>") : shards_text) + " hold only " +
                 std::to_string(data.size()) + " bytes (missing or truncated shard?)");
      tensor.values.resize(count);
      for (std::size_t i = 0; i < count; ++i)
        tensor.values[i] = decode_element(data.data() + offset + i * enc.bytes_per_element, enc);
      if (enc.dtype == "int32")
        for (float& v : tensor.values) v = std::round(v);
      offset += bytes;
      tensors.emplace(name, std::move(tensor));
    }
    if (offset != data.size())
      fail(group_label, "",
           "shard(s) " + shards_text + " hold " + std::to_string(data.size()) + " bytes but the manifest describes " +
               std::to_string(offset) + " (wrong or corrupt shard?)");
  }
  return WeightMap(label, std::move(tensors));
}

WeightMap load_tfjs_weights(const std::filesystem::path& manifest_path) {
  const std::string label = manifest_path.string();
  const std::string manifest_text =
      read_regular_file(manifest_path, label, "the weight manifest",
                        " (run scripts/fetch-models.sh, or pass --models DIR)");
  const auto directory = manifest_path.parent_path();
  // parse_tfjs_weights has already checked that `relative` stays inside `directory`.
  const ShardReader read_shard = [&](const std::string& relative) {
    const std::string text = read_regular_file(directory / relative, label, "weight shard " + printable(relative), "");
    return std::vector<std::uint8_t>(text.begin(), text.end());
  };
  return parse_tfjs_weights(manifest_text, read_shard, label);
}

}  // namespace safelynx::vision
