// How often the NHC may do something: jitter on timers (so that spokes
// started together do not refresh together), exponential backoff, and a
// token bucket for new resolutions (an indication storm must not become a
// resolution storm).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "base/clock.h"

namespace advpnd::spoke {

// +/-fraction of uniform jitter. A fraction of 0 gives exact delays (tests).
class Jitter {
 public:
  Jitter(double fraction, std::uint64_t seed) : fraction_(std::clamp(fraction, 0.0, 0.5)), random_(seed) {}

  [[nodiscard]] Duration apply(Duration delay) {
    if (fraction_ == 0.0 || delay <= Duration::zero()) return delay;
    std::uniform_real_distribution<double> factor(1.0 - fraction_, 1.0 + fraction_);
    return std::chrono::duration_cast<Duration>(delay * factor(random_));
  }
  [[nodiscard]] double fraction() const { return fraction_; }

 private:
  double fraction_;
  std::mt19937_64 random_;
};

// The next delay of a doubling backoff: first, then twice the previous,
// never above cap.
[[nodiscard]] inline Duration next_backoff(Duration previous, Duration first, Duration cap) {
  if (previous < first) return first;
  return std::min(previous * 2, cap);
}

struct Rate {
  double per_second = 10.0;  // refill
  double burst = 20.0;       // bucket size
};

// One token bucket (not keyed): try_take() succeeds while tokens remain.
class TokenBucket {
 public:
  explicit TokenBucket(Rate rate) : rate_(rate), tokens_(rate.burst) {}

  bool try_take(MonotonicTime now) {
    if (started_) {
      const double elapsed = std::chrono::duration<double>(now - updated_).count();
      if (elapsed > 0) tokens_ = std::min(rate_.burst, tokens_ + elapsed * rate_.per_second);
    }
    started_ = true;
    updated_ = std::max(updated_, now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  Rate rate_;
  double tokens_;
  bool started_ = false;
  MonotonicTime updated_{};
};

}  // namespace advpnd::spoke
