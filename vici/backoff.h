// Exponential backoff with a cap and jitter, for reconnecting to charon and
// for retrying a failed tunnel (STYLE.md: "jitter on retries"). The n-th
// delay is initial * 2^n, capped at `max`, then spread by +-jitter so that
// many peers failing together do not retry in lockstep.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

#include "base/clock.h"

namespace advpnd::vici {

class Backoff {
 public:
  Backoff(Duration initial, Duration max, double jitter = 0.2)
      : initial_(std::max(initial, Duration(1))), max_(std::max(max, initial_)), jitter_(std::clamp(jitter, 0.0, 0.5)),
        random_(std::random_device{}()) {}

  // The delay before the next attempt; each call doubles the following one.
  [[nodiscard]] Duration next() {
    const Duration base = current();
    ++attempts_;
    if (jitter_ <= 0.0) return base;
    std::uniform_real_distribution<double> spread(1.0 - jitter_, 1.0 + jitter_);
    const auto scaled = std::chrono::duration<double, Duration::period>(base) * spread(random_);
    return std::min(std::chrono::duration_cast<Duration>(scaled), max_);
  }
  // After a success: the next failure starts again from `initial`.
  void reset() { attempts_ = 0; }
  [[nodiscard]] unsigned attempts() const { return attempts_; }

 private:
  [[nodiscard]] Duration current() const {
    Duration delay = initial_;
    for (unsigned i = 0; i < attempts_ && delay < max_; ++i) delay *= 2;
    return std::min(delay, max_);
  }

  Duration initial_;
  Duration max_;
  double jitter_;
  std::minstd_rand random_;
  unsigned attempts_ = 0;
};

}  // namespace advpnd::vici
