#include "app/eval_command.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "app/cli_commands.hpp"
#include "gallery/gallery.hpp"
#include "gallery/recognition_metrics.hpp"
#include "vision/face_engine.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"

namespace safelynx::app {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

struct Photo {
  fs::path path;
  std::size_t person = 0;
  std::string name;  // person/file, for the output
};

bool is_photo(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// DIR/<person>/<photo>, sorted so that runs (and their splits) repeat.
std::vector<Photo> list_photos(const fs::path& dir, std::vector<std::string>& people) {
  if (!fs::exists(dir)) throw ConfigError("eval: " + dir.string() + " does not exist");
  if (!fs::is_directory(dir)) throw ConfigError("eval: " + dir.string() + " is not a directory");
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  std::vector<Photo> photos;
  for (const fs::path& folder : folders) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folder))
      if (e.is_regular_file() && is_photo(e.path())) files.push_back(e.path());
    if (files.empty()) continue;
    std::sort(files.begin(), files.end());
    const std::string person = folder.filename().string();
    for (const fs::path& f : files) photos.push_back({f, people.size(), person + "/" + f.filename().string()});
    people.push_back(person);
  }
  if (photos.empty())
    throw ConfigError("eval: no photos in " + dir.string() + " (expected DIR/<person>/*.jpg or *.png)");
  return photos;
}

// What the photos became: one descriptor per photo with a face (its largest).
struct Described {
  std::vector<FaceDescriptor> descriptors;
  std::vector<FaceDescriptor> other;  // the same faces under the other alignment (--compare-alignment)
  std::vector<std::size_t> labels;
  std::vector<std::string> names;
  std::vector<std::string> without_face;
  std::vector<std::string> unreadable;
  double seconds = 0;
  vision::StageTimings stages;  // summed over the photos

  gallery::LabelledDescriptors set() const { return {descriptors, labels}; }
  gallery::LabelledDescriptors other_set() const { return {other, labels}; }
};

const Face* largest_described(const std::vector<Face>& faces) {
  const Face* best = nullptr;
  for (const Face& f : faces)
    if (f.descriptor && (!best || f.detection.box.area() > best->detection.box.area())) best = &f;
  return best;
}

Described describe_photos(const std::vector<Photo>& photos, vision::FaceEngine& engine, const EngineConfig& config,
                          const EvalOptions& options, std::optional<vision::FaceAlignment> other) {
  Described out;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < photos.size(); ++i) {
    const Photo& photo = photos[i];
    cv::Mat padded;
    try {
      const cv::Mat image = vision::read_image(photo.path, {config.max_image_pixels});
      // Tight crops leave the detector no context: a grey border gives it some.
      cv::copyMakeBorder(image, padded, options.pad, options.pad, options.pad, options.pad, cv::BORDER_CONSTANT,
                         cv::Scalar::all(128));
    } catch (const vision::ImageError& e) {
      std::cerr << "eval: skipped: " << e.what() << "\n";
      out.unreadable.push_back(photo.name);
      continue;
    }
    const std::vector<Face> faces = engine.analyse(padded, config.min_score, true);
    out.stages.detection_ms += engine.last_timings().detection_ms;
    out.stages.landmarks_ms += engine.last_timings().landmarks_ms;
    out.stages.descriptors_ms += engine.last_timings().descriptors_ms;
    const Face* face = largest_described(faces);
    if (!face) {
      out.without_face.push_back(photo.name);
    } else {
      if (other) {
        const cv::Size landmark_crop = vision::clip_to_image(face->detection.box, padded.size()).size();
        const cv::Mat crop = vision::aligned_crop(padded, face->landmarks, landmark_crop, *other);
        if (crop.empty()) {  // the face is in the image: its other crop cannot be wholly outside
          out.without_face.push_back(photo.name);
          continue;
        }
        out.other.push_back(engine.embedder().extract_embeddings_batch(std::span<const cv::Mat>(&crop, 1), 1).front());
      }
      out.descriptors.push_back(*face->descriptor);
      out.labels.push_back(photo.person);
      out.names.push_back(photo.name);
    }
    if ((i + 1) % 100 == 0) std::cerr << "eval: " << i + 1 << "/" << photos.size() << " photos\n";
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

json number(double value, int decimals = 4) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

std::string percentile_key(double p) {
  std::ostringstream key;
  key << "p" << p;
  return key.str();
}

json percentiles(std::span<const float> sorted, std::initializer_list<double> ps) {
  json out = json::object();
  for (double p : ps) out[percentile_key(p)] = number(gallery::percentile(sorted, p));
  return out;
}

// What the margin rule and the threshold need: low percentiles of the
// margins of right answers, the high ones of wrong answers' margins.
constexpr std::initializer_list<double> kMarginPercentiles = {1, 5, 10, 25, 50};
constexpr std::initializer_list<double> kSamePercentiles = {50, 90, 99, 99.9};
constexpr std::initializer_list<double> kDifferentPercentiles = {0.1, 1, 10, 50, 90, 99, 99.9};

json identification_json(const gallery::IdentificationResult& r) {
  return {{"shots", r.options.shots},
          {"rule", gallery::to_string(r.options.rule)},
          {"people", r.identities},
          {"probes", r.probes},
          {"rank1", number(r.rank1(), 5)},
          {"correct_margin", percentiles(r.correct_margins, kMarginPercentiles)},
          {"wrong", r.probes - r.correct},
          {"wrong_margin", percentiles(r.wrong_margins, {50, 90, 99, 100})}};
}

json operating_points_json(const std::vector<gallery::OperatingPoint>& points) {
  json out = json::array();
  for (const auto& p : points)
    out.push_back({{"far", p.target_far}, {"threshold", number(p.threshold)}, {"tar", number(p.tar, 5)},
                   {"measured_far", number(p.far, 6)}});
  return out;
}

// `match_threshold`: the configured one, to show what it gives.
json report_json(const gallery::RecognitionReport& report, const Described& described,
                 const std::vector<std::string>& people, float match_threshold) {
  json identification = json::array();
  for (const auto& r : report.identification) identification.push_back(identification_json(r));
  json closest = json::object();
  if (report.closest_descriptors)
    closest["photos"] = {{"distance", number(report.closest_descriptors->distance, 6)},
                         {"first", described.names[report.closest_descriptors->first]},
                         {"second", described.names[report.closest_descriptors->second]}};
  if (report.closest_means)
    closest["means"] = {{"distance", number(report.closest_means->distance, 6)},
                        {"first", people[report.closest_means->first]},
                        {"second", people[report.closest_means->second]}};
  const auto& v = report.verification;
  const auto configured = gallery::rates_at(v.genuine, v.impostor, match_threshold);
  return {{"identification", identification},
          {"verification",
           {{"same_pairs", v.genuine.size()},
            {"different_pairs", v.impostor.size()},
            {"at_far", operating_points_json(v.points)},
            {"at_match_threshold",
             {{"threshold", number(match_threshold)}, {"tar", number(configured.tar, 5)}, {"far", number(configured.far, 6)}}}}},
          {"distances",
           {{"same", percentiles(v.genuine, kSamePercentiles)}, {"different", percentiles(v.impostor, kDifferentPercentiles)}}},
          {"closest_different", closest},
          {"recommended_threshold", number(report.recommended_threshold)}};
}

// How a negative example ("this is not A" on a face of B taken for A) would
// work at radii around the gallery's kNegativeExampleRadius, for confusions
// within the match threshold and for every face against every other person.
json negative_examples_json(const gallery::LabelledDescriptors& set, float match_threshold) {
  const float radii[] = {0.2f, 0.3f, 0.35f, 0.4f, 0.45f, 0.5f, 0.6f};
  json out = {{"radius", number(gallery::kNegativeExampleRadius)}};
  for (const auto& [name, within] : {std::pair{"confusions", match_threshold}, std::pair{"all_pairs", 2.0f}}) {
    const auto r = gallery::negative_example_radii(set, within, radii);
    json points = json::array();
    for (const auto& p : r.points)
      points.push_back({{"radius", number(p.radius)}, {"own_blocked", number(p.own_blocked, 5)},
                        {"confused_blocked", number(p.confused_blocked, 5)}});
    out[name] = {{"within", number(within)}, {"count", r.confusions}, {"points", points}};
  }
  return out;
}

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * share);
  return text;
}

void print_summary(const json& r, const std::string& alignment) {
  std::cerr << "eval [" << alignment << "]:\n";
  for (const json& id : r["identification"]) {
    std::fprintf(stderr, "  rank-1 %zu shot%s (%s): %s of %zu probes; margin of right answers p1 %s p5 %s p50 %s\n",
                 id["shots"].get<std::size_t>(), id["shots"].get<std::size_t>() == 1 ? "" : "s",
                 id["rule"].get<std::string>().c_str(), percent(id["rank1"].get<double>()).c_str(),
                 id["probes"].get<std::size_t>(), id["correct_margin"]["p1"].dump().c_str(),
                 id["correct_margin"]["p5"].dump().c_str(), id["correct_margin"]["p50"].dump().c_str());
  }
  for (const json& p : r["verification"]["at_far"])
    std::fprintf(stderr, "  TAR %s at FAR %g (threshold %s)\n", percent(p["tar"].get<double>()).c_str(),
                 p["far"].get<double>(), p["threshold"].dump().c_str());
  const json& configured = r["verification"]["at_match_threshold"];
  std::fprintf(stderr, "  TAR %s, FAR %s at the configured match threshold %s\n",
               percent(configured["tar"].get<double>()).c_str(), percent(configured["far"].get<double>()).c_str(),
               configured["threshold"].dump().c_str());
  std::cerr << "  same-person distances " << r["distances"]["same"].dump() << "\n"
            << "  different-person distances " << r["distances"]["different"].dump() << "\n"
            << "  closest different " << r["closest_different"].dump() << "\n"
            << "  recommended threshold " << r["recommended_threshold"].dump() << " (FAR 1e-3)\n";
}

// Descriptors stored by a build with the other alignment, compared with
// today's: how far the same photo moves, and how a gallery enrolled with the
// other fares against probes described with this one.
json versus_json(const Described& d, const gallery::RecognitionReport& ours, const gallery::RecognitionReport& theirs,
                 const EvalOptions& options) {
  std::vector<float> moved;
  for (std::size_t i = 0; i < d.descriptors.size(); ++i) moved.push_back(descriptor_distance(d.descriptors[i], d.other[i]));
  std::sort(moved.begin(), moved.end());
  json identification = json::array();
  for (std::size_t k : options.shots) {
    gallery::IdentificationOptions o;
    o.shots = k;
    o.splits = options.splits;
    identification.push_back(identification_json(gallery::identify_rank1(d.other_set(), o, d.descriptors)));
  }
  const double fars[] = {1e-2, gallery::kRecommendedFar};
  const auto mixed = gallery::verify_pairs(d.other_set(), fars, d.descriptors);
  json at_thresholds = json::array();
  for (const float t : {ours.recommended_threshold, theirs.recommended_threshold}) {
    const auto p = gallery::rates_at(mixed.genuine, mixed.impostor, t);
    at_thresholds.push_back({{"threshold", number(t)}, {"tar", number(p.tar, 5)}, {"far", number(p.far, 6)}});
  }
  return {{"same_photo_distance", percentiles(moved, {50, 90, 99, 100})},
          {"enrolled_other_probed_ours", identification},
          {"mixed_pairs",
           {{"same", percentiles(mixed.genuine, kSamePercentiles)},
            {"different", percentiles(mixed.impostor, kDifferentPercentiles)},
            {"at_far", operating_points_json(mixed.points)},
            {"at_thresholds", at_thresholds}}}};
}

}  // namespace

void add_eval_flags(CLI::App& command, EvalOptions& o) {
  command.add_option("dir", o.dir, "Folder with one sub-folder of photos (.jpg, .png) per person")->required();
  command.add_option("--shots", o.shots, "Photos enrolled per person for rank-1, comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--alignment", o.alignment, "Face crop for the descriptor: dlib-chip or face-api (default: the engine's)")
      ->check(CLI::IsMember({"dlib-chip", "face-api"}));
  command.add_option("--pad", o.pad, "Grey border around each photo, px (tight crops need one; 0 for ordinary photos)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  command.add_option("--splits", o.splits, "Random choices of the enrolled photos, averaged")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command.add_flag("--compare-alignment", o.compare_alignment,
                   "Also describe every face with the other alignment: its figures, and how far descriptors move");
}

int run_eval(const EngineConfig& config, const EvalOptions& o) {
  std::vector<std::string> people;
  const std::vector<Photo> photos = list_photos(o.dir, people);
  vision::FaceEngineOptions engine_options;
  engine_options.descriptor_batch_size = config.descriptor_batch_size;
  if (o.alignment) engine_options.alignment = vision::parse_face_alignment(*o.alignment);
  const vision::FaceAlignment alignment = engine_options.alignment;
  const auto other = o.compare_alignment ? std::optional(alignment == vision::FaceAlignment::DlibChip
                                                             ? vision::FaceAlignment::FaceApiBox
                                                             : vision::FaceAlignment::DlibChip)
                                         : std::nullopt;
  vision::FaceEngine engine(vision::resolve_models_dir(config.models_dir), engine_options);
  std::cerr << "eval: " << people.size() << " people, " << photos.size() << " photos in " << o.dir << "; alignment "
            << vision::to_string(alignment) << ", SSD detector, " << o.pad << " px border\n";

  const Described described = describe_photos(photos, engine, config, o, other);
  std::size_t people_described = 0;
  for (std::size_t p = 0; p < people.size(); ++p)
    people_described += std::find(described.labels.begin(), described.labels.end(), p) != described.labels.end();
  if (people_described < 2) throw ConfigError("eval: faces of at least two people are needed, found " +
                                              std::to_string(people_described));

  const auto report = gallery::evaluate_recognition(described.set(), o.shots, o.splits);
  const double ms_per_photo = 1000 * described.seconds / static_cast<double>(photos.size());
  json out = {{"command", "eval"},
              {"dir", o.dir},
              {"alignment", vision::to_string(alignment)},
              {"detector", "ssd"},
              {"pad", o.pad},
              {"splits", o.splits},
              {"people", people.size()},
              {"photos", photos.size()},
              {"described", described.descriptors.size()},
              {"without_face", described.without_face},
              {"unreadable", described.unreadable},
              {"seconds", number(described.seconds, 2)},
              {"ms_per_photo", number(ms_per_photo, 1)},
              {"stage_ms_per_photo",
               {{"detection", number(described.stages.detection_ms / static_cast<double>(photos.size()), 2)},
                {"landmarks", number(described.stages.landmarks_ms / static_cast<double>(photos.size()), 2)},
                {"descriptors", number(described.stages.descriptors_ms / static_cast<double>(photos.size()), 2)}}}};
  out.update(report_json(report, described, people, config.match_threshold));
  out["negative_examples"] = negative_examples_json(described.set(), config.match_threshold);

  std::fprintf(stderr, "eval: %zu of %zu photos described, %zu without a face, %zu unreadable; %.1f s (%.0f ms a photo)\n",
               described.descriptors.size(), photos.size(), described.without_face.size(), described.unreadable.size(),
               described.seconds, ms_per_photo);
  print_summary(out, vision::to_string(alignment));
  for (const char* kind : {"confusions", "all_pairs"}) {
    const json& n = out["negative_examples"][kind];
    std::cerr << "  negative examples (" << kind << " within " << n["within"].dump() << ": " << n["count"].dump() << ")";
    for (const json& p : n["points"])
      std::cerr << "; r " << p["radius"].dump() << " blocks own " << percent(p["own_blocked"].get<double>())
                << ", confused " << percent(p["confused_blocked"].get<double>());
    std::cerr << "\n";
  }
  if (other) {
    const auto theirs = gallery::evaluate_recognition(described.other_set(), o.shots, o.splits);
    json versus = {{"alignment", vision::to_string(*other)}};
    versus.update(report_json(theirs, described, people, config.match_threshold));
    versus.update(versus_json(described, report, theirs, o));
    print_summary(versus, vision::to_string(*other));
    std::cerr << "  the same photo under both alignments, distance " << versus["same_photo_distance"].dump() << "\n";
    for (const json& id : versus["enrolled_other_probed_ours"])
      std::cerr << "  enrolled with " << vision::to_string(*other) << ", probed with " << vision::to_string(alignment)
                << ": rank-1 " << id["shots"] << " shot(s) " << percent(id["rank1"].get<double>()) << "\n";
    out["versus"] = versus;
  }
  std::cout << out.dump() << std::endl;
  return kExitOk;
}

}  // namespace safelynx::app
