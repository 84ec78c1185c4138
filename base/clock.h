// Time for the daemons: a monotonic clock for timers and a wall clock for
// what is stored (expiry times in SQLite survive a restart; monotonic time
// does not). The event loop implements both; tests use a fake they advance.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace advpnd {

using MonotonicTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual MonotonicTime now() const = 0;
  // Seconds since the Unix epoch (UTC).
  [[nodiscard]] virtual std::int64_t unix_seconds() const = 0;
};

// A one-shot timer owned by its user: destroying it cancels it, so a
// callback never runs after its owner is gone (STYLE.md: RAII timers).
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer to fire once after `delay`; re-arming replaces the previous deadline.
  virtual void arm(Duration delay) = 0;
  virtual void cancel() = 0;
  [[nodiscard]] virtual bool armed() const = 0;
};

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  [[nodiscard]] virtual std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) = 0;
};

}  // namespace advpnd
