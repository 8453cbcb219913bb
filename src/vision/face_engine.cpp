#include "vision/face_engine.hpp"

#include <chrono>
#include <stdexcept>

#include "vision/face_alignment.hpp"
#include "vision/face_landmark_net.hpp"
#include "vision/face_recognition_net.hpp"
#include "vision/ssd_mobilenet_detector.hpp"
#include "vision/tiny_face_detector.hpp"

namespace safelynx::vision {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

DetectorKind parse_detector_kind(const std::string& text) {
  if (text == "ssd") return DetectorKind::Ssd;
  if (text == "tiny") return DetectorKind::Tiny;
  throw std::invalid_argument("unknown detector '" + text + "' (expected ssd or tiny)");
}

std::string to_string(DetectorKind kind) { return kind == DetectorKind::Ssd ? "ssd" : "tiny"; }

std::unique_ptr<FaceDetector> make_face_detector(const std::filesystem::path& models_dir, DetectorKind kind,
                                                 int tiny_input_size) {
  if (kind == DetectorKind::Tiny) return std::make_unique<TinyFaceDetector>(models_dir, tiny_input_size);
  return std::make_unique<SsdMobilenetDetector>(models_dir);
}

FaceEngine::FaceEngine(const std::filesystem::path& models_dir, const FaceEngineOptions& options)
    : FaceEngine(make_face_detector(models_dir, options.detector, options.tiny_input_size),
                 std::make_unique<FaceLandmarkNet>(models_dir), std::make_unique<FaceRecognitionNet>(models_dir),
                 options) {}

FaceEngine::FaceEngine(std::unique_ptr<FaceDetector> detector, std::unique_ptr<LandmarkDetector> landmarks,
                       std::unique_ptr<FaceEmbedder> embedder, const FaceEngineOptions& options)
    : detector_(std::move(detector)), landmarks_(std::move(landmarks)), embedder_(std::move(embedder)), options_(options) {
  if (options_.descriptor_batch_size == 0) throw std::invalid_argument("descriptor batch size must be at least 1");
}

std::vector<Face> FaceEngine::analyse(const cv::Mat& bgr, float min_score, bool with_descriptors) {
  timings_ = {};
  const auto start = std::chrono::steady_clock::now();
  std::vector<FaceDetection> detections = detector_->detect(bgr, min_score);
  // A box wholly outside the image has no face to describe.
  std::erase_if(detections, [&](const FaceDetection& d) { return clip_to_image(d.box, bgr.size()).empty(); });
  const double detection_ms = elapsed_ms(start);
  const ImageDetections image{bgr, std::move(detections)};
  std::vector<std::vector<Face>> faces = describe(std::span<const ImageDetections>(&image, 1), with_descriptors);
  timings_.detection_ms = detection_ms;
  return std::move(faces.front());
}

std::vector<std::vector<Face>> FaceEngine::describe(std::span<const ImageDetections> images, bool with_descriptors) {
  timings_ = {};
  // Landmarks on each detection's crop, all images' faces in one batch. A
  // detection wholly outside its image keeps its place, undescribed.
  auto start = std::chrono::steady_clock::now();
  std::vector<std::vector<Face>> faces(images.size());
  std::vector<cv::Mat> crops;
  std::vector<std::pair<std::size_t, std::size_t>> crop_owner;  // (image, face)
  for (std::size_t i = 0; i < images.size(); ++i) {
    for (const FaceDetection& d : images[i].detections) {
      Face face;
      face.detection = d;
      faces[i].push_back(face);
      const cv::Rect crop = clip_to_image(d.box, images[i].image.size());
      if (crop.empty()) continue;
      crop_owner.emplace_back(i, faces[i].size() - 1);
      crops.push_back(images[i].image(crop));
    }
  }
  const std::vector<Landmarks68> points =
      crops.empty() ? std::vector<Landmarks68>{} : landmarks_->detect_landmarks_batch(crops);
  for (std::size_t k = 0; k < crops.size(); ++k) {
    Face& face = faces[crop_owner[k].first][crop_owner[k].second];
    // face-api shifts by the unclipped detection box, not the crop origin.
    for (std::size_t p = 0; p < kLandmarkCount; ++p)
      face.landmarks[p] = {points[k][p].x + face.detection.box.x, points[k][p].y + face.detection.box.y};
    face.aligned_box = aligned_box(face.landmarks, crops[k].size(), options_.alignment);
  }
  timings_.landmarks_ms = elapsed_ms(start);
  if (!with_descriptors) return faces;

  start = std::chrono::steady_clock::now();
  std::vector<cv::Mat> aligned;
  std::vector<Face*> owners;
  for (std::size_t k = 0; k < crops.size(); ++k) {
    Face& face = faces[crop_owner[k].first][crop_owner[k].second];
    cv::Mat crop = aligned_crop(images[crop_owner[k].first].image, face.landmarks, crops[k].size(), options_.alignment);
    if (crop.empty()) continue;  // no descriptor rather than a made-up one
    aligned.push_back(std::move(crop));
    owners.push_back(&face);
  }
  if (!aligned.empty()) {
    const auto descriptors = embedder_->extract_embeddings_batch(aligned, options_.descriptor_batch_size);
    for (std::size_t k = 0; k < owners.size(); ++k) owners[k]->descriptor = descriptors[k];
  }
  timings_.descriptors_ms = elapsed_ms(start);
  return faces;
}

}  // namespace safelynx::vision
