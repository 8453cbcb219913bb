// libFuzzer target for parse_tfjs_weights: the input is the manifest JSON.
//
// Shards come from a deterministic in-memory reader so that both the success
// and the failure paths are reachable:
//   "missing..."      -> throws WeightLoadError (an unreadable shard)
//   "<N>..." (digits) -> N bytes (capped), so a manifest can describe its
//                        shard exactly, e.g. "paths": ["12.bin"] for 3 float32s
//   anything else     -> as many bytes as the input is long
// Only WeightLoadError may escape the parser; any other exception, a crash or a
// sanitizer report is a loader bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "vision/tfjs_weights.hpp"

namespace {

using safelynx::vision::ShardReader;
using safelynx::vision::WeightLoadError;
using safelynx::vision::WeightMap;

// Large enough for the seed manifests, small enough to keep iterations fast
// (the loader's own cap, 1 GiB, would trip the fuzzer's RSS limit instead).
constexpr std::size_t kMaxShardBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxBytesPerInput = std::size_t{16} << 20;

std::vector<std::uint8_t> fake_shard(const std::string& path, std::size_t input_size, std::size_t& bytes_served) {
  if (path.rfind("missing", 0) == 0) throw WeightLoadError("fuzz: shard '" + path + "' does not exist");
  std::size_t size = input_size;
  if (!path.empty() && path[0] >= '0' && path[0] <= '9') {
    size = 0;
    for (const char c : path) {
      if (c < '0' || c > '9') break;
      size = size * 10 + static_cast<std::size_t>(c - '0');
      if (size > kMaxShardBytes) throw WeightLoadError("fuzz: shard '" + path + "' is too large");
    }
  }
  if (size > kMaxBytesPerInput - bytes_served) throw WeightLoadError("fuzz: too many shard bytes");
  bytes_served += size;
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 131 + input_size * 7 + path.size());
  return bytes;
}

// A successful parse must hand back self-consistent tensors.
void check_invariants(const WeightMap& weights) {
  for (const auto& [name, tensor] : weights.tensors()) {
    std::size_t expected = 1;
    for (const int dim : tensor.shape) {
      if (dim < 0) std::abort();
      expected *= static_cast<std::size_t>(dim);
    }
    if (name != tensor.name || tensor.values.size() != expected) std::abort();
    // require() must accept the tensor's own shape and reject any other.
    if (&weights.require(name, tensor.shape) != &tensor) std::abort();
    std::vector<int> other = tensor.shape;
    other.push_back(1);
    try {
      weights.require(name, other);
      std::abort();
    } catch (const WeightLoadError&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view manifest(reinterpret_cast<const char*>(data), size);
  std::size_t bytes_served = 0;
  const ShardReader reader = [size, &bytes_served](const std::string& path) {
    return fake_shard(path, size, bytes_served);
  };
  try {
    const WeightMap weights = safelynx::vision::parse_tfjs_weights(manifest, reader, "fuzz-manifest.json");
    check_invariants(weights);
  } catch (const WeightLoadError&) {
    // The expected way to reject a bad manifest.
  }
  return 0;
}
