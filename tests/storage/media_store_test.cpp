#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

class MediaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("safelynx-media-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

const Uuid kId = Uuid::parse("0b7f5c8e-2f5a-4c1e-9a55-3f0c2f7f8a11");

TEST_F(MediaStoreTest, WritesReadsAndRemovesEachKindInItsFolder) {
  MediaStore media(dir_);
  EXPECT_TRUE(fs::is_directory(dir_ / "thumbnails"));
  EXPECT_TRUE(fs::is_directory(dir_ / "snapshots"));
  EXPECT_TRUE(fs::is_directory(dir_ / "recordings"));
  media.write(MediaKind::Thumbnail, kId, "thumb");
  media.write(MediaKind::FaceSnapshot, kId, std::string("face\0bytes", 10));
  media.write(MediaKind::FrameSnapshot, kId, "frame!");
  EXPECT_EQ(media.path(MediaKind::Thumbnail, kId), dir_ / "thumbnails" / (kId.to_string() + ".jpg"));
  EXPECT_EQ(media.read(MediaKind::Thumbnail, kId), "thumb");
  EXPECT_EQ(media.read(MediaKind::FaceSnapshot, kId), std::string("face\0bytes", 10));
  EXPECT_EQ(media.usage().at("snapshots"), 16u);
  EXPECT_EQ(media.usage().at("thumbnails"), 5u);
  // Rewriting replaces; no temporary file is left behind.
  media.write(MediaKind::Thumbnail, kId, "new thumbnail");
  EXPECT_EQ(media.read(MediaKind::Thumbnail, kId), "new thumbnail");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "thumbnails"), fs::directory_iterator()), 1);
  media.remove(MediaKind::Thumbnail, kId);
  EXPECT_FALSE(media.exists(MediaKind::Thumbnail, kId));
  EXPECT_EQ(media.read(MediaKind::Thumbnail, kId), "");
  media.remove(MediaKind::Thumbnail, kId);  // already gone: fine
  EXPECT_TRUE(media.exists(MediaKind::FrameSnapshot, kId));
}

TEST_F(MediaStoreTest, AnUnusableDataDirIsNamed) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "thumbnails") << "a file where a folder should be";
  try {
    MediaStore media(dir_);
    FAIL() << "a file in place of thumbnails/ was accepted";
  } catch (const StorageError& error) {
    EXPECT_NE(std::string(error.what()).find((dir_ / "thumbnails").string()), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace safelynx::storage
