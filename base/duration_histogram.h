// A histogram of durations with fixed bucket bounds, for set-up times
// (shortcut: redirect -> direct path). Cumulative reading is left to the
// exporter (app/prometheus.h): here each bucket counts the observations
// that fell in it, plus the ones above the last bound.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "base/clock.h"

namespace advpnd {

class DurationHistogram {
 public:
  // Upper bounds in seconds: a shortcut with a cached tunnel is up in
  // milliseconds, a first IKE exchange in tens to hundreds of ms, a lossy
  // path retransmits after seconds (charon's first retransmit: 4 s).
  static constexpr std::array<double, 10> kBounds{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  void add(Duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++buckets_[i];
    ++count_;
    sum_seconds_ += seconds;
  }
  // Observations in bucket i (i == kBounds.size(): above the last bound).
  [[nodiscard]] std::uint64_t bucket(std::size_t i) const { return buckets_[i]; }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] double sum_seconds() const { return sum_seconds_; }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};
  std::uint64_t count_ = 0;
  double sum_seconds_ = 0;
};

}  // namespace advpnd
