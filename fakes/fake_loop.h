// FakeLoop: the test double of platform::EventLoop. Time stands still until
// the test moves it with advance(); due timers then fire in deadline order
// (ties in the order they were armed), each seeing now() equal to its own
// deadline, and timers armed by those callbacks fire in the same advance()
// if they fall due. Tasks posted with post() run at the current time, in
// order. Deterministic and single-threaded: the same calls give the same
// callback order every run (STYLE.md: "a clock interface lets tests move time").
//
// Like the real loop, an exception thrown by a callback is caught and logged
// (base/log.h), and counted in callback_exceptions() so a test can assert none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "base/clock.h"

namespace advpnd::fakes {

class FakeLoop final : public Clock, public TimerFactory {
 public:
  // A callback chain longer than this within one run_until_idle() is taken
  // for a livelock (two endpoints answering each other forever): it stops.
  static constexpr std::size_t kDefaultCallbackLimit = 1'000'000;

  // Starts at an arbitrary monotonic time (not zero, so that code subtracting
  // durations from now() does not go below the epoch) and a fixed wall clock.
  explicit FakeLoop(MonotonicTime start = MonotonicTime{} + std::chrono::hours(24),
                    std::int64_t unix_start = 1'700'000'000);
  ~FakeLoop() override;
  FakeLoop(const FakeLoop&) = delete;
  FakeLoop& operator=(const FakeLoop&) = delete;

  [[nodiscard]] MonotonicTime now() const override { return now_; }
  // The wall clock moves with the monotonic one, whole seconds since start.
  [[nodiscard]] std::int64_t unix_seconds() const override;

  [[nodiscard]] std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;

  // Runs `task` at the current time, after the tasks already posted.
  void post(std::function<void()> task);

  // Runs posted tasks and timers due now until none is left. Returns the
  // callbacks run.
  std::size_t run_until_idle(std::size_t callback_limit = kDefaultCallbackLimit);
  // Moves time forward by `delta`, stopping at each timer deadline on the way
  // (and running what is idle there); ends at now() + delta. Negative = 0.
  std::size_t advance(Duration delta);
  // Advances event by event until `done()` holds or `limit` has passed;
  // returns done(). Useful for "run until the spoke is registered".
  bool run_until(const std::function<bool()>& done, Duration limit);

  [[nodiscard]] std::optional<MonotonicTime> next_deadline() const;
  [[nodiscard]] std::size_t armed_timers() const { return schedule_.size(); }
  [[nodiscard]] std::size_t posted_tasks() const { return tasks_.size(); }
  [[nodiscard]] std::uint64_t callback_exceptions() const { return callback_exceptions_; }

 private:
  class FakeTimer;
  friend class FakeTimer;
  // (deadline, arm sequence): the order in which timers fire.
  using Key = std::pair<MonotonicTime, std::uint64_t>;

  void arm(FakeTimer& timer, Duration delay);
  void cancel(FakeTimer& timer);
  void forget(FakeTimer& timer);
  // Runs one posted task or one timer due now; false if there was none.
  bool run_one();
  void invoke(const char* what, std::function<void()>& callback);

  MonotonicTime start_;
  MonotonicTime now_;
  std::int64_t unix_start_;
  std::uint64_t next_sequence_ = 0;
  std::map<Key, FakeTimer*> schedule_;
  std::set<FakeTimer*> live_;  // detached (never fire) when the loop goes first
  std::deque<std::function<void()>> tasks_;
  std::uint64_t callback_exceptions_ = 0;
};

}  // namespace advpnd::fakes
