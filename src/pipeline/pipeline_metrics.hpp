// What the pipeline reports at GET /metrics (Prometheus text format, through
// prometheus-cpp): stage durations, detections and matches, the index size,
// and per camera its fps, queue depth, dropped frames and end-to-end latency.
// Every method is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace safelynx::pipeline {

class PipelineMetrics {
 public:
  PipelineMetrics();
  ~PipelineMetrics();
  PipelineMetrics(const PipelineMetrics&) = delete;
  PipelineMetrics& operator=(const PipelineMetrics&) = delete;

  void observe_detection_ms(double ms);
  void observe_embedding_ms(double ms);  // per face
  void observe_matching_ms(double ms);
  void add_faces_detected(double count);
  void add_profiles_matched(double count);
  void add_profiles_created(double count);
  void add_sightings(double count);
  void add_sightings_corrected(double count);
  // A decision on a track's faces: its distance and margin (decide()).
  void observe_match(double distance, double margin);
  void observe_time_to_name_s(double seconds);  // first face of a track to its name
  void set_embedding_cache_size(double embeddings);
  void set_active_camera_streams(double cameras);
  void set_stage_queue_depth(const std::string& stage, double depth);

  // Per camera (label camera="<id>").
  void set_camera_fps(const std::string& camera, double fps);
  void set_camera_queue_depth(const std::string& camera, double depth);
  void add_camera_frames(const std::string& camera, double captured, double dropped, double processed);
  void observe_end_to_end_ms(const std::string& camera, double ms);
  // "named" | "uncertain" | "stranger", per decision on a described face.
  void add_match_decision(const std::string& camera, const std::string& verdict);
  // A stranger's track kept from becoming an unknown profile, by the gate
  // that stopped it ("small", "low_score", "sharpness", "not_confirmed", "uncertain").
  void add_unknown_rejected(const std::string& camera, const std::string& gate);
  // Feedback given on a sighting, by verdict ("is" | "is_not"); counted by
  // the API, which serve wires to these metrics.
  void add_feedback(const std::string& verdict);
  // The camera's series disappear (it was stopped or deleted).
  void remove_camera(const std::string& camera);

  // Everything, in the Prometheus text exposition format.
  std::string serialize() const;

 private:
  struct CameraSeries;
  CameraSeries& camera(const std::string& id);  // mutex_ held

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* detection_ms_;
  prometheus::Histogram* embedding_ms_;
  prometheus::Histogram* matching_ms_;
  prometheus::Counter* faces_detected_;
  prometheus::Counter* profiles_matched_;
  prometheus::Counter* profiles_created_;
  prometheus::Counter* sightings_;
  prometheus::Counter* sightings_corrected_;
  prometheus::Histogram* match_distance_;
  prometheus::Histogram* match_margin_;
  prometheus::Histogram* time_to_name_;
  prometheus::Family<prometheus::Counter>* match_decisions_;
  prometheus::Family<prometheus::Counter>* unknown_rejected_;
  prometheus::Family<prometheus::Counter>* feedback_;
  prometheus::Gauge* embedding_cache_size_;
  prometheus::Gauge* active_streams_;
  prometheus::Family<prometheus::Gauge>* stage_queue_depth_;
  prometheus::Family<prometheus::Gauge>* camera_fps_;
  prometheus::Family<prometheus::Gauge>* camera_queue_depth_;
  prometheus::Family<prometheus::Counter>* camera_frames_;
  prometheus::Family<prometheus::Counter>* camera_dropped_;
  prometheus::Family<prometheus::Counter>* camera_processed_;
  prometheus::Family<prometheus::Histogram>* end_to_end_ms_;

  mutable std::mutex mutex_;
  std::map<std::string, prometheus::Gauge*> stage_depths_;
  std::map<std::string, std::unique_ptr<CameraSeries>> cameras_;
};

}  // namespace safelynx::pipeline
