// Unit tests for the TensorFlow.js weight manifest loader. Manifests and shards
// are built in memory (parse_tfjs_weights) or in a temporary directory
// (load_tfjs_weights), so no model download is needed.
#include "vision/tfjs_weights.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace safelynx::vision {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

// gmock is not linked into the unit tests; this reads like its HasSubstr.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not found in: " << text;
}

// --- building shards ---------------------------------------------------------

// TF.js shards are little-endian, as is every machine this runs on; memcpy keeps it simple.
template <typename T>
void append(Bytes& out, T value) {
  std::uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

Bytes float32_bytes(const std::vector<float>& values) {
  Bytes out;
  for (const float v : values) append(out, v);
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

json weight(const std::string& name, const std::vector<int>& shape, const std::string& dtype = "float32") {
  return {{"name", name}, {"shape", shape}, {"dtype", dtype}};
}

json quantised(json entry, const std::string& quant_dtype, double scale, double min) {
  entry["quantization"] = {{"dtype", quant_dtype}, {"scale", scale}, {"min", min}};
  return entry;
}

json group(const std::vector<std::string>& paths, const std::vector<json>& weights) {
  return {{"paths", paths}, {"weights", weights}};
}

// An in-memory shard store that remembers what was asked of it.
struct FakeShards {
  std::map<std::string, Bytes> files;
  std::vector<std::string> requested;

  ShardReader reader() {
    return [this](const std::string& path) {
      requested.push_back(path);
      const auto it = files.find(path);
      if (it == files.end()) throw WeightLoadError("fake: no shard " + path);
      return it->second;
    };
  }
};

constexpr const char* kLabel = "models/test-weights_manifest.json";

WeightMap parse(const json& manifest, FakeShards& shards) {
  return parse_tfjs_weights(manifest.dump(), shards.reader(), kLabel);
}

// The WeightLoadError message thrown by `action`; fails the test if none is thrown.
template <typename Action>
std::string load_error(Action&& action) {
  try {
    action();
  } catch (const WeightLoadError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a WeightLoadError";
  return {};
}

std::string parse_error(const std::string& manifest_text, FakeShards& shards) {
  return load_error([&] { parse_tfjs_weights(manifest_text, shards.reader(), kLabel); });
}

std::string parse_error(const json& manifest, FakeShards& shards) { return parse_error(manifest.dump(), shards); }

// --- decoding ----------------------------------------------------------------

TEST(TfjsWeights, DecodesFloat32InManifestOrder) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1.5f, -2.25f, 0.0f, 3e-8f, 7.0f, 8.0f, -1e20f});
  const json manifest = json::array({group({"w.bin"}, {weight("conv/filters", {2, 3}), weight("conv/bias", {1})})});

  const WeightMap weights = parse(manifest, shards);

  EXPECT_EQ(weights.source(), kLabel);
  ASSERT_EQ(weights.size(), 2u);
  const Tensor& filters = weights.require("conv/filters", {2, 3});
  EXPECT_EQ(filters.name, "conv/filters");
  EXPECT_EQ(filters.element_count(), 6u);
  EXPECT_EQ(filters.values, (std::vector<float>{1.5f, -2.25f, 0.0f, 3e-8f, 7.0f, 8.0f}));
  EXPECT_EQ(weights.require("conv/bias", {1}).values, std::vector<float>{-1e20f});
  EXPECT_EQ(shards.requested, std::vector<std::string>{"w.bin"});
}

TEST(TfjsWeights, DecodesInt32Exactly) {
  FakeShards shards;
  Bytes data;
  for (const std::int32_t v : {0, -1, 7, 16777216, -16777216}) append(data, v);
  shards.files["i.bin"] = data;

  const WeightMap weights = parse(json::array({group({"i.bin"}, {weight("indices", {5}, "int32")})}), shards);

  EXPECT_EQ(weights.require("indices", {5}).values, (std::vector<float>{0, -1, 7, 16777216, -16777216}));
}

TEST(TfjsWeights, DecodesBoolAsZeroOrOne) {
  FakeShards shards;
  shards.files["b.bin"] = {0, 1, 255};

  const WeightMap weights = parse(json::array({group({"b.bin"}, {weight("mask", {3}, "bool")})}), shards);

  EXPECT_EQ(weights.require("mask", {3}).values, (std::vector<float>{0, 1, 1}));
}

TEST(TfjsWeights, DequantisesUint8AsScaleTimesQPlusMin) {
  FakeShards shards;
  shards.files["q.bin"] = {0, 1, 2, 100, 255, 128};
  const double scale = 0.009007044399485869;  // taken from tiny_face_detector
  const double min = -1.2069439495311063;

  const WeightMap weights =
      parse(json::array({group({"q.bin"}, {quantised(weight("conv0/filters", {2, 3}), "uint8", scale, min)})}), shards);

  const Tensor& t = weights.require("conv0/filters", {2, 3});
  const std::vector<int> q = {0, 1, 2, 100, 255, 128};
  ASSERT_EQ(t.values.size(), q.size());
  for (std::size_t i = 0; i < q.size(); ++i)
    EXPECT_FLOAT_EQ(t.values[i], static_cast<float>(q[i] * scale + min)) << "element " << i;
  EXPECT_FLOAT_EQ(t.values[0], -1.2069439495311063f);
}

TEST(TfjsWeights, DequantisesUint16LittleEndian) {
  FakeShards shards;
  Bytes data;
  for (const std::uint16_t v : {0, 1, 1000, 65535}) append(data, v);
  shards.files["q16.bin"] = data;

  const WeightMap weights =
      parse(json::array({group({"q16.bin"}, {quantised(weight("w", {4}), "uint16", 0.5, -10.0)})}), shards);

  EXPECT_EQ(weights.require("w", {4}).values, (std::vector<float>{-10.0f, -9.5f, 490.0f, 32757.5f}));
}

TEST(TfjsWeights, DecodesFloat16IncludingSubnormalsAndSpecials) {
  FakeShards shards;
  Bytes data;
  // 1, -2, 0.5, largest half, smallest subnormal, -0, +inf, NaN
  for (const std::uint16_t h : {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x7E00}) append(data, h);
  shards.files["h.bin"] = data;
  json entry = weight("half", {8});
  entry["quantization"] = {{"dtype", "float16"}};  // float16 needs no scale or min

  const WeightMap weights = parse(json::array({group({"h.bin"}, {entry})}), shards);

  const std::vector<float>& v = weights.require("half", {8}).values;
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], 0.5f);
  EXPECT_EQ(v[3], 65504.0f);
  EXPECT_EQ(v[4], std::ldexp(1.0f, -24));
  EXPECT_EQ(v[5], 0.0f);
  EXPECT_TRUE(std::signbit(v[5]));
  EXPECT_EQ(v[6], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(v[7]));
}

TEST(TfjsWeights, QuantisedInt32IsRoundedToIntegers) {
  FakeShards shards;
  shards.files["q.bin"] = {0, 1, 2, 3};

  const WeightMap weights =
      parse(json::array({group({"q.bin"}, {quantised(weight("ids", {4}, "int32"), "uint8", 0.4, 0.0)})}), shards);

  EXPECT_EQ(weights.require("ids", {4}).values, (std::vector<float>{0, 0, 1, 1}));
}

TEST(TfjsWeights, ShardsOfOneGroupFormOneByteStream) {
  // The second tensor straddles the boundary between the two shards.
  const Bytes all = float32_bytes({1, 2, 3, 4, 5});
  FakeShards shards;
  shards.files["group1-shard1of2.bin"] = Bytes(all.begin(), all.begin() + 10);
  shards.files["group1-shard2of2.bin"] = Bytes(all.begin() + 10, all.end());

  const WeightMap weights = parse(
      json::array({group({"group1-shard1of2.bin", "group1-shard2of2.bin"}, {weight("a", {2}), weight("b", {3})})}),
      shards);

  EXPECT_EQ(weights.require("a", {2}).values, (std::vector<float>{1, 2}));
  EXPECT_EQ(weights.require("b", {3}).values, (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(shards.requested, (std::vector<std::string>{"group1-shard1of2.bin", "group1-shard2of2.bin"}));
}

TEST(TfjsWeights, EachGroupReadsItsOwnShardsFromOffsetZero) {
  FakeShards shards;
  shards.files["g1.bin"] = float32_bytes({10, 11});
  shards.files["g2.bin"] = concat(Bytes{200}, float32_bytes({-3}));

  const json second = quantised(weight("second", {1}), "uint8", 1.0, 0.0);

  const WeightMap weights =
      parse(json::array({group({"g1.bin"}, {weight("first", {2})}), group({"g2.bin"}, {second, weight("third", {})})}),
            shards);

  ASSERT_EQ(weights.size(), 3u);
  EXPECT_EQ(weights.require("first", {2}).values, (std::vector<float>{10, 11}));
  EXPECT_EQ(weights.require("second", {1}).values, std::vector<float>{200});
  EXPECT_EQ(weights.require("third", {}).values, std::vector<float>{-3});  // a scalar
}

TEST(TfjsWeights, ZeroSizedTensorsAndEmptyManifestAreValid) {
  FakeShards shards;
  shards.files["empty.bin"] = {};
  EXPECT_EQ(parse(json::array(), shards).size(), 0u);

  const WeightMap weights = parse(json::array({group({"empty.bin"}, {weight("nothing", {0, 5})})}), shards);
  EXPECT_EQ(weights.require("nothing", {0, 5}).element_count(), 0u);
}

TEST(TfjsWeights, TensorsAccessorListsEveryTensor) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1, 2});
  const WeightMap weights = parse(json::array({group({"w.bin"}, {weight("b", {1}), weight("a", {1})})}), shards);

  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights.tensors()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));
}

// --- errors from parse_tfjs_weights -------------------------------------------

TEST(TfjsWeightsErrors, RequireNamesManifestAndTensorOnWrongShape) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1, 2, 3, 4, 5, 6});
  const WeightMap weights = parse(json::array({group({"w.bin"}, {weight("conv0/filters", {2, 3})})}), shards);

  const std::string message = load_error([&] { weights.require("conv0/filters", {3, 2}); });
  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "conv0/filters"));
  EXPECT_TRUE(Contains(message, "[2, 3]"));
  EXPECT_TRUE(Contains(message, "[3, 2]"));
}

TEST(TfjsWeightsErrors, RequireNamesManifestAndTensorWhenMissing) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1});
  const WeightMap weights = parse(json::array({group({"w.bin"}, {weight("present", {1})})}), shards);

  const std::string message = load_error([&] { weights.require("conv9/bias", {1}); });
  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "conv9/bias"));
  EXPECT_TRUE(Contains(message, "missing"));
  EXPECT_FALSE(weights.contains("conv9/bias"));
}

TEST(TfjsWeightsErrors, TruncatedShardNamesTensorAndShard) {
  FakeShards shards;
  Bytes data = float32_bytes({1, 2, 3});
  data.pop_back();
  shards.files["short.bin"] = data;

  const std::string message = parse_error(json::array({group({"short.bin"}, {weight("dense/weights", {3})})}), shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "dense/weights"));
  EXPECT_TRUE(Contains(message, "short.bin"));
  EXPECT_TRUE(Contains(message, "needs 12 bytes"));
}

TEST(TfjsWeightsErrors, LaterTensorPastTheEndOfTheShardIsNamed) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1, 2});

  const std::string message =
      parse_error(json::array({group({"w.bin"}, {weight("fits", {2}), weight("overflows", {1})})}), shards);

  EXPECT_TRUE(Contains(message, "overflows"));
  EXPECT_TRUE(Contains(message, "offset 8"));
}

TEST(TfjsWeightsErrors, ExtraBytesInShardAreRejected) {
  FakeShards shards;
  shards.files["long.bin"] = concat(float32_bytes({1, 2}), Bytes{0xAB});

  const std::string message = parse_error(json::array({group({"long.bin"}, {weight("w", {2})})}), shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "group 0"));
  EXPECT_TRUE(Contains(message, "long.bin"));
  EXPECT_TRUE(Contains(message, "hold 9 bytes"));
  EXPECT_TRUE(Contains(message, "describes 8"));
}

TEST(TfjsWeightsErrors, ShardReaderErrorsPropagate) {
  FakeShards shards;  // holds nothing

  const std::string message = parse_error(json::array({group({"absent.bin"}, {weight("w", {1})})}), shards);

  EXPECT_TRUE(Contains(message, "absent.bin"));
}

TEST(TfjsWeightsErrors, MalformedJsonNamesManifest) {
  FakeShards shards;
  for (const std::string text : {"", "[{\"paths\": [", "[1,]", "{\"a\":}", "not json"}) {
    const std::string message = parse_error(text, shards);
    EXPECT_TRUE(Contains(message, kLabel)) << text;
    EXPECT_TRUE(Contains(message, "malformed JSON")) << text;
  }
}

TEST(TfjsWeightsErrors, DeepNestingIsRejectedAsMalformed) {
  FakeShards shards;
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');

  const std::string message = parse_error(deep, shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "nested deeper"));
}

TEST(TfjsWeightsErrors, ManifestMustBeAnArrayOfGroups) {
  FakeShards shards;
  for (const json& manifest :
       {json::object({{"paths", json::array()}, {"weights", json::array()}}), json(42), json("text"), json(nullptr)}) {
    const std::string message = parse_error(manifest, shards);
    EXPECT_TRUE(Contains(message, kLabel)) << manifest;
    EXPECT_TRUE(Contains(message, "JSON array")) << manifest;
  }
}

TEST(TfjsWeightsErrors, MalformedGroupsAndEntriesNameTheGroup) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1});
  const std::vector<json> manifests = {
      json::array({json::array()}),                                                   // group not an object
      json::array({json{{"weights", json::array()}}}),                                // no paths
      json::array({json{{"paths", "w.bin"}, {"weights", json::array()}}}),            // paths not an array
      json::array({json{{"paths", {7}}, {"weights", json::array()}}}),                // path not a string
      json::array({group({"w.bin"}, {json{{"shape", {1}}, {"dtype", "float32"}}})}),  // no name
      json::array({group({"w.bin"}, {json(3)})}),                                     // entry not an object
  };
  for (const json& manifest : manifests) {
    const std::string message = parse_error(manifest, shards);
    EXPECT_TRUE(Contains(message, std::string(kLabel) + " (group 0)")) << manifest;
  }
}

TEST(TfjsWeightsErrors, UnknownDtypeNamesTensor) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(8);

  const std::string message = parse_error(json::array({group({"w.bin"}, {weight("c", {1}, "complex64")})}), shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "tensor 'c'"));
  EXPECT_TRUE(Contains(message, "complex64"));
}

TEST(TfjsWeightsErrors, MissingDtypeNamesTensor) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(4);

  const std::string message =
      parse_error(json::array({group({"w.bin"}, {json{{"name", "nodtype"}, {"shape", {1}}}})}), shards);

  EXPECT_TRUE(Contains(message, "nodtype"));
  EXPECT_TRUE(Contains(message, "dtype"));
}

TEST(TfjsWeightsErrors, UnknownQuantizationDtypeNamesTensor) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(1);

  const std::string message =
      parse_error(json::array({group({"w.bin"}, {quantised(weight("q", {1}), "int4", 1.0, 0.0)})}), shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "tensor 'q'"));
  EXPECT_TRUE(Contains(message, "int4"));
}

TEST(TfjsWeightsErrors, IntegerQuantisationNeedsScaleAndMin) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(1);
  json entry = weight("q", {1});
  entry["quantization"] = {{"dtype", "uint8"}, {"scale", 0.5}};

  const std::string message = parse_error(json::array({group({"w.bin"}, {entry})}), shards);

  EXPECT_TRUE(Contains(message, "tensor 'q'"));
  EXPECT_TRUE(Contains(message, "\"min\""));
}

TEST(TfjsWeightsErrors, QuantisedBoolIsRejected) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(1);

  const std::string message =
      parse_error(json::array({group({"w.bin"}, {quantised(weight("flag", {1}, "bool"), "uint8", 1.0, 0.0)})}), shards);

  EXPECT_TRUE(Contains(message, "tensor 'flag'"));
}

TEST(TfjsWeightsErrors, BadShapesNameTensor) {
  FakeShards shards;
  shards.files["w.bin"] = Bytes(4);
  const std::vector<json> shapes = {
      json{-1},                                              // negative
      json{1, -3},                                           // negative later
      json{2147483648LL},                                    // above INT_MAX
      json{18446744073709551615ULL},                         // would wrap if read as signed
      json{1.5},                                             // not an integer
      json{"4"},                                             // not a number
      json{65536, 65536, 65536},                             // each fits in int, the product is absurd
      json{2147483647, 2147483647, 2147483647, 2147483647},  // the product overflows 64 bits
      json("4"),                                             // not an array
  };
  for (const json& shape : shapes) {
    json entry = weight("bad/shape", {});
    entry["shape"] = shape;
    const std::string message = parse_error(json::array({group({"w.bin"}, {entry})}), shards);
    EXPECT_TRUE(Contains(message, kLabel)) << shape;
    EXPECT_TRUE(Contains(message, "tensor 'bad/shape'")) << shape;
    EXPECT_TRUE(Contains(message, "shape")) << shape;
  }
}

TEST(TfjsWeightsErrors, DuplicateNameInOneGroupIsRejected) {
  FakeShards shards;
  shards.files["w.bin"] = float32_bytes({1, 2});

  const std::string message =
      parse_error(json::array({group({"w.bin"}, {weight("twice", {1}), weight("twice", {1})})}), shards);

  EXPECT_TRUE(Contains(message, kLabel));
  EXPECT_TRUE(Contains(message, "tensor 'twice'"));
  EXPECT_TRUE(Contains(message, "twice in the manifest"));
}

TEST(TfjsWeightsErrors, DuplicateNameAcrossGroupsIsRejected) {
  FakeShards shards;
  shards.files["a.bin"] = float32_bytes({1});
  shards.files["b.bin"] = float32_bytes({2});

  const std::string message = parse_error(
      json::array({group({"a.bin"}, {weight("shared", {1})}), group({"b.bin"}, {weight("shared", {1})})}), shards);

  EXPECT_TRUE(Contains(message, "tensor 'shared'"));
  EXPECT_TRUE(Contains(message, "twice"));
}

TEST(TfjsWeightsErrors, ShardPathsOutsideTheManifestDirectoryAreNeverRead) {
  const std::vector<std::string> hostile = {
      "/etc/passwd",
      "../weights.bin",
      "..",
      "sub/../../weights.bin",
      "sub/..",
      "a/b/../../..",
      "..\\weights.bin",
      "\\\\server\\share.bin",
      "C:/weights.bin",
      "",
      std::string("ok.bin\0../x", 11),
  };
  for (const std::string& path : hostile) {
    FakeShards shards;
    shards.files[path] = float32_bytes({1});

    const std::string message = parse_error(json::array({group({path}, {weight("w", {1})})}), shards);

    EXPECT_TRUE(Contains(message, kLabel)) << path;
    EXPECT_TRUE(Contains(message, "rejected")) << path;
    EXPECT_TRUE(shards.requested.empty()) << path;
  }
}

TEST(TfjsWeights, ShardPathsInSubdirectoriesOrWithDotsInNamesAreAllowed) {
  for (const std::string path : {"sub/w.bin", "./w.bin", "w..bin", "..w.bin", "sub/.../w.bin"}) {
    FakeShards shards;
    shards.files[path] = float32_bytes({4});

    const WeightMap weights = parse(json::array({group({path}, {weight("w", {1})})}), shards);

    EXPECT_EQ(weights.require("w", {1}).values, std::vector<float>{4}) << path;
  }
}

// --- load_tfjs_weights: real files ----------------------------------------------

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("safelynx_tfjs_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  fs::path write(const fs::path& relative, const std::string& content) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << content;
    return file;
  }
  fs::path write(const fs::path& relative, const Bytes& content) const {
    return write(relative, std::string(content.begin(), content.end()));
  }

 private:
  fs::path path_;
};

TEST(TfjsWeightsFiles, LoadsManifestAndShardsFromItsDirectory) {
  TempDir dir;
  dir.write("model/shard1.bin", Bytes{10, 20});
  dir.write("model/sub/shard2.bin", float32_bytes({0.25f}));
  const fs::path manifest =
      dir.write("model/m-weights_manifest.json",
                json::array({group({"shard1.bin", "sub/shard2.bin"},
                                   {quantised(weight("q", {2}), "uint8", 0.5, 1.0), weight("f", {1, 1})})})
                    .dump());

  const WeightMap weights = load_tfjs_weights(manifest);

  EXPECT_EQ(weights.source(), manifest.string());
  EXPECT_EQ(weights.require("q", {2}).values, (std::vector<float>{6.0f, 11.0f}));
  EXPECT_EQ(weights.require("f", {1, 1}).values, std::vector<float>{0.25f});
}

TEST(TfjsWeightsFiles, MissingManifestFileIsNamed) {
  TempDir dir;
  const fs::path manifest = dir.path() / "absent-weights_manifest.json";

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "cannot open the weight manifest"));
}

TEST(TfjsWeightsFiles, ManifestThatIsADirectoryIsRejected) {
  TempDir dir;
  fs::create_directories(dir.path() / "m.json");

  const std::string message = load_error([&] { load_tfjs_weights(dir.path() / "m.json"); });

  EXPECT_TRUE(Contains(message, "not a regular file"));
}

TEST(TfjsWeightsFiles, MissingShardFileNamesManifestAndShard) {
  TempDir dir;
  const fs::path manifest =
      dir.write("m.json", json::array({group({"group1-shard1of1.bin"}, {weight("w", {1})})}).dump());

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "group1-shard1of1.bin"));
  EXPECT_TRUE(Contains(message, "cannot open weight shard"));
}

TEST(TfjsWeightsFiles, TruncatedShardFileNamesManifestTensorAndShard) {
  TempDir dir;
  dir.write("w.bin", Bytes{1, 2, 3});
  const fs::path manifest = dir.write("m.json", json::array({group({"w.bin"}, {weight("conv/bias", {1})})}).dump());

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "conv/bias"));
  EXPECT_TRUE(Contains(message, "w.bin"));
}

TEST(TfjsWeightsFiles, ShardThatIsADirectoryIsRejected) {
  TempDir dir;
  fs::create_directories(dir.path() / "w.bin");
  const fs::path manifest = dir.write("m.json", json::array({group({"w.bin"}, {weight("w", {0})})}).dump());

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "w.bin"));
  EXPECT_TRUE(Contains(message, "not a regular file"));
}

TEST(TfjsWeightsFiles, ShardOutsideTheManifestDirectoryIsNotRead) {
  TempDir dir;
  dir.write("secret.bin", float32_bytes({42}));  // exists, and would decode fine
  const fs::path manifest =
      dir.write("model/m.json", json::array({group({"../secret.bin"}, {weight("w", {1})})}).dump());

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "../secret.bin"));
  EXPECT_TRUE(Contains(message, "rejected"));
}

TEST(TfjsWeightsFiles, AbsoluteShardPathIsNotRead) {
  TempDir dir;
  const fs::path secret = dir.write("secret.bin", float32_bytes({42}));
  const fs::path manifest =
      dir.write("model/m.json", json::array({group({secret.string()}, {weight("w", {1})})}).dump());

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, secret.string()));
  EXPECT_TRUE(Contains(message, "absolute"));
}

TEST(TfjsWeightsFiles, MalformedManifestFileIsNamed) {
  TempDir dir;
  const fs::path manifest = dir.write("m.json", std::string("[{\"paths\": [\"w.bin\"], "));

  const std::string message = load_error([&] { load_tfjs_weights(manifest); });

  EXPECT_TRUE(Contains(message, manifest.string()));
  EXPECT_TRUE(Contains(message, "malformed JSON"));
}

}  // namespace
}  // namespace safelynx::vision
