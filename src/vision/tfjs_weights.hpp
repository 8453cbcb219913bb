// Loader for TensorFlow.js weight manifests (weights_manifest.json + binary
// shards), as shipped by @vladmandic/face-api. Depends only on the standard
// library and nlohmann-json so that the parser can be fuzzed in isolation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace safelynx::vision {

// Every loading problem: the message names the file and, where known, the tensor.
class WeightLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Tensor {
  std::string name;
  std::vector<int> shape;
  std::vector<float> values;  // dequantised, row-major in TF.js layout

  std::size_t element_count() const { return values.size(); }
};

class WeightMap {
 public:
  WeightMap() = default;
  WeightMap(std::string source, std::map<std::string, Tensor> tensors);

  const std::string& source() const { return source_; }
  std::size_t size() const { return tensors_.size(); }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Every tensor by name, for callers that enumerate (diagnostics, the fuzzer).
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }

  // The tensor called `name` whose shape must equal `expected_shape`;
  // throws WeightLoadError naming the manifest and the tensor otherwise.
  const Tensor& require(const std::string& name, const std::vector<int>& expected_shape) const;

 private:
  std::string source_;
  std::map<std::string, Tensor> tensors_;
};

// Returns the bytes of the shard at `relative_path` (as written in the
// manifest); throws WeightLoadError when it cannot be read.
using ShardReader = std::function<std::vector<std::uint8_t>(const std::string& relative_path)>;

// Parses manifest JSON text. `label` names the manifest in error messages.
WeightMap parse_tfjs_weights(std::string_view manifest_json, const ShardReader& read_shard,
                             const std::string& label);

// Reads a manifest file and its shards from the same directory.
WeightMap load_tfjs_weights(const std::filesystem::path& manifest_path);

}  // namespace safelynx::vision
