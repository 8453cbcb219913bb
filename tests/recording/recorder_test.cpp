#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "recording/mp4_recovery.hpp"
#include "recording/mp4_writer.hpp"
#include "recording/recorder.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::recording {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr int kFps = 10;
constexpr auto kFrameInterval = 100ms;
const TimePoint kT0 = from_unix_ms(1'700'000'000'000);

template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = 8s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TimePoint frame_time(int index) { return kT0 + index * kFrameInterval; }

// Frame `index`: its number as 8 big black/white blocks along the top (they
// survive lossy compression) and a rectangle that moves with it.
cv::Mat make_frame(int index) {
  cv::Mat image(kHeight, kWidth, CV_8UC3, cv::Scalar(90, 120, 60));
  for (int bit = 0; bit < 8; ++bit) {
    const bool on = (index >> bit) & 1;
    cv::rectangle(image, cv::Rect(bit * 40, 0, 40, 40), on ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0),
                  cv::FILLED);
  }
  cv::rectangle(image, cv::Rect((index * 7) % (kWidth - 60), 120, 60, 60), cv::Scalar(0, 0, 255), cv::FILLED);
  cv::putText(image, std::to_string(index), cv::Point(10, 220), cv::FONT_HERSHEY_SIMPLEX, 1.0,
              cv::Scalar(255, 255, 255), 2);
  return image;
}

int frame_index(const cv::Mat& image) {
  int index = 0;
  for (int bit = 0; bit < 8; ++bit) {
    const cv::Scalar mean = cv::mean(image(cv::Rect(bit * 40 + 8, 8, 24, 24)));
    if ((mean[0] + mean[1] + mean[2]) / 3 > 128) index |= 1 << bit;
  }
  return index;
}

struct Video {
  bool opened = false;
  std::string fourcc;
  double fps = 0;
  std::vector<int> indices;  // of every decoded frame
};

Video read_video(const fs::path& path) {
  Video video;
  cv::VideoCapture capture(path.string(), cv::CAP_FFMPEG);
  video.opened = capture.isOpened();
  if (!video.opened) return video;
  const int fourcc = static_cast<int>(capture.get(cv::CAP_PROP_FOURCC));
  for (int i = 0; i < 4; ++i) video.fourcc += static_cast<char>((fourcc >> (8 * i)) & 0xff);
  video.fps = capture.get(cv::CAP_PROP_FPS);
  cv::Mat frame;
  while (capture.read(frame)) {
    EXPECT_EQ(frame.size(), cv::Size(kWidth, kHeight));
    video.indices.push_back(frame_index(frame));
  }
  return video;
}

// What the listener heard, with waits for the recorder thread.
struct Events {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Recording> started;
  std::vector<Recording> finished;
  std::vector<std::string> errors;

  RecorderListener listener() {
    RecorderListener listener;
    listener.started = [this](const Recording& r) { add(started, r); };
    listener.finished = [this](const Recording& r) { add(finished, r); };
    listener.error = [this](const std::string& m) { add(errors, m); };
    return listener;
  }
  template <typename T>
  void add(std::vector<T>& list, const T& item) {
    {
      std::lock_guard lock(mutex);
      list.push_back(item);
    }
    changed.notify_all();
  }
  bool wait_finished(std::size_t count, std::chrono::milliseconds timeout = 8s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return finished.size() >= count; });
  }
  bool wait_errors(std::size_t count, std::chrono::milliseconds timeout = 8s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return errors.size() >= count; });
  }
};

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("safelynx-recorder-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RecorderOptions options(int pre_s, int post_s, int max_s = 300) const {
    RecorderOptions o;
    o.recordings_dir = dir_ / "recordings";
    o.timing.pre_buffer = std::chrono::seconds(pre_s);
    o.timing.post_buffer = std::chrono::seconds(post_s);
    o.timing.max_segment = std::chrono::seconds(max_s);
    o.queue_capacity = 1000;  // no drops unless a test wants them
    return o;
  }

  static void push_frames(CameraRecorder& recorder, int from, int to) {  // [from, to]
    for (int i = from; i <= to; ++i) recorder.push(make_frame(i), frame_time(i));
  }

  fs::path dir_;
  const Uuid camera_ = Uuid::parse("6f1c1a52-8d0e-4c1b-9a57-0d6c7a1e2b3c");
};

TEST_F(RecorderTest, TriggerWritesPreAndPostBufferAsH264) {
  Events events;
  CameraRecorder recorder(camera_, options(2, 1), events.listener());
  push_frames(recorder, 0, 30);  // 3 s of frames at 10 fps (fps measured, not configured)
  const RecordingMoment moment = recorder.trigger(frame_time(30));
  EXPECT_FALSE(moment.recording_id.is_nil());
  EXPECT_NEAR(moment.offset_s, 2.0, 1e-9);
  EXPECT_TRUE(recorder.recording());
  push_frames(recorder, 31, 45);  // frame 41 is past the deadline (4.0 s) and closes the segment
  ASSERT_TRUE(events.wait_finished(1));
  EXPECT_EQ(recorder.codec(), "avc1");

  std::lock_guard lock(events.mutex);
  ASSERT_EQ(events.started.size(), 1u);
  ASSERT_EQ(events.finished.size(), 1u);
  EXPECT_TRUE(events.errors.empty()) << events.errors.front();
  const Recording& started = events.started[0];
  const Recording& finished = events.finished[0];
  EXPECT_EQ(started.id, moment.recording_id);
  EXPECT_EQ(finished.id, moment.recording_id);
  EXPECT_EQ(started.camera_id, camera_);
  EXPECT_EQ(started.start, frame_time(10));
  EXPECT_FALSE(started.end.has_value());
  EXPECT_EQ(started.size_bytes, 0u);
  const std::string file = camera_.to_string() + "/" + moment.recording_id.to_string() + ".mp4";
  EXPECT_EQ(started.file, file);
  EXPECT_EQ(finished.file, file);
  EXPECT_EQ(finished.start, frame_time(10));
  ASSERT_TRUE(finished.end.has_value());
  EXPECT_EQ(*finished.end, frame_time(41));  // last frame (40) + one frame
  const fs::path path = dir_ / "recordings" / file;
  ASSERT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir_ / "recordings" / camera_.to_string() /
                          (moment.recording_id.to_string() + ".partial.mp4")));
  EXPECT_EQ(finished.size_bytes, fs::file_size(path));

  const Video video = read_video(path);
  ASSERT_TRUE(video.opened);
  // Chromium plays H.264 in MP4; a machine without the encoder must fail here.
  EXPECT_TRUE(video.fourcc == "avc1" || video.fourcc == "h264") << "fourcc read back: " << video.fourcc;
  EXPECT_NEAR(video.fps, kFps, 0.01);
  EXPECT_NEAR(static_cast<double>(video.indices.size()), (2 + 1) * kFps, 2);
  ASSERT_FALSE(video.indices.empty());
  EXPECT_EQ(video.indices.front(), 10);  // 2 s before the trigger
  EXPECT_EQ(video.indices.back(), 40);
  // Frame k of the video is the moment at offset k / fps.
  EXPECT_EQ(video.indices[static_cast<std::size_t>(moment.offset_s * kFps)], 30);
}

TEST_F(RecorderTest, RepeatedTriggersExtendOneSegment) {
  Events events;
  CameraRecorder recorder(camera_, options(1, 1), events.listener());
  push_frames(recorder, 0, 20);
  const RecordingMoment first = recorder.trigger(frame_time(20));
  push_frames(recorder, 21, 25);
  const RecordingMoment second = recorder.trigger(frame_time(25));
  push_frames(recorder, 26, 30);
  const RecordingMoment third = recorder.trigger(frame_time(30));
  push_frames(recorder, 31, 50);  // deadline 4.0 s: frame 41 closes
  ASSERT_TRUE(events.wait_finished(1));
  EXPECT_EQ(second.recording_id, first.recording_id);
  EXPECT_EQ(third.recording_id, first.recording_id);
  EXPECT_NEAR(first.offset_s, 1.0, 1e-9);
  EXPECT_NEAR(second.offset_s, 1.5, 1e-9);
  EXPECT_NEAR(third.offset_s, 2.0, 1e-9);
  recorder.stop();

  std::lock_guard lock(events.mutex);
  ASSERT_EQ(events.started.size(), 1u);
  ASSERT_EQ(events.finished.size(), 1u);
  const Video video = read_video(dir_ / "recordings" / events.finished[0].file);
  ASSERT_FALSE(video.indices.empty());
  EXPECT_EQ(video.indices.front(), 10);
  EXPECT_EQ(video.indices.back(), 40);
  EXPECT_EQ(video.indices.size(), 31u);
}

TEST_F(RecorderTest, MaxSegmentSplitsIntoTwoSegments) {
  Events events;
  CameraRecorder recorder(camera_, options(1, 2, 2), events.listener());
  push_frames(recorder, 0, 10);
  const RecordingMoment first = recorder.trigger(frame_time(10));  // starts at frame 0, splits at 2.0 s
  push_frames(recorder, 11, 25);
  // Past the first segment's 2 s: the moment is in the segment that follows
  // it, whether or not the thread has split yet.
  const RecordingMoment second = recorder.trigger(frame_time(25));
  push_frames(recorder, 26, 39);  // the deadline is 4.5 s: stop() closes the second segment
  recorder.stop();
  ASSERT_TRUE(events.wait_finished(2, 1s));

  EXPECT_NEAR(first.offset_s, 1.0, 1e-9);
  EXPECT_NEAR(second.offset_s, 0.5, 1e-9);
  EXPECT_NE(first.recording_id, second.recording_id);
  std::lock_guard lock(events.mutex);
  ASSERT_EQ(events.started.size(), 2u);
  ASSERT_EQ(events.finished.size(), 2u);
  EXPECT_EQ(events.started[0].id, first.recording_id);
  EXPECT_EQ(events.started[1].id, second.recording_id);
  EXPECT_EQ(events.finished[0].id, first.recording_id);
  EXPECT_EQ(events.finished[1].id, second.recording_id);
  EXPECT_EQ(events.started[1].start, frame_time(20));
  EXPECT_EQ(events.finished[0].end, frame_time(20));

  const Video a = read_video(dir_ / "recordings" / events.finished[0].file);
  const Video b = read_video(dir_ / "recordings" / events.finished[1].file);
  ASSERT_EQ(a.indices.size(), 20u);
  EXPECT_EQ(a.indices.front(), 0);
  EXPECT_EQ(a.indices.back(), 19);
  ASSERT_EQ(b.indices.size(), 20u);
  EXPECT_EQ(b.indices.front(), 20);
  EXPECT_EQ(b.indices.back(), 39);
}

TEST_F(RecorderTest, StopFinishesAPlayableFile) {
  Events events;
  auto recorder = std::make_unique<CameraRecorder>(camera_, options(1, 10), events.listener());
  push_frames(*recorder, 0, 20);
  const RecordingMoment moment = recorder->trigger(frame_time(20));
  push_frames(*recorder, 21, 30);
  recorder->stop();
  // finished came from the thread before stop() returned.
  {
    std::lock_guard lock(events.mutex);
    ASSERT_EQ(events.finished.size(), 1u);
    EXPECT_EQ(events.finished[0].id, moment.recording_id);
    EXPECT_EQ(events.finished[0].end, frame_time(31));
  }
  EXPECT_FALSE(recorder->recording());
  recorder->stop();  // idempotent
  recorder->push(make_frame(31), frame_time(31));  // ignored, no throw
  EXPECT_TRUE(recorder->trigger(frame_time(31)).recording_id.is_nil());
  recorder.reset();  // the destructor stops again
  const Video video = read_video(dir_ / "recordings" / events.finished[0].file);
  ASSERT_TRUE(video.opened);
  ASSERT_EQ(video.indices.size(), 21u);
  EXPECT_EQ(video.indices.front(), 10);
  EXPECT_EQ(video.indices.back(), 30);
  EXPECT_EQ(events.finished.size(), 1u);
}

TEST_F(RecorderTest, SilentCameraClosesTheSegment) {
  Events events;
  CameraRecorder recorder(camera_, options(1, 1), events.listener());
  push_frames(recorder, 0, 20);
  recorder.trigger(frame_time(20));
  // No frame after this: max(post_buffer, 2 s) later the segment is finished.
  ASSERT_TRUE(events.wait_finished(1, 6s));
  EXPECT_FALSE(recorder.recording());
  const Video video = read_video(dir_ / "recordings" / events.finished[0].file);
  ASSERT_EQ(video.indices.size(), 11u);
  EXPECT_EQ(video.indices.front(), 10);
}

TEST_F(RecorderTest, FullQueueDropsAndCounts) {
  Events events;
  std::mutex gate_mutex;
  std::condition_variable gate_changed;
  bool in_started = false;
  bool released = false;
  RecorderListener listener = events.listener();
  listener.started = [&](const Recording& r) {
    std::unique_lock lock(gate_mutex);
    in_started = true;
    gate_changed.notify_all();
    gate_changed.wait(lock, [&] { return released; });
    lock.unlock();
    events.add(events.started, r);
  };
  RecorderOptions o = options(1, 10);
  o.queue_capacity = 5;
  o.fps = kFps;
  CameraRecorder recorder(camera_, o, listener);
  recorder.push(make_frame(0), frame_time(0));
  recorder.trigger(frame_time(0));
  {
    std::unique_lock lock(gate_mutex);
    ASSERT_TRUE(gate_changed.wait_for(lock, 5s, [&] { return in_started; }));
  }
  // The thread is held in the listener: 5 frames fit, 15 are refused.
  push_frames(recorder, 1, 20);
  EXPECT_EQ(recorder.frames_dropped(), 15u);
  {
    std::lock_guard lock(gate_mutex);
    released = true;
  }
  gate_changed.notify_all();
  recorder.stop();
  std::lock_guard lock(events.mutex);
  ASSERT_EQ(events.finished.size(), 1u);
  const Video video = read_video(dir_ / "recordings" / events.finished[0].file);
  ASSERT_EQ(video.indices.size(), 6u);
  EXPECT_EQ(video.indices.back(), 5);
}

TEST_F(RecorderTest, UnwritableFolderIsReportedAndRecordingGoesOn) {
  Events events;
  RecorderOptions o = options(1, 1);
  std::ofstream(dir_ / "not-a-folder") << "x";
  o.recordings_dir = dir_ / "not-a-folder" / "recordings";
  CameraRecorder recorder(camera_, o, events.listener());
  push_frames(recorder, 0, 20);
  const RecordingMoment first = recorder.trigger(frame_time(20));
  EXPECT_FALSE(first.recording_id.is_nil());
  push_frames(recorder, 21, 40);  // past the deadline: the lost segment closes
  ASSERT_TRUE(events.wait_errors(1));
  ASSERT_TRUE(wait_until([&] { return !recorder.recording(); }));
  const RecordingMoment second = recorder.trigger(frame_time(40));
  EXPECT_NE(second.recording_id, first.recording_id);
  push_frames(recorder, 41, 60);
  ASSERT_TRUE(events.wait_errors(2));
  EXPECT_NO_THROW(recorder.push(make_frame(61), frame_time(61)));
  recorder.stop();

  std::lock_guard lock(events.mutex);
  EXPECT_TRUE(events.started.empty());
  EXPECT_TRUE(events.finished.empty());
  const std::string folder = (o.recordings_dir / camera_.to_string()).string();
  EXPECT_NE(events.errors[0].find(folder), std::string::npos) << events.errors[0];
  EXPECT_NE(events.errors[0].find(first.recording_id.to_string()), std::string::npos) << events.errors[0];
  EXPECT_NE(events.errors[1].find(second.recording_id.to_string()), std::string::npos) << events.errors[1];
}

// --- repair_recordings --------------------------------------------------------

class RepairRecordingsTest : public RecorderTest {
 protected:
  void write_video(const fs::path& path, int frames) {
    fs::create_directories(path.parent_path());
    cv::VideoWriter writer(path.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), kFps,
                           cv::Size(kWidth, kHeight));
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < frames; ++i) writer.write(make_frame(i));
  }
  Recording row(const Uuid& id, std::optional<TimePoint> end) const {
    return Recording{id, camera_, kT0, end, camera_.to_string() + "/" + id.to_string() + ".mp4", 0};
  }
  fs::path cam_dir() const { return dir_ / "recordings" / camera_.to_string(); }
};

TEST_F(RepairRecordingsTest, RepairsPlayableRowsAndRemovesBrokenOnes) {
  auto database = storage::open_sqlite_database(dir_ / "safelynx.db", {});
  auto& recordings = database->recordings();
  const Uuid complete = Uuid::parse("00000000-0000-4000-8000-000000000001");
  const Uuid broken = Uuid::parse("00000000-0000-4000-8000-000000000002");
  const Uuid finished = Uuid::parse("00000000-0000-4000-8000-000000000003");
  const Uuid unrenamed = Uuid::parse("00000000-0000-4000-8000-000000000004");
  const Uuid missing = Uuid::parse("00000000-0000-4000-8000-000000000005");

  // A file that was closed but whose row was never finished.
  write_video(cam_dir() / (complete.to_string() + ".mp4"), 25);
  recordings.create(row(complete, std::nullopt));
  // Killed while writing: the partial file has no MP4 index.
  write_video(cam_dir() / "full.mp4", 25);
  {
    std::ifstream in(cam_dir() / "full.mp4", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cam_dir() / (broken.to_string() + ".partial.mp4"), std::ios::binary)
        << bytes.substr(0, bytes.size() / 2);
  }
  fs::remove(cam_dir() / "full.mp4");
  recordings.create(row(broken, std::nullopt));
  // Finished rows are left alone.
  write_video(cam_dir() / (finished.to_string() + ".mp4"), 5);
  Recording done = row(finished, kT0 + 500ms);
  done.size_bytes = 1234;
  recordings.create(done);
  // Killed between release() and the rename: the partial file plays.
  write_video(cam_dir() / (unrenamed.to_string() + ".partial.mp4"), 10);
  recordings.create(row(unrenamed, std::nullopt));
  // No file at all.
  recordings.create(row(missing, std::nullopt));
  // A partial file no row names.
  const fs::path orphan = cam_dir() / "11111111-1111-4111-8111-111111111111.partial.mp4";
  std::ofstream(orphan) << "garbage";

  const auto lines = repair_recordings(dir_ / "recordings", recordings);
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  EXPECT_EQ(lines.size(), 5u) << all;

  const auto repaired = recordings.find(complete);
  ASSERT_TRUE(repaired.has_value());
  ASSERT_TRUE(repaired->end.has_value());
  EXPECT_EQ(*repaired->end, kT0 + 2500ms);
  EXPECT_EQ(repaired->size_bytes, fs::file_size(cam_dir() / (complete.to_string() + ".mp4")));

  EXPECT_FALSE(recordings.find(broken).has_value());
  EXPECT_FALSE(fs::exists(cam_dir() / (broken.to_string() + ".partial.mp4")));
  EXPECT_FALSE(recordings.find(missing).has_value());

  const auto still_done = recordings.find(finished);
  ASSERT_TRUE(still_done.has_value());
  EXPECT_EQ(still_done->end, kT0 + 500ms);
  EXPECT_EQ(still_done->size_bytes, 1234u);

  const auto renamed = recordings.find(unrenamed);
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(renamed->end, kT0 + 1000ms);
  EXPECT_TRUE(fs::exists(cam_dir() / (unrenamed.to_string() + ".mp4")));
  EXPECT_FALSE(fs::exists(cam_dir() / (unrenamed.to_string() + ".partial.mp4")));

  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_NE(all.find(orphan.string()), std::string::npos) << all;

  // A second pass finds nothing to do.
  EXPECT_TRUE(repair_recordings(dir_ / "recordings", recordings).empty());
}

// A fragmented MP4 cut anywhere (a crash mid-write) keeps its complete
// fragments: after trimming, every frame they hold decodes, in order.
TEST_F(RepairRecordingsTest, ACutFragmentedFileKeepsItsCompleteFragments) {
  const fs::path whole = dir_ / "whole.mp4";
  {
    Mp4Writer writer(whole, cv::Size(kWidth, kHeight), Mp4WriterOptions{kFps});
    for (int i = 0; i < 60; ++i) writer.write(make_frame(i));
    writer.finish();
  }
  const Mp4Probe full = probe_mp4(whole);
  ASSERT_TRUE(full.plays);
  EXPECT_EQ(full.frames, 60u);
  EXPECT_NEAR(full.seconds, 6.0, 1e-6);
  EXPECT_EQ(trim_to_complete_fragments(whole), 0u) << "a finished file lost bytes";

  std::ifstream in(whole, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto cut_at = [&](double fraction) {
    const fs::path cut = dir_ / ("cut-" + std::to_string(static_cast<int>(fraction * 100)) + ".mp4");
    const auto length = static_cast<std::size_t>(static_cast<double>(bytes.size()) * fraction);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, length);
    trim_to_complete_fragments(cut);
    EXPECT_LE(fs::file_size(cut), length);
    return cut;
  };
  // Cut inside the first fragment (its keyframe): nothing plays, the repair deletes it.
  EXPECT_FALSE(probe_mp4(cut_at(0.03)).plays);
  std::uint64_t previous = 0;
  for (const double fraction : {0.5, 0.7, 0.9, 0.97}) {
    const fs::path cut = cut_at(fraction);
    const Mp4Probe probe = probe_mp4(cut);
    ASSERT_TRUE(probe.plays) << "nothing plays in the first " << fraction * 100 << "% of the file";
    EXPECT_LE(probe.frames, 60u);
    EXPECT_GE(probe.frames, previous);
    EXPECT_NEAR(probe.seconds, static_cast<double>(probe.frames) / kFps, 1e-6);
    previous = probe.frames;
    const Video video = read_video(cut);
    ASSERT_EQ(video.indices.size(), probe.frames) << cut;
    for (std::size_t i = 0; i < video.indices.size(); ++i) ASSERT_EQ(video.indices[i], static_cast<int>(i)) << cut;
  }
  // Fragments hold about a second each: a cut at 97% loses little.
  EXPECT_GE(previous, 60u - 2 * kFps);
}

// The child half of RecordingKilledWhileWritingIsKeptUpToItsLastFragment:
// records a frame every 100 ms, noting how many it pushed, until killed.
// Disabled so that it runs only when the parent starts it.
TEST_F(RecorderTest, DISABLED_CrashChildRecordsUntilKilled) {
  const char* dir_text = std::getenv("SAFELYNX_RECORDER_CRASH_DIR");
  if (!dir_text) GTEST_SKIP() << "started by RecordingKilledWhileWritingIsKeptUpToItsLastFragment";
  const fs::path dir = dir_text;
  auto database = storage::open_sqlite_database(dir / "safelynx.db", {});
  RecorderListener listener;
  // As the pipeline does: the row exists before the first frame is written.
  listener.started = [&](const Recording& r) { database->recordings().create(r); };
  RecorderOptions o = options(1, 600);
  o.recordings_dir = dir / "recordings";
  o.fps = kFps;
  CameraRecorder recorder(camera_, o, listener);
  for (int i = 0;; ++i) {
    recorder.push(make_frame(i % 256), frame_time(i));
    if (i == 10) recorder.trigger(frame_time(i));  // the segment starts at frame 0
    {
      std::ofstream progress(dir / "pushed.tmp");
      progress << i;
    }
    fs::rename(dir / "pushed.tmp", dir / "pushed");
    std::this_thread::sleep_for(kFrameInterval);
  }
}

// kill -9 of a recording process: the next start keeps its recording, under
// its row and name, with all but the last fragment or so of its frames.
TEST_F(RepairRecordingsTest, RecordingKilledWhileWritingIsKeptUpToItsLastFragment) {
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string filter = "--gtest_filter=RecorderTest.DISABLED_CrashChildRecordsUntilKilled";
  const std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) env_text.emplace_back(*e);
  env_text.push_back("SAFELYNX_RECORDER_CRASH_DIR=" + dir_.string());
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>(filter.c_str()),
                          const_cast<char*>(disabled.c_str()), nullptr};
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);  // the child's gtest report is noise here
    if (null >= 0) ::dup2(null, STDOUT_FILENO);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  auto pushed = [&] {
    std::ifstream in(dir_ / "pushed");
    int count = -1;
    in >> count;
    return count;
  };
  // About 6 s of video: frame 0 to at least 60 (the segment holds them all).
  const bool ran = wait_until([&] { return pushed() >= 60; }, 60s);
  int status = 0;
  if (!ran) ::waitpid(child, &status, WNOHANG);
  const int last_pushed = pushed();
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(ran) << "the recording child did not get to frame 60 (at " << last_pushed << ")";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child ended by itself: " << status;

  auto database = storage::open_sqlite_database(dir_ / "safelynx.db", {});
  auto& recordings = database->recordings();
  const auto rows = recordings.list(storage::RecordingFilter{}, storage::Page{1, 10});
  ASSERT_EQ(rows.items.size(), 1u);
  const Recording open = rows.items[0];
  EXPECT_FALSE(open.end.has_value());
  const fs::path partial = cam_dir() / (open.id.to_string() + ".partial.mp4");
  const fs::path final_path = dir_ / "recordings" / open.file;
  ASSERT_TRUE(fs::exists(partial));

  const auto lines = repair_recordings(dir_ / "recordings", recordings);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("repaired recording " + open.id.to_string()), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(partial));
  ASSERT_TRUE(fs::exists(final_path));

  const Video video = read_video(final_path);
  ASSERT_TRUE(video.opened);
  const int written = last_pushed + 1;  // frames 0 .. last_pushed
  const int kept = static_cast<int>(video.indices.size());
  std::printf("[          ] killed after frame %d: %d of %d frames kept, %.1f s of video lost\n", last_pushed, kept,
              written, static_cast<double>(written - kept) / kFps);
  // A fragment is about 1 s; the rest is the encoder thread's lag on a busy machine.
  EXPECT_GE(kept, written - 3 * kFps) << lines[0];
  EXPECT_LE(kept, written);
  for (int i = 0; i < kept; ++i) ASSERT_EQ(video.indices[static_cast<std::size_t>(i)], i);

  const auto repaired = recordings.find(open.id);
  ASSERT_TRUE(repaired.has_value()) << "the row sightings point to is gone";
  ASSERT_TRUE(repaired->end.has_value());
  EXPECT_EQ(*repaired->end, open.start + std::chrono::milliseconds(kept * 1000 / kFps));
  EXPECT_EQ(repaired->file, open.file);
  EXPECT_EQ(repaired->size_bytes, fs::file_size(final_path));
  EXPECT_TRUE(repair_recordings(dir_ / "recordings", recordings).empty());
}

}  // namespace
}  // namespace safelynx::recording
