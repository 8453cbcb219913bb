#include "app/recognition_render.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace safelynx::app {

cv::Mat textured_background(int width, int height, std::uint64_t seed) {
  cv::RNG rng(seed ^ 0x5eed5eedULL);  // OpenCV's own generator: the same picture everywhere
  // Brightness varies widely, colour only a little: a wall, not a rainbow.
  cv::Mat light(12, 16, CV_8UC1), tint(12, 16, CV_8UC3), coarse;
  rng.fill(light, cv::RNG::UNIFORM, cv::Scalar::all(70), cv::Scalar::all(190));
  rng.fill(tint, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(40));
  cv::cvtColor(light, coarse, cv::COLOR_GRAY2BGR);
  coarse = coarse + tint - cv::Scalar::all(20);
  cv::Mat background;
  cv::resize(coarse, background, {width, height}, 0, 0, cv::INTER_CUBIC);
  for (int i = 0; i < 6; ++i) {
    const cv::Point a(rng.uniform(0, width), rng.uniform(0, height));
    const cv::Point b(a.x + rng.uniform(40, width / 3), a.y + rng.uniform(30, height / 3));
    cv::rectangle(background, a, b, cv::Scalar(rng.uniform(40, 220), rng.uniform(40, 220), rng.uniform(40, 220)), cv::FILLED);
  }
  cv::GaussianBlur(background, background, {5, 5}, 0);
  cv::Mat grain(height, width, CV_16SC3);
  rng.fill(grain, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(6));
  cv::Mat wide;
  background.convertTo(wide, CV_16SC3);
  wide += grain;
  wide.convertTo(background, CV_8UC3);  // saturating
  return background;
}

void paste_face(cv::Mat& frame, const cv::Mat& photo, const Box& box) {
  const int side = std::max(2, static_cast<int>(std::lround(box.width)));
  cv::Mat face;
  cv::resize(photo, face, {side, side}, 0, 0, side < photo.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int left = static_cast<int>(std::lround(box.x));
  const int top = static_cast<int>(std::lround(box.y));
  const float feather = std::max(2.0f, 0.1f * static_cast<float>(side));
  for (int r = std::max(0, top); r < std::min(frame.rows, top + side); ++r) {
    const int v = r - top;
    auto* out = frame.ptr<cv::Vec3b>(r);
    const auto* in = face.ptr<cv::Vec3b>(v);
    for (int c = std::max(0, left); c < std::min(frame.cols, left + side); ++c) {
      const int u = c - left;
      const float edge = static_cast<float>(std::min({u, v, side - 1 - u, side - 1 - v})) + 0.5f;
      const float t = std::clamp(edge / feather, 0.0f, 1.0f);
      const float alpha = t * t * (3 - 2 * t);  // smoothstep: no visible seam
      for (int ch = 0; ch < 3; ++ch)
        out[c][ch] = cv::saturate_cast<std::uint8_t>(out[c][ch] + alpha * (static_cast<float>(in[u][ch]) - out[c][ch]));
    }
  }
}

ScenarioRenderer::ScenarioRenderer(const Scenario& scenario)
    : scenario_(scenario),
      background_(textured_background(scenario.options.width, scenario.options.height, scenario.options.seed)) {
  for (const Person& person : scenario.people) {
    std::vector<cv::Mat>& photos = photos_.emplace_back();
    for (const std::filesystem::path& file : person.video_photos) {
      cv::Mat photo = cv::imread(file.string(), cv::IMREAD_COLOR);
      if (photo.empty()) throw std::runtime_error(file.string() + ": cannot be read as an image");
      photos.push_back(std::move(photo));
    }
  }
}

cv::Mat ScenarioRenderer::frame(int index) const {
  cv::Mat frame = background_.clone();
  for (const Visit& visit : scenario_.visits) {
    if (index < visit.first_frame || index > visit.last_frame) continue;
    for (int a : visit.appearances) {
      const Appearance& appearance = scenario_.appearances[static_cast<std::size_t>(a)];
      const auto& photos = photos_[static_cast<std::size_t>(appearance.person)];
      paste_face(frame, photos[static_cast<std::size_t>(appearance.photo_at(index))], appearance.box_at(index));
    }
  }
  return frame;
}

void write_scenario_video(const Scenario& scenario, const std::filesystem::path& file) {
  const ScenarioRenderer renderer(scenario);
  cv::VideoWriter writer(file.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), scenario.options.fps,
                         {scenario.options.width, scenario.options.height});
  if (!writer.isOpened()) throw std::runtime_error(file.string() + ": OpenCV cannot write an MJPG video there");
  for (int i = 0; i < scenario.frames; ++i) writer.write(renderer.frame(i));
  writer.release();
  if (!std::filesystem::exists(file) || std::filesystem::file_size(file) == 0)
    throw std::runtime_error(file.string() + ": the video writer left no file");
}

}  // namespace safelynx::app
