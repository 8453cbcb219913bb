#include "pipeline/pipeline_metrics.hpp"

#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace safelynx::pipeline {

namespace {

// Milliseconds: stage times are a few ms to a few hundred.
const prometheus::Histogram::BucketBoundaries kStageBuckets{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000};
// End to end includes queueing: up to seconds under overload.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets{10, 25, 50, 100, 150, 250, 500, 700, 1000, 2000, 5000, 10000};

// L2 distances and margins of the descriptor, time to name in seconds.
const prometheus::Histogram::BucketBoundaries kDistanceBuckets{0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 1.0};
const prometheus::Histogram::BucketBoundaries kMarginBuckets{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0};
const prometheus::Histogram::BucketBoundaries kTimeToNameBuckets{0.1, 0.25, 0.5, 1, 2, 5, 10, 30};

}  // namespace

struct PipelineMetrics::CameraSeries {
  prometheus::Gauge* fps;
  prometheus::Gauge* queue_depth;
  prometheus::Counter* frames;
  prometheus::Counter* dropped;
  prometheus::Counter* processed;
  prometheus::Histogram* end_to_end;
  std::map<std::string, prometheus::Counter*> decisions;  // by verdict
  std::map<std::string, prometheus::Counter*> rejected;   // by gate
};

PipelineMetrics::PipelineMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  detection_ms_ = &prometheus::BuildHistogram().Name("face_detection_duration_ms").Help("Face detector time per frame, ms").Register(r).Add({}, kStageBuckets);
  embedding_ms_ = &prometheus::BuildHistogram().Name("embedding_extraction_duration_ms").Help("Landmarks and descriptor time per face, ms").Register(r).Add({}, kStageBuckets);
  matching_ms_ = &prometheus::BuildHistogram().Name("face_matching_duration_ms").Help("Tracking and index search per frame, ms").Register(r).Add({}, kStageBuckets);
  faces_detected_ = &prometheus::BuildCounter().Name("faces_detected_total").Help("Faces found by the detector").Register(r).Add({});
  profiles_matched_ = &prometheus::BuildCounter().Name("profiles_matched_total").Help("Tracks matched to a known profile").Register(r).Add({});
  profiles_created_ = &prometheus::BuildCounter().Name("profiles_created_total").Help("Unknown profiles created from live video").Register(r).Add({});
  sightings_ = &prometheus::BuildCounter().Name("sightings_total").Help("Sightings recorded").Register(r).Add({});
  sightings_corrected_ = &prometheus::BuildCounter().Name("sightings_corrected_total").Help("Sightings re-attributed when their track turned out to be someone else").Register(r).Add({});
  match_distance_ = &prometheus::BuildHistogram().Name("match_distance").Help("Distance of a track's faces to their nearest profile, per decision").Register(r).Add({}, kDistanceBuckets);
  match_margin_ = &prometheus::BuildHistogram().Name("match_margin").Help("How much nearer the nearest profile is than the runner-up, per decision").Register(r).Add({}, kMarginBuckets);
  time_to_name_ = &prometheus::BuildHistogram().Name("time_to_name_seconds").Help("From a track's first face to its name").Register(r).Add({}, kTimeToNameBuckets);
  match_decisions_ = &prometheus::BuildCounter().Name("match_decisions_total").Help("Decisions on described faces, by verdict (named, uncertain, stranger)").Register(r);
  unknown_rejected_ = &prometheus::BuildCounter().Name("unknown_faces_rejected_total").Help("Strangers' tracks kept from becoming a profile, by quality gate").Register(r);
  feedback_ = &prometheus::BuildCounter().Name("feedback_total").Help("Feedback given on sightings, by verdict (is, is_not)").Register(r);
  embedding_cache_size_ = &prometheus::BuildGauge().Name("embedding_cache_size").Help("Embeddings in the in-memory index").Register(r).Add({});
  active_streams_ = &prometheus::BuildGauge().Name("active_camera_streams").Help("Cameras delivering frames").Register(r).Add({});
  stage_queue_depth_ = &prometheus::BuildGauge().Name("pipeline_queue_depth").Help("Items waiting before a stage").Register(r);
  camera_fps_ = &prometheus::BuildGauge().Name("camera_fps").Help("Frames per second captured, measured").Register(r);
  camera_queue_depth_ = &prometheus::BuildGauge().Name("camera_queue_depth").Help("Frames waiting for detection").Register(r);
  camera_frames_ = &prometheus::BuildCounter().Name("camera_frames_total").Help("Frames captured").Register(r);
  camera_dropped_ = &prometheus::BuildCounter().Name("camera_frames_dropped_total").Help("Frames dropped because the pipeline was behind").Register(r);
  camera_processed_ = &prometheus::BuildCounter().Name("camera_frames_processed_total").Help("Frames through detection (or skipped by motion gating and cadence)").Register(r);
  end_to_end_ms_ = &prometheus::BuildHistogram().Name("end_to_end_latency_ms").Help("Capture to match decision for frames with faces, ms").Register(r);
}

PipelineMetrics::~PipelineMetrics() = default;

void PipelineMetrics::observe_detection_ms(double ms) { detection_ms_->Observe(ms); }
void PipelineMetrics::observe_embedding_ms(double ms) { embedding_ms_->Observe(ms); }
void PipelineMetrics::observe_matching_ms(double ms) { matching_ms_->Observe(ms); }
void PipelineMetrics::add_faces_detected(double count) { faces_detected_->Increment(count); }
void PipelineMetrics::add_profiles_matched(double count) { profiles_matched_->Increment(count); }
void PipelineMetrics::add_profiles_created(double count) { profiles_created_->Increment(count); }
void PipelineMetrics::add_sightings(double count) { sightings_->Increment(count); }
void PipelineMetrics::add_sightings_corrected(double count) { sightings_corrected_->Increment(count); }
void PipelineMetrics::observe_match(double distance, double margin) {
  match_distance_->Observe(distance);
  match_margin_->Observe(margin);
}
void PipelineMetrics::observe_time_to_name_s(double seconds) { time_to_name_->Observe(seconds); }
void PipelineMetrics::set_embedding_cache_size(double embeddings) { embedding_cache_size_->Set(embeddings); }
void PipelineMetrics::set_active_camera_streams(double cameras) { active_streams_->Set(cameras); }

void PipelineMetrics::set_stage_queue_depth(const std::string& stage, double depth) {
  std::lock_guard lock(mutex_);
  auto [it, added] = stage_depths_.try_emplace(stage, nullptr);
  if (added) it->second = &stage_queue_depth_->Add({{"stage", stage}});
  it->second->Set(depth);
}

PipelineMetrics::CameraSeries& PipelineMetrics::camera(const std::string& id) {
  auto [it, added] = cameras_.try_emplace(id);
  if (added) {
    const std::map<std::string, std::string> labels{{"camera", id}};
    it->second = std::make_unique<CameraSeries>(CameraSeries{
        &camera_fps_->Add(labels), &camera_queue_depth_->Add(labels), &camera_frames_->Add(labels),
        &camera_dropped_->Add(labels), &camera_processed_->Add(labels), &end_to_end_ms_->Add(labels, kLatencyBuckets),
        {}, {}});
  }
  return *it->second;
}

void PipelineMetrics::set_camera_fps(const std::string& id, double fps) {
  std::lock_guard lock(mutex_);
  camera(id).fps->Set(fps);
}

void PipelineMetrics::set_camera_queue_depth(const std::string& id, double depth) {
  std::lock_guard lock(mutex_);
  camera(id).queue_depth->Set(depth);
}

void PipelineMetrics::add_camera_frames(const std::string& id, double captured, double dropped, double processed) {
  std::lock_guard lock(mutex_);
  CameraSeries& series = camera(id);
  if (captured > 0) series.frames->Increment(captured);
  if (dropped > 0) series.dropped->Increment(dropped);
  if (processed > 0) series.processed->Increment(processed);
}

void PipelineMetrics::observe_end_to_end_ms(const std::string& id, double ms) {
  std::lock_guard lock(mutex_);
  camera(id).end_to_end->Observe(ms);
}

void PipelineMetrics::add_match_decision(const std::string& id, const std::string& verdict) {
  std::lock_guard lock(mutex_);
  auto& counter = camera(id).decisions[verdict];
  if (!counter) counter = &match_decisions_->Add({{"camera", id}, {"verdict", verdict}});
  counter->Increment();
}

void PipelineMetrics::add_unknown_rejected(const std::string& id, const std::string& gate) {
  std::lock_guard lock(mutex_);
  auto& counter = camera(id).rejected[gate];
  if (!counter) counter = &unknown_rejected_->Add({{"camera", id}, {"gate", gate}});
  counter->Increment();
}

// Family::Add is thread-safe and gives the same counter for the same labels.
void PipelineMetrics::add_feedback(const std::string& verdict) { feedback_->Add({{"verdict", verdict}}).Increment(); }

void PipelineMetrics::remove_camera(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = cameras_.find(id);
  if (it == cameras_.end()) return;
  camera_fps_->Remove(it->second->fps);
  camera_queue_depth_->Remove(it->second->queue_depth);
  camera_frames_->Remove(it->second->frames);
  camera_dropped_->Remove(it->second->dropped);
  camera_processed_->Remove(it->second->processed);
  end_to_end_ms_->Remove(it->second->end_to_end);
  for (auto& [verdict, counter] : it->second->decisions) match_decisions_->Remove(counter);
  for (auto& [gate, counter] : it->second->rejected) unknown_rejected_->Remove(counter);
  cameras_.erase(it);
}

std::string PipelineMetrics::serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace safelynx::pipeline
