// The k best profiles seen so far in a scan, each with its best embedding.
// k is small (a handful of candidates), so a flat array beats a heap: most
// rows are rejected by one comparison with threshold().
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "index/embedding_index.hpp"

namespace safelynx::index {

class TopProfiles {
 public:
  struct Candidate {
    ProfileId profile;
    std::uint32_t slot;
    float score;  // smaller is nearer
  };

  explicit TopProfiles(std::size_t capacity) : capacity_(capacity) { items_.reserve(capacity); }

  // A score must be below this to enter.
  float threshold() const {
    return items_.size() < capacity_ ? std::numeric_limits<float>::infinity() : items_[worst_].score;
  }

  void offer(ProfileId profile, std::uint32_t slot, float score) {
    for (Candidate& item : items_) {
      if (item.profile != profile) continue;
      if (score < item.score) {
        item.slot = slot;
        item.score = score;
        find_worst();
      }
      return;
    }
    if (items_.size() < capacity_) {
      items_.push_back({profile, slot, score});
    } else {
      if (!(score < items_[worst_].score)) return;
      items_[worst_] = {profile, slot, score};
    }
    find_worst();
  }

  // Nearest first; equal scores by profile id, so answers are reproducible.
  std::vector<Candidate> sorted() && {
    std::sort(items_.begin(), items_.end(), [](const Candidate& a, const Candidate& b) {
      return a.score != b.score ? a.score < b.score : a.profile < b.profile;
    });
    return std::move(items_);
  }

 private:
  void find_worst() {
    worst_ = 0;
    for (std::size_t i = 1; i < items_.size(); ++i)
      if (items_[i].score > items_[worst_].score) worst_ = i;
  }

  std::size_t capacity_;
  std::size_t worst_ = 0;
  std::vector<Candidate> items_;
};

}  // namespace safelynx::index
