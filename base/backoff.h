// Pacing shared by every retry in advpnd (STYLE.md "jitter on retries"):
// jitter, the doubling backoff, and a backoff object that keeps its own
// count. One implementation for the NHC's retransmissions and negative
// cache, the VICI client's reconnects and the IPsec provider's retries.
//
// Randomness is injected as a seed: production seeds from random_seed();
// tests pass a fixed seed (or a jitter of 0) so that runs under the fake
// clock are repeatable.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "base/clock.h"

namespace advpnd {

// A seed for production use (std::random_device).
[[nodiscard]] inline std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32U) ^ device();
}

// +/-fraction of uniform jitter (fraction clamped to [0, 0.5]). A fraction
// of 0 gives exact delays.
class Jitter {
 public:
  Jitter(double fraction, std::uint64_t seed) : fraction_(std::clamp(fraction, 0.0, 0.5)), random_(seed) {}

  [[nodiscard]] Duration apply(Duration delay) {
    if (fraction_ == 0.0 || delay <= Duration::zero()) return delay;
    std::uniform_real_distribution<double> factor(1.0 - fraction_, 1.0 + fraction_);
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double, Duration::period>(delay) *
                                                factor(random_));
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

// A doubling backoff that counts its own attempts: the n-th delay is
// initial * 2^n, capped at `max`, then spread by the jitter so that many
// peers failing together do not retry in lockstep (never above `max`).
class Backoff {
 public:
  Backoff(Duration initial, Duration max, double jitter = 0.2, std::uint64_t seed = random_seed())
      : initial_(std::max(initial, Duration(1))), max_(std::max(max, initial_)), jitter_(jitter, seed) {}

  // The delay before the next attempt; each call doubles the following one.
  [[nodiscard]] Duration next() {
    current_ = next_backoff(current_, initial_, max_);
    ++attempts_;
    return std::min(jitter_.apply(current_), max_);
  }
  // After a success: the next failure starts again from `initial`.
  void reset() {
    attempts_ = 0;
    current_ = Duration::zero();
  }
  [[nodiscard]] unsigned attempts() const { return attempts_; }

 private:
  Duration initial_;
  Duration max_;
  Jitter jitter_;
  Duration current_{};  // the last delay before jitter; zero: none yet
  unsigned attempts_ = 0;
};

}  // namespace advpnd
