#include "app/recognition_scenario.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <stdexcept>

namespace safelynx::app {

namespace fs = std::filesystem;

std::vector<Identity> list_identities(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::invalid_argument(dir.string() + " is not a folder");
  std::vector<Identity> people;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_directory()) continue;
    Identity identity{entry.path().filename().string(), {}};
    for (const auto& photo : fs::directory_iterator(entry.path())) {
      std::string ext = photo.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (photo.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) identity.photos.push_back(photo.path());
    }
    std::sort(identity.photos.begin(), identity.photos.end());
    people.push_back(std::move(identity));
  }
  std::sort(people.begin(), people.end(), [](const Identity& a, const Identity& b) { return a.name < b.name; });
  return people;
}

Box Appearance::box_at(int frame) const {
  const double span = std::max(1, last_frame - first_frame);
  const double t = std::clamp((frame - first_frame) / span, 0.0, 1.0);
  const auto lerp = [t](float a, float b) { return static_cast<float>(a + (b - a) * t); };
  const float side = lerp(size_from, size_to);
  const float cx = lerp(x_from, x_to);
  return Box{cx - side / 2, y - side / 2, side, side};
}

int Appearance::photo_at(int frame) const {
  const auto period = static_cast<std::size_t>(std::max(0, frame - first_frame) / std::max(1, photo_period));
  return photos[std::min(period, photos.size() - 1)];
}

bool Scenario::in_view(const Box& box) const {
  return box.x >= 0 && box.y >= 0 && box.right() <= static_cast<float>(options.width) &&
         box.bottom() <= static_cast<float>(options.height);
}

int Scenario::first_usable_frame(const Appearance& appearance) const {
  for (int frame = appearance.first_frame; frame <= appearance.last_frame; ++frame) {
    const Box box = appearance.box_at(frame);
    if (box.width >= options.min_face && in_view(box)) return frame;
  }
  return appearance.first_frame;
}

namespace {

// The engine is std::mt19937_64 (its sequence is fixed by the standard); the
// distributions are written out, as libstdc++'s and libc++'s differ.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : engine_(seed) {}
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  float between(float lo, float hi) { return lo + static_cast<float>(unit()) * (hi - lo); }
  std::size_t below(std::size_t n) { return std::min(n - 1, static_cast<std::size_t>(unit() * static_cast<double>(n))); }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

struct Slot {
  int person = 0;
  int round = 1;
};

// The order of appearances grouped into visits; nullopt when a stranger's
// second visit came too soon after the first (the caller draws again).
std::optional<std::vector<std::vector<Slot>>> draw_visits(const Scenario& s, Draw& draw) {
  const ScenarioOptions& o = s.options;
  std::vector<Slot> order;
  for (int p = 0; p < static_cast<int>(s.people.size()); ++p) order.push_back({p, 1});
  draw.shuffle(order);
  for (int p = o.enrolled; p < static_cast<int>(s.people.size()); ++p) {
    const auto first = static_cast<std::size_t>(
        std::find_if(order.begin(), order.end(), [&](const Slot& slot) { return slot.person == p; }) - order.begin());
    const std::size_t earliest = std::min(first + 2, order.size());
    order.insert(order.begin() + static_cast<std::ptrdiff_t>(earliest + draw.below(order.size() - earliest + 1)), {p, 2});
  }
  std::vector<std::vector<Slot>> visits;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && order[i].person != order[i + 1].person && draw.unit() < o.pair_share) {
      visits.push_back({order[i], order[i + 1]});
      ++i;
    } else {
      visits.push_back({order[i]});
    }
  }
  // Some visits with two people, whenever two may walk together.
  const bool paired = std::any_of(visits.begin(), visits.end(), [](const auto& v) { return v.size() > 1; });
  if (!paired && o.pair_share > 0 && s.people.size() > 2) return std::nullopt;
  // "Later, after others": another visit in between, when there is anyone else.
  const std::size_t apart = s.people.size() > 1 ? 2 : 1;
  for (int p = o.enrolled; p < static_cast<int>(s.people.size()); ++p) {
    std::size_t first = 0, second = 0;
    for (std::size_t v = 0; v < visits.size(); ++v)
      for (const Slot& slot : visits[v])
        if (slot.person == p) (slot.round == 1 ? first : second) = v;
    if (second < first + apart) return std::nullopt;
  }
  return visits;
}

void place(Scenario& s, Appearance& a, int slot, int slots, const std::vector<int>& pool, Draw& draw) {
  const ScenarioOptions& o = s.options;
  // A pair walks in two horizontal bands, so their faces never overlap.
  const float margin = 6;
  const float band = static_cast<float>(o.height) / static_cast<float>(slots);
  const float band_top = band * static_cast<float>(slot);
  const float hi = std::min(o.max_face, band - 2 * margin);
  const float lo = std::min(o.min_face, hi);
  a.size_from = draw.between(lo, hi);
  a.size_to = std::clamp(a.size_from * draw.between(0.8f, 1.25f), lo, hi);  // walking nearer or away, slowly
  const float largest = std::max(a.size_from, a.size_to);
  a.y = band_top + margin + largest / 2 + draw.between(0, band - 2 * margin - largest);
  const bool rightwards = draw.unit() < 0.5;
  a.x_from = rightwards ? 0 : static_cast<float>(o.width);
  a.x_to = static_cast<float>(o.width) - a.x_from;
  a.photo_period = std::max(1, o.photo_frames - 2 + static_cast<int>(draw.below(5)));
  std::vector<int> order = pool;
  draw.shuffle(order);
  const int periods = (a.last_frame - a.first_frame) / a.photo_period + 1;
  for (int k = 0; k < periods; ++k) a.photos.push_back(order[static_cast<std::size_t>(k) % order.size()]);
}

}  // namespace

Scenario make_scenario(const std::vector<Identity>& identities, const ScenarioOptions& o) {
  if (o.enrolled < 0 || o.strangers < 0 || o.enrolled + o.strangers < 1)
    throw std::invalid_argument("the scenario needs at least one person");
  if (o.shots < 1) throw std::invalid_argument("--shots must be at least 1");
  if (!(o.min_face >= 16 && o.max_face >= o.min_face && o.max_face <= static_cast<float>(o.height)))
    throw std::invalid_argument("face sizes must satisfy 16 <= min <= max <= the picture's height");
  if (!(o.fps > 0) || !(o.visit_s > 0) || !(o.gap_s >= 0) || o.width < 64 || o.height < 64)
    throw std::invalid_argument("frame rate, visit length and picture size must be positive");
  const auto needed = static_cast<std::size_t>(o.enrolled + o.strangers);
  if (identities.size() < needed)
    throw std::invalid_argument(std::to_string(needed) + " people asked for, the dev set has " +
                                std::to_string(identities.size()));

  Scenario s;
  s.options = o;
  Draw draw(o.seed);
  std::vector<Identity> pool = identities;
  std::sort(pool.begin(), pool.end(), [](const Identity& a, const Identity& b) { return a.name < b.name; });
  draw.shuffle(pool);
  for (std::size_t i = 0; i < needed; ++i) {
    Person person{pool[i].name, static_cast<int>(i) < o.enrolled, {}, pool[i].photos};
    draw.shuffle(person.video_photos);
    const std::size_t least = person.enrolled ? static_cast<std::size_t>(o.shots) + 1 : 2;
    if (person.video_photos.size() < least)
      throw std::invalid_argument(person.name + " has " + std::to_string(person.video_photos.size()) +
                                  " photos, needs " + std::to_string(least));
    if (person.enrolled) {
      const auto shots = person.video_photos.begin() + o.shots;
      person.enrol_photos.assign(person.video_photos.begin(), shots);
      person.video_photos.erase(person.video_photos.begin(), shots);
    }
    s.people.push_back(std::move(person));
  }

  std::optional<std::vector<std::vector<Slot>>> visits;
  for (int attempt = 0; attempt < 1000 && !visits; ++attempt) visits = draw_visits(s, draw);
  if (!visits) throw std::invalid_argument("no order of visits keeps the strangers' two visits apart");

  const int gap = static_cast<int>(std::ceil(o.gap_s * o.fps - 1e-9));
  int frame = gap;
  for (const std::vector<Slot>& slots : *visits) {
    Visit visit;
    visit.first_frame = frame;
    visit.last_frame = frame + std::max(2, static_cast<int>(std::lround(o.visit_s * o.fps * draw.between(0.9f, 1.1f)))) - 1;
    for (std::size_t k = 0; k < slots.size(); ++k) {
      Appearance a;
      a.person = slots[k].person;
      a.visit = static_cast<int>(s.visits.size());
      a.round = slots[k].round;
      a.first_frame = visit.first_frame;
      a.last_frame = visit.last_frame;
      // A stranger shows different photos on each visit: the second visit
      // must be recognised from new views, not the same pixels.
      const Person& person = s.people[static_cast<std::size_t>(a.person)];
      const int count = static_cast<int>(person.video_photos.size());
      const int half = person.enrolled ? 0 : count / 2;
      std::vector<int> photo_pool;
      for (int i = a.round == 2 ? half : 0; i < (person.enrolled || a.round == 2 ? count : half); ++i) photo_pool.push_back(i);
      place(s, a, static_cast<int>(k), static_cast<int>(slots.size()), photo_pool, draw);
      visit.appearances.push_back(static_cast<int>(s.appearances.size()));
      s.appearances.push_back(std::move(a));
    }
    s.visits.push_back(std::move(visit));
    frame = s.visits.back().last_frame + 1 + gap;
  }
  s.frames = frame;
  return s;
}

}  // namespace safelynx::app
