// The C++ networks must agree with @vladmandic/face-api 1.7.15 (the reference
// implementation of the same weights) on every shared image.
#include <cmath>
#include <fstream>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../support/test_paths.hpp"
#include "vision/face_engine.hpp"
#include "vision/image_io.hpp"

namespace safelynx {
namespace {

using nlohmann::json;

struct Tolerances {
  static constexpr float kMinScore = 0.5f;
  static constexpr float kBoxIou = 0.9f;
  static constexpr float kScore = 0.05f;
  static constexpr float kLandmarksOfBoxWidth = 0.03f;
  static constexpr float kDescriptor = 0.06f;
};

struct Case {
  vision::DetectorKind detector;
  const char* reference_file;
};

class ReferenceAgreement : public ::testing::TestWithParam<Case> {};

Box reference_box(const json& face) {
  const json& b = face["box"];
  return {b["_x"].get<float>(), b["_y"].get<float>(), b["_width"].get<float>(), b["_height"].get<float>()};
}

TEST_P(ReferenceAgreement, EveryImageAgreesWithTheReference) {
  SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
  const auto testdata = testing::testdata_dir();
  std::ifstream in(testdata / "reference" / GetParam().reference_file);
  ASSERT_TRUE(in) << GetParam().reference_file;
  const json reference = json::parse(in);

  // The reference must cover every shared photo, or this test would miss some.
  std::set<std::string> listed;
  for (const auto& [key, faces] : reference.items()) listed.insert(key);
  for (const char* sub : {"faces", "scenes"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(testdata / sub)) {
      if (e.is_regular_file()) {
        EXPECT_TRUE(listed.count(std::filesystem::relative(e.path(), testdata).string())) << e.path();
      }
    }
  }

  vision::FaceEngineOptions options;
  options.detector = GetParam().detector;
  options.tiny_input_size = 416;
  options.alignment = vision::FaceAlignment::FaceApiBox;  // face-api's crop, whatever the default
  vision::FaceEngine engine(testing::models_dir(), options);

  int faces_compared = 0;
  for (const auto& [key, ref_faces] : reference.items()) {
    SCOPED_TRACE(key);
    const cv::Mat image = vision::read_image(testdata / key);
    const std::vector<Face> ours = engine.analyse(image, Tolerances::kMinScore, true);

    std::size_t ref_count = 0;
    for (const json& f : ref_faces) ref_count += f["score"].get<float>() >= Tolerances::kMinScore;
    EXPECT_EQ(ours.size(), ref_count);

    std::set<std::size_t> used;
    for (const json& ref : ref_faces) {
      const Box ref_box = reference_box(ref);
      std::size_t best = ours.size();
      float best_iou = 0;
      for (std::size_t i = 0; i < ours.size(); ++i) {
        const float iou = intersection_over_union(ref_box, ours[i].detection.box);
        if (!used.count(i) && iou > best_iou) best_iou = iou, best = i;
      }
      ASSERT_LT(best, ours.size()) << "no face of ours overlaps the reference box at x=" << ref_box.x;
      used.insert(best);
      const Face& face = ours[best];
      EXPECT_GE(best_iou, Tolerances::kBoxIou);
      EXPECT_NEAR(face.detection.score, ref["score"].get<float>(), Tolerances::kScore);

      double landmark_error = 0;
      for (std::size_t p = 0; p < kLandmarkCount; ++p)
        landmark_error += std::hypot(face.landmarks[p].x - ref["landmarks68"][p][0].get<float>(),
                                     face.landmarks[p].y - ref["landmarks68"][p][1].get<float>());
      EXPECT_LE(landmark_error / kLandmarkCount / ref_box.width, Tolerances::kLandmarksOfBoxWidth);

      ASSERT_TRUE(face.descriptor.has_value());
      FaceDescriptor ref_descriptor{};
      for (std::size_t k = 0; k < kDescriptorSize; ++k) ref_descriptor[k] = ref["descriptor"][k].get<float>();
      EXPECT_LE(descriptor_distance(*face.descriptor, ref_descriptor), Tolerances::kDescriptor);
      ++faces_compared;
    }
  }
  EXPECT_GT(faces_compared, 15);
}

INSTANTIATE_TEST_SUITE_P(Detectors, ReferenceAgreement,
                         ::testing::Values(Case{vision::DetectorKind::Ssd, "face-api-1.7.15.json"},
                                           Case{vision::DetectorKind::Tiny, "face-api-1.7.15-tiny416.json"}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return vision::to_string(param_info.param.detector);
                         });

}  // namespace
}  // namespace safelynx
