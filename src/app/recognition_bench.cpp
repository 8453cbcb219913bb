#include "app/recognition_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "app/cli_commands.hpp"
#include "app/pipeline_bench.hpp"
#include "app/process_stats.hpp"
#include "app/recognition_render.hpp"
#include "app/recognition_scenario.hpp"
#include "app/recognition_score.hpp"
#include "index/tiered_index.hpp"
#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline.hpp"
#include "storage/sqlite_database.hpp"
#include "vision/face_crops.hpp"
#include "vision/face_engine.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"

namespace safelynx::app {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

void add_recognition_bench_flags(CLI::App& command, RecognitionBenchOptions& o) {
  command.add_option("--dev-set", o.dev_set, "Faces to draw people from: DIR/<person>/<photos>");
  command.add_option("--seed", o.seed, "Chooses the people, photos and visits (same seed, same video)");
  command.add_option("--enrolled", o.enrolled, "People enrolled before the video plays")->check(CLI::Range(0, 100));
  command.add_option("--strangers", o.strangers, "People never enrolled; each walks through twice")->check(CLI::Range(0, 100));
  command.add_option("--shots", o.shots, "Photos enrolled per person (never shown in the video)")->check(CLI::Range(1, 20));
  command.add_option("--keep-video", o.keep_video, "Copy the rendered video (MJPG AVI) to this path");
  command.add_flag("--keep", o.keep, "Leave the temporary folder (video, data dir) in place");
}

namespace {

constexpr int kCropPadding = 112;  // the dev set's crops are tight: a detector needs the surroundings

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// Dividing by a power of ten gives the double that prints as the short decimal.
double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

struct Enrolment {
  std::map<Uuid, int> people;  // profile -> into Scenario::people
  int photos = 0, refused = 0;
  double box_to_crop = 0;      // mean detected box width over the crop's side
};

// Enrols each enrolled person's photos as the API does: one face per photo,
// the real engine and detector, the best face as the thumbnail.
Enrolment enrol(const Scenario& scenario, const Config& config, const fs::path& models, float min_score,
                gallery::Gallery& gallery) {
  vision::FaceEngineOptions engine_options;
  engine_options.detector = config.engine.detector;
  engine_options.tiny_input_size = config.engine.tiny_input_size;
  engine_options.descriptor_batch_size = config.engine.descriptor_batch_size;
  vision::FaceEngine engine(models, engine_options);
  Enrolment out;
  double ratios = 0;
  for (std::size_t p = 0; p < scenario.people.size(); ++p) {
    const Person& person = scenario.people[p];
    if (!person.enrolled) continue;
    std::vector<gallery::FaceSample> samples;
    std::string thumbnail;
    float best = -1;
    for (const fs::path& photo : person.enrol_photos) {
      const cv::Mat crop = vision::read_image(photo.string(), {config.engine.max_image_pixels});
      cv::Mat padded;
      cv::copyMakeBorder(crop, padded, kCropPadding, kCropPadding, kCropPadding, kCropPadding, cv::BORDER_CONSTANT,
                         cv::Scalar::all(128));
      const std::vector<Face> faces = engine.analyse(padded, min_score, true);
      if (faces.size() != 1 || !faces.front().descriptor) {
        ++out.refused;
        std::cerr << "bench recognition: " << photo.string() << ": " << faces.size() << " faces, not enrolled\n";
        continue;
      }
      const float quality = face_quality(faces.front().detection);
      samples.push_back({*faces.front().descriptor, quality, {}});
      ratios += faces.front().detection.box.width / static_cast<float>(crop.cols);
      if (quality > best) {
        best = quality;
        thumbnail = vision::face_thumbnail_jpeg(padded, faces.front().detection.box);
      }
    }
    if (samples.empty()) throw std::runtime_error(person.name + ": none of the enrolment photos shows one face");
    Profile fields;
    fields.name = person.name;
    fields.classification = Classification::Known;
    out.people[gallery.create(fields, samples, thumbnail).id] = static_cast<int>(p);
    out.photos += static_cast<int>(samples.size());
  }
  out.box_to_crop = out.photos ? ratios / out.photos : 0;
  return out;
}

// The rendered file as the pipeline's file camera will see it.
void check_video(const fs::path& file, const Scenario& scenario) {
  pipeline::VideoFileSource source(file, {false, false, {file.parent_path()}});
  source.open();
  int frames = 0;
  while (auto frame = source.read()) {
    if (frame->cols != scenario.options.width || frame->rows != scenario.options.height)
      throw std::runtime_error(file.string() + ": frame of " + std::to_string(frame->cols) + "x" +
                               std::to_string(frame->rows) + " read back");
    ++frames;
  }
  if (frames != scenario.frames)
    throw std::runtime_error(file.string() + ": " + std::to_string(frames) + " frames read back, " +
                             std::to_string(scenario.frames) + " written");
}

// What the pipeline said, from the event bus (its threads call in).
class Observer {
 public:
  Observer(const Uuid& camera, const std::map<Uuid, int>& enrolled) : camera_(camera), enrolled_(enrolled) {}

  void on(const DomainEvent& event) {
    std::lock_guard lock(mutex_);
    const TimePoint now = now_ms();
    if (const auto* e = std::get_if<NewSighting>(&event.payload)) {
      if (e->sighting.camera_id != camera_) return;
      sightings_.push_back({e->sighting, e->sighting.profile_id, e->sighting.time});
    } else if (const auto* c = std::get_if<SightingsCorrected>(&event.payload)) {
      ++corrections_;
      for (Seen& seen : sightings_) {
        if (std::find(c->sightings.begin(), c->sightings.end(), seen.sighting.id) == c->sightings.end()) continue;
        seen.sighting.profile_id = c->to;
        seen.named_at = now;
        ++corrected_sightings_;
      }
    } else if (const auto* u = std::get_if<UncertainFace>(&event.payload)) {
      if (u->camera_id != camera_) return;
      ObservedUncertain& seen = uncertain_.emplace_back(ObservedUncertain{0, u->box, {}});
      for (const MatchCandidate& m : u->candidates) seen.candidates.emplace_back(m.profile_id, m.distance);
      uncertain_at_.push_back(now);
    } else if (const auto* p = std::get_if<ProfileCreated>(&event.payload)) {
      if (!enrolled_.count(p->profile.id)) created_.emplace_back(p->profile.id, now);
    } else if (const auto* d = std::get_if<ProfileDeleted>(&event.payload)) {
      removed_.insert(d->profile_id);
    } else if (const auto* m = std::get_if<ProfilesMerged>(&event.payload)) {
      removed_.insert(m->sources.begin(), m->sources.end());
    }
  }

  RecognitionRun run(const FrameClock& clock) const {
    std::lock_guard lock(mutex_);
    RecognitionRun run;
    for (const Seen& seen : sightings_) {
      const Sighting& s = seen.sighting;
      run.sightings.push_back({s.id, s.profile_id, seen.first_profile, clock.video_s(s.time), clock.video_s(seen.named_at),
                               s.box, s.match_distance, s.match_margin});
    }
    for (const auto& [id, person] : enrolled_) run.profiles.push_back({id, person, true, 0});
    for (const auto& [id, at] : created_) run.profiles.push_back({id, std::nullopt, !removed_.count(id), clock.video_s(at)});
    run.uncertain = uncertain_;
    for (std::size_t i = 0; i < uncertain_at_.size(); ++i) run.uncertain[i].video_s = clock.video_s(uncertain_at_[i]);
    return run;
  }
  int uncertain() const { return static_cast<int>(locked(uncertain_.size())); }
  int corrections() const { return locked(corrections_); }
  int corrected_sightings() const { return locked(corrected_sightings_); }
  int created() const { return static_cast<int>(locked(created_.size())); }

 private:
  struct Seen {
    Sighting sighting;  // its profile as it stands now
    Uuid first_profile;
    TimePoint named_at;
  };
  template <typename T>
  T locked(const T& value) const {
    std::lock_guard lock(mutex_);
    return value;
  }

  const Uuid camera_;
  const std::map<Uuid, int>& enrolled_;
  mutable std::mutex mutex_;
  std::vector<Seen> sightings_;
  std::vector<std::pair<Uuid, TimePoint>> created_;
  std::set<Uuid> removed_;
  std::vector<ObservedUncertain> uncertain_;
  std::vector<TimePoint> uncertain_at_;
  int corrections_ = 0, corrected_sightings_ = 0;
};

// Plays the video through the pipeline in real time, sampling the capture's
// clock, until the file has ended and every stage is idle.
pipeline::PipelineStats play(pipeline::Pipeline& live, const Camera& camera, FrameClock& clock, double video_s) {
  live.start_camera(camera);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(video_s + 120);
  while (true) {
    std::this_thread::sleep_for(20ms);
    const auto runtime = live.runtime(camera.id);
    if (!runtime) throw std::runtime_error("the camera is no longer running");
    if (runtime->capture.last_frame && runtime->capture.frames > 0)
      clock.add(*runtime->capture.last_frame, runtime->capture.frames - 1);
    if (runtime->capture.status == CameraStatus::Error)
      throw std::runtime_error("camera error: " + runtime->capture.message);
    if (runtime->capture.status == CameraStatus::Stopped && runtime->capture.frames > 0) break;
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the video did not end in time");
  }
  if (!live.wait_until_idle(5min)) throw std::runtime_error("the pipeline did not drain in 5 minutes");
  return live.stats();
}

json wrong_json(const std::vector<WrongName>& wrong) {
  json out = json::array();
  for (const WrongName& w : wrong)
    out.push_back({{"person", w.person}, {"named_as", w.named_as}, {"video_s", round_to(w.video_s, 2)},
                   {"distance", round_to(w.distance, 3)}, {"margin", round_to(w.margin, 3)},
                   {"corrected", w.corrected}});
  return out;
}

void print_table(const Scenario& s, const RecognitionScore& score) {
  std::fprintf(stderr, "%-5s %-7s %-18s %-10s %-8s %-7s %-8s %-8s %-9s %s\n", "visit", "start s", "person", "kind",
               "face px", "usable", "named", "to name", "uncertain", "named as");
  for (std::size_t a = 0; a < s.appearances.size(); ++a) {
    const Appearance& ap = s.appearances[a];
    const Person& person = s.people[static_cast<std::size_t>(ap.person)];
    const AppearanceScore& r = score.appearances[a];
    std::string names;
    for (const std::string& n : r.named_as) names += (names.empty() ? "" : ", ") + n;
    const std::string kind = person.enrolled ? "enrolled" : "stranger " + std::to_string(ap.round);
    const std::string size = std::to_string(static_cast<int>(ap.size_from)) + "-" + std::to_string(static_cast<int>(ap.size_to));
    char named[16] = "-", to_name[16] = "-";
    if (r.named_s) std::snprintf(named, sizeof named, "%.2f", *r.named_s);
    if (r.time_to_name_s) std::snprintf(to_name, sizeof to_name, "%.2f s", *r.time_to_name_s);
    std::fprintf(stderr, "%-5d %-7.2f %-18s %-10s %-8s %-7.2f %-8s %-8s %-9d %s\n", ap.visit + 1,
                 ap.first_frame / s.options.fps, person.name.c_str(), kind.c_str(), size.c_str(),
                 s.first_usable_frame(ap) / s.options.fps, named, to_name, r.uncertain,
                 names.empty() ? "(no sighting)" : names.c_str());
  }
  for (std::size_t a = 0; a < s.appearances.size(); ++a) {
    const AppearanceScore& r = score.appearances[a];
    if (r.uncertain_between.empty()) continue;
    std::string between;
    for (const auto& [name, distance] : r.uncertain_between) {
      char d[16];
      std::snprintf(d, sizeof d, " %.3f", distance);
      between += (between.empty() ? "" : ", ") + name + d;
    }
    std::fprintf(stderr, "uncertain: %s (visit %d) %d time(s), nearest: %s\n",
                 s.people[static_cast<std::size_t>(s.appearances[a].person)].name.c_str(), s.appearances[a].visit + 1,
                 r.uncertain, between.c_str());
  }
  for (const WrongName& w : score.wrong)
    std::fprintf(stderr, "wrong name%s: %s named as %s at %.2f s (distance %.3f, margin %.3f)\n",
                 w.corrected ? " (when published; corrected later)" : "", w.person.c_str(), w.named_as.c_str(), w.video_s,
                 w.distance, w.margin);
}

}  // namespace

int run_recognition_bench(const Config& config, const RecognitionBenchOptions& o) {
  const fs::path models = vision::resolve_models_dir(config.engine.models_dir);
  ScenarioOptions scenario_options;
  scenario_options.seed = o.seed;
  scenario_options.enrolled = o.enrolled;
  scenario_options.strangers = o.strangers;
  scenario_options.shots = o.shots;
  const Scenario scenario = make_scenario(list_identities(o.dev_set), scenario_options);

  std::mt19937_64 random(std::random_device{}());
  const fs::path temp = fs::temp_directory_path() / ("safelynx-recognition-" + std::to_string(random()));
  fs::create_directories(temp / "video");
  struct Cleanup {
    fs::path dir;
    bool keep;
    ~Cleanup() {
      std::error_code ignored;
      if (keep) std::cerr << "bench recognition: kept " << dir.string() << "\n";
      else fs::remove_all(dir, ignored);
    }
  } cleanup{temp, o.keep};

  const fs::path video = fs::canonical(temp / "video") / "recognition.avi";
  write_scenario_video(scenario, video);
  check_video(video, scenario);
  if (o.keep_video) fs::copy_file(video, *o.keep_video, fs::copy_options::overwrite_existing);
  std::cerr << "bench recognition: " << scenario.frames << " frames (" << scenario.frames / scenario.options.fps
            << " s), " << scenario.visits.size() << " visits, rendered to " << video.string() << "\n";

  Settings settings = config.settings;
  settings.recognition.sighting_cooldown_s = 2;
  auto database = storage::open_sqlite_database(temp / "safelynx.db", {});
  storage::MediaStore media(temp);
  index::TieredIndex index;
  EventBus events;
  gallery::Gallery gallery(*database, media, index, events, {config.gallery_capacity});
  const Enrolment enrolment = enrol(scenario, config, models, settings.detection.min_score, gallery);
  std::cerr << "bench recognition: enrolled " << enrolment.people.size() << " people, " << enrolment.photos
            << " photos (detected box / crop side " << enrolment.box_to_crop << ")\n";

  const Camera camera = create_file_camera(*database, "bench recognition", video);
  Observer observer(camera.id, enrolment.people);
  const auto subscription = events.subscribe([&](const DomainEvent& event) { observer.on(event); });

  pipeline::PipelineMetrics metrics;
  pipeline::PipelineOptions options = config.pipeline;
  options.models_dir = models;
  options.files_in_realtime = true;
  options.files_loop = false;
  options.record = false;
  options.file_roots = {video.parent_path()};
  FrameClock clock(scenario.options.fps);
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  pipeline::PipelineStats stats;
  {
    pipeline::Pipeline live(
        pipeline::PipelineServices{*database, media, events, gallery, metrics, [&] { return settings; },
                                   [] { return Uuid::random(); },
                                   [](const std::string& level, const std::string& message) {
                                     if (level != "info") std::cerr << level << ": " << message << "\n";
                                   }},
        options);
    stats = play(live, camera, clock, scenario.frames / scenario.options.fps);
    live.shutdown();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;

  const RecognitionScore score = score_recognition(scenario, observer.run(clock));
  print_table(scenario, score);
  const double share = score.enrolled_appearances ? double(score.named_within) / score.enrolled_appearances : 1.0;
  json per_stranger = json::object(), re_recognised = json::object();
  for (const StrangerScore& s : score.strangers) {
    per_stranger[s.name] = s.unknown_profiles;
    re_recognised[s.name] = s.re_recognised;
  }
  json uncertain = json::array();  // per appearance announced uncertain: who it was near
  for (std::size_t a = 0; a < scenario.appearances.size(); ++a) {
    const AppearanceScore& r = score.appearances[a];
    if (r.uncertain == 0) continue;
    json near = json::object();
    for (const auto& [name, distance] : r.uncertain_between) near[name] = round_to(distance, 3);
    uncertain.push_back({{"person", scenario.people[static_cast<std::size_t>(scenario.appearances[a].person)].name},
                         {"visit", scenario.appearances[a].visit + 1}, {"times", r.uncertain}, {"nearest", near}});
  }
  json times = json::array();  // per enrolled appearance, in the video's order; null: never named
  for (std::size_t a = 0; a < scenario.appearances.size(); ++a) {
    if (!scenario.people[static_cast<std::size_t>(scenario.appearances[a].person)].enrolled) continue;
    const auto& t = score.appearances[a].time_to_name_s;
    times.push_back(t ? json(round_to(*t, 2)) : json(nullptr));
  }
  const auto pairs = std::count_if(scenario.visits.begin(), scenario.visits.end(),
                                   [](const Visit& v) { return v.appearances.size() > 1; });
  json line = {
      {"seed", o.seed},
      {"enrolled", o.enrolled},
      {"strangers", o.strangers},
      {"shots", o.shots},
      {"visits", scenario.visits.size()},
      {"pair_visits", pairs},
      {"video_s", round_to(scenario.frames / scenario.options.fps, 2)},
      {"match_threshold", round_to(settings.recognition.match_threshold, 3)},
      {"min_margin", round_to(settings.recognition.min_margin, 3)},
      {"stranger_threshold", round_to(settings.recognition.stranger_threshold, 3)},
      {"enrolled_photos", enrolment.photos},
      {"enrolled_appearances", score.enrolled_appearances},
      {"named_correctly", score.named_correctly},
      {"named_within_1s", score.named_within},
      {"named_within_1s_share", round_to(share, 3)},
      {"time_to_name_p50_s", round_to(percentile(score.times_to_name_s, 50), 2)},
      {"time_to_name_p95_s", round_to(percentile(score.times_to_name_s, 95), 2)},
      {"times_to_name_s", times},
      {"wrong_names", score.wrong_names},
      {"wrong_names_published", score.wrong_names_published},
      {"wrong", wrong_json(score.wrong)},
      {"unknown_profiles_per_stranger", per_stranger},
      {"re_recognised", re_recognised},
      {"unknown_profiles", score.unknown_profiles},
      {"unknown_profiles_created", observer.created()},
      {"enrolled_as_unknown", score.enrolled_as_unknown},
      {"unattributed_unknown", score.unattributed_unknown},
      {"uncertain_faces", observer.uncertain()},
      {"uncertain", uncertain},
      {"corrections", observer.corrections()},
      {"sightings_corrected", observer.corrected_sightings()},
      {"sightings_outside_visits", score.sightings_outside_visits},
      {"frames_in", stats.frames_in},
      {"frames_processed", stats.frames_processed},
      {"frames_dropped", stats.frames_dropped},
      {"cpu_pct", round_to(100.0 * cpu / seconds, 1)},
      {"seconds", round_to(seconds, 2)},
      {"targets",
       {{"named_within_1s_95pct", share >= 0.95},
        {"no_wrong_names", score.wrong_names_published == 0},
        {"one_unknown_profile_per_stranger", score.all_strangers_once()},
        {"strangers_re_recognised", score.all_strangers_re_recognised()}}},
  };
  std::cout << line.dump() << std::endl;
  return kExitOk;
}

}  // namespace safelynx::app
