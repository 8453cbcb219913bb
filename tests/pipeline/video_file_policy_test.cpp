// Which files a file camera may read (pipeline/video_file_policy.hpp): only
// video containers under the configured folders, one message for every path
// that is missing, unreadable or outside them.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "pipeline/frame_source.hpp"
#include "pipeline/video_file_policy.hpp"

namespace safelynx::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kClip = SAFELYNX_TESTDATA_DIR "/video/short_hamilton_clip.mp4";

class VideoFilePolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kClip)) GTEST_SKIP() << "shared test video not found at " << kClip;
    base_ = fs::temp_directory_path() / ("safelynx-video-policy-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(root() / "sub");
    fs::create_directories(base_ / "outside");
    fs::create_directories(base_ / "root-evil");
    fs::copy_file(kClip, root() / "clip.mp4");
    fs::copy_file(kClip, base_ / "outside" / "clip.mp4");
    fs::copy_file(kClip, base_ / "root-evil" / "clip.mp4");
  }
  void TearDown() override {
    std::error_code ignored;
    if (!base_.empty()) fs::remove_all(base_, ignored);
  }
  fs::path root() const { return base_ / "root"; }
  std::vector<fs::path> roots() const { return {root()}; }

  // The refusal's message, or "" when the file is accepted.
  std::string refusal(const std::string& path) const {
    try {
      check_video_file(path, roots());
      return "";
    } catch (const VideoFileRefused& refused) {
      return refused.what();
    }
  }

  fs::path base_;
};

TEST_F(VideoFilePolicy, AVideoUnderARootIsOpenedThroughItsDescriptor) {
  EXPECT_EQ(refusal((root() / "clip.mp4").string()), "");
  fs::create_symlink(root() / "clip.mp4", root() / "sub" / "alias.mp4");  // a link that stays inside
  EXPECT_EQ(refusal((root() / "sub" / "alias.mp4").string()), "");
  EXPECT_EQ(refusal((root() / "sub" / ".." / "clip.mp4").string()), "");

  ConfinedVideoFile file((root() / "clip.mp4").string(), roots());
  EXPECT_EQ(file.canonical(), fs::canonical(root() / "clip.mp4"));
  EXPECT_TRUE(file.ffmpeg_path().starts_with("/proc/self/fd/")) << file.ffmpeg_path();

  VideoFileSource source(root() / "clip.mp4", VideoFileOptions{false, false, roots()});
  source.open();
  EXPECT_TRUE(source.read().has_value());
}

TEST_F(VideoFilePolicy, OutsideMissingEscapingAndUnreadableGiveOneMessage) {
  const std::string outside = (base_ / "outside" / "clip.mp4").string();
  const std::string escaping = (root() / ".." / "outside" / "clip.mp4").string();
  const std::string prefix_trick = (base_ / "root-evil" / "clip.mp4").string();  // "root-evil" is not under "root"
  const std::string missing = (root() / "missing.mp4").string();
  const std::string nowhere = "/no/such/folder/clip.mp4";
  const std::string folder = root().string();
  fs::create_symlink(base_ / "outside" / "clip.mp4", root() / "link.mp4");
  const std::string link_out = (root() / "link.mp4").string();
  fs::create_symlink(base_ / "outside", root() / "linked-folder");
  const std::string through_folder_link = (root() / "linked-folder" / "clip.mp4").string();
  fs::create_symlink(root() / "gone.mp4", root() / "dangling.mp4");
  const std::string dangling = (root() / "dangling.mp4").string();
  ASSERT_EQ(::mkfifo((root() / "fifo.mp4").c_str(), 0600), 0);
  const std::string fifo = (root() / "fifo.mp4").string();  // must not block the open either

  for (const std::string& path :
       {outside, escaping, prefix_trick, missing, nowhere, folder, link_out, through_folder_link, dangling, fifo}) {
    EXPECT_EQ(refusal(path), not_allowed_video_message(path)) << path;
  }

  const fs::path unreadable = root() / "unreadable.mp4";
  fs::copy_file(kClip, unreadable);
  fs::permissions(unreadable, fs::perms::none);
  if (::geteuid() != 0) {  // root reads it anyway
    EXPECT_EQ(refusal(unreadable.string()), not_allowed_video_message(unreadable.string()));
  }
  EXPECT_EQ(refusal("videos/clip.mp4"), "videos/clip.mp4: must be an absolute path");
}

TEST_F(VideoFilePolicy, TextFilesAndPicturesInARootAreNotVideos) {
  // FFmpeg's tty demuxer plays .nfo/.ans/.asc/.diz as video; image2 a photo.
  std::ofstream(root() / "secrets.nfo") << "password=hunter2\n" << std::string(4000, 'x') << "\n";
  std::ofstream(root() / "notes.txt") << "just text\n";
  cv::imwrite((root() / "photo.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(0, 0, 255)));
  cv::imwrite((root() / "photo.jpg").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(0, 255, 0)));
  for (const char* name : {"secrets.nfo", "notes.txt", "photo.png", "photo.jpg"}) {
    const std::string path = (root() / name).string();
    const std::string message = refusal(path);
    EXPECT_NE(message.find("not a video file"), std::string::npos) << name << ": " << message;
    VideoFileSource source(path, VideoFileOptions{false, false, roots()});
    EXPECT_THROW(source.open(), FrameSourceError) << name;
  }
}

// A frame size is read from the container's header before any decoder
// allocates it: a camera on such a file is refused at creation.
TEST_F(VideoFilePolicy, AVideoOfAbsurdResolutionIsRefusedFromItsHeader) {
  const fs::path huge = root() / "huge.avi";
  {
    cv::VideoWriter writer(huge.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 1, cv::Size(7000, 6000));
    ASSERT_TRUE(writer.isOpened());
    writer.write(cv::Mat(6000, 7000, CV_8UC3, cv::Scalar::all(0)));
  }
  EXPECT_EQ(refusal(huge.string()),
            huge.string() + ": the resolution 7000x6000 is more than the limit of 40000000 pixels a frame");
  VideoFileSource source(huge, VideoFileOptions{false, false, roots()});
  EXPECT_THROW(source.open(), FrameSourceError);
}

TEST_F(VideoFilePolicy, NoRootsRefusesEveryFile) {
  const std::string clip = (root() / "clip.mp4").string();
  try {
    check_video_file(clip, {});
    FAIL() << "opened a file with no roots configured";
  } catch (const VideoFileRefused& refused) {
    EXPECT_EQ(std::string(refused.what()), not_allowed_video_message(clip));
  }
}

TEST(CameraUrls, PasswordsAreMaskedAndSplit) {
  EXPECT_EQ(mask_password("rtsp://admin:secret@10.0.0.2:554/live"), "rtsp://admin:***@10.0.0.2:554/live");
  EXPECT_EQ(mask_password("rtsp://admin@10.0.0.2/live"), "rtsp://admin@10.0.0.2/live");  // no password
  EXPECT_EQ(mask_password("http://cam/snap?user=a@b:c"), "http://cam/snap?user=a@b:c");
  EXPECT_EQ(mask_password("http://u:p@ss@cam/x"), "http://u:***@cam/x");  // the last '@' ends the user part
  EXPECT_EQ(mask_password("/videos/door.mp4"), "/videos/door.mp4");
  const auto parts = split_password("rtsp://admin:secret@cam:554/live?x=1");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->before, "rtsp://admin:");
  EXPECT_EQ(parts->password, "secret");
  EXPECT_EQ(parts->after, "@cam:554/live?x=1");
  EXPECT_FALSE(split_password("rtsp://cam:554/live"));
}

}  // namespace
}  // namespace safelynx::pipeline
