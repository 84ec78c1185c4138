#include "platform/event_loop.h"

#include <event2/event.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "base/log.h"
#include "platform/guarded_call.h"

namespace advpnd::platform {
namespace {

timeval to_timeval(Duration delay) {
  const auto clamped = std::max(delay, Duration::zero());
  const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(clamped).count();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(usec / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(usec % 1'000'000);
  return tv;
}

// A libevent timer event with no file descriptor. The callback is held in a
// shared_ptr that the trampoline copies before calling it: the callback may
// destroy its own Timer (its owner going away), and the std::function must
// stay alive until it returns.
class LibeventTimer final : public Timer {
 public:
  LibeventTimer(std::shared_ptr<event_base> base, std::function<void()> on_fire)
      : base_(std::move(base)),
        on_fire_(std::make_shared<std::function<void()>>(std::move(on_fire))),
        event_(event_new(base_.get(), -1, 0, &LibeventTimer::trampoline, this)) {
    if (event_ == nullptr) {
      // event_new fails only when malloc does: nothing sensible to carry on with.
      log::error("event-loop", "make_timer: event_new failed (out of memory)");
      std::abort();
    }
  }
  ~LibeventTimer() override { event_free(event_); }  // event_free deletes a pending event first
  LibeventTimer(const LibeventTimer&) = delete;
  LibeventTimer& operator=(const LibeventTimer&) = delete;

  // evtimer_add on a pending timer replaces its deadline (libevent 2.1 event_add).
  void arm(Duration delay) override {
    const timeval tv = to_timeval(delay);
    if (evtimer_add(event_, &tv) != 0) {
      log::error("event-loop", "Timer::arm: evtimer_add failed");
    }
  }
  // Also removes a timer that expired but whose callback has not run yet in
  // this loop turn: after cancel() the callback never runs.
  void cancel() override { evtimer_del(event_); }
  [[nodiscard]] bool armed() const override { return event_pending(event_, EV_TIMEOUT, nullptr) != 0; }

 private:
  static void trampoline(evutil_socket_t /*fd*/, short /*what*/, void* self) {
    auto on_fire = static_cast<LibeventTimer*>(self)->on_fire_;  // `self` may die inside the call
    if (*on_fire) guarded_call("event-loop timer", *on_fire);
  }

  std::shared_ptr<event_base> base_;
  std::shared_ptr<std::function<void()>> on_fire_;
  event* event_;
};

}  // namespace

// --- FdWatch ---------------------------------------------------------------

FdWatch::FdWatch(std::shared_ptr<event_base> base, int fd, Direction direction, std::function<void()> on_ready)
    : base_(std::move(base)),
      on_ready_(std::make_shared<std::function<void()>>(std::move(on_ready))),
      fd_(fd),
      event_(event_new(base_.get(), fd, static_cast<short>((direction == Direction::Read ? EV_READ : EV_WRITE) | EV_PERSIST),
                       &FdWatch::trampoline, this)) {
  if (event_ != nullptr && event_add(event_, nullptr) != 0) {
    event_free(event_);
    event_ = nullptr;
  }
}

FdWatch::~FdWatch() {
  if (event_ != nullptr) event_free(event_);
}

void FdWatch::trampoline(evutil_socket_t /*fd*/, short /*what*/, void* self) {
  auto on_ready = static_cast<FdWatch*>(self)->on_ready_;  // `self` may die inside the call
  if (*on_ready) guarded_call("event-loop fd watch", *on_ready);
}

// --- SignalWatch -----------------------------------------------------------

SignalWatch::SignalWatch(std::shared_ptr<event_base> base, int signo, std::function<void(int)> on_signal)
    : base_(std::move(base)),
      on_signal_(std::make_shared<std::function<void(int)>>(std::move(on_signal))),
      signo_(signo),
      event_(event_new(base_.get(), signo, EV_SIGNAL | EV_PERSIST, &SignalWatch::trampoline, this)) {
  if (event_ != nullptr && event_add(event_, nullptr) != 0) {
    event_free(event_);
    event_ = nullptr;
  }
}

SignalWatch::~SignalWatch() {
  if (event_ != nullptr) event_free(event_);  // restores the previous signal disposition
}

void SignalWatch::trampoline(evutil_socket_t signo, short /*what*/, void* self) {
  auto on_signal = static_cast<SignalWatch*>(self)->on_signal_;
  if (*on_signal) guarded_call("event-loop signal watch", *on_signal, static_cast<int>(signo));
}

// --- EventLoop -------------------------------------------------------------

Result<std::unique_ptr<EventLoop>, std::string> EventLoop::create() {
  std::unique_ptr<event_config, decltype(&event_config_free)> config(event_config_new(), &event_config_free);
  if (!config) return fail(std::string("EventLoop: event_config_new failed"));
  // libevent 2.1 measures timeouts with CLOCK_MONOTONIC_COARSE by default
  // (jiffy resolution, up to ~4 ms behind CLOCK_MONOTONIC): a timer could then
  // fire while steady_clock still reads a little before its deadline, and
  // hold-time logic that compares now() with a deadline would see it early.
  // PRECISE_TIMER makes libevent use the same clock as std::steady_clock.
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_PRECISE_TIMER);
  event_base* raw = event_base_new_with_config(config.get());
  if (raw == nullptr) return fail(std::string("EventLoop: event_base_new_with_config failed"));
  return std::unique_ptr<EventLoop>(new EventLoop(std::shared_ptr<event_base>(raw, &event_base_free)));
}

EventLoop::EventLoop(std::shared_ptr<event_base> base) : base_(std::move(base)) {}

EventLoop::~EventLoop() = default;

MonotonicTime EventLoop::now() const { return std::chrono::steady_clock::now(); }

std::int64_t EventLoop::unix_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<Timer> EventLoop::make_timer(std::function<void()> on_fire) {
  return std::make_unique<LibeventTimer>(base_, std::move(on_fire));
}

Result<std::unique_ptr<FdWatch>, std::string> EventLoop::watch_readable(int fd, std::function<void()> on_readable) {
  auto watch = std::make_unique<FdWatch>(base_, fd, FdWatch::Direction::Read, std::move(on_readable));
  if (!watch->ok()) return fail("EventLoop::watch_readable: cannot watch fd " + std::to_string(fd));
  return watch;
}

Result<std::unique_ptr<FdWatch>, std::string> EventLoop::watch_writable(int fd, std::function<void()> on_writable) {
  auto watch = std::make_unique<FdWatch>(base_, fd, FdWatch::Direction::Write, std::move(on_writable));
  if (!watch->ok()) return fail("EventLoop::watch_writable: cannot watch fd " + std::to_string(fd));
  return watch;
}

Result<std::unique_ptr<SignalWatch>, std::string> EventLoop::watch_signal(int signo,
                                                                          std::function<void(int)> on_signal) {
  auto watch = std::make_unique<SignalWatch>(base_, signo, std::move(on_signal));
  if (!watch->ok()) return fail("EventLoop::watch_signal: cannot watch signal " + std::to_string(signo));
  return watch;
}

Status<std::string> EventLoop::run() {
  if (event_base_loop(base_.get(), 0) < 0) return fail(std::string("EventLoop::run: event_base_loop failed"));
  return {};
}

Status<std::string> EventLoop::run_nonblocking() {
  // NONBLOCK alone would keep polling until a pass finds nothing ready (a
  // level-triggered busy socket would keep it going); with ONCE it stops
  // after the first pass that ran callbacks.
  if (event_base_loop(base_.get(), EVLOOP_NONBLOCK | EVLOOP_ONCE) < 0) {
    return fail(std::string("EventLoop::run_nonblocking: event_base_loop failed"));
  }
  return {};
}

void EventLoop::stop() { event_base_loopbreak(base_.get()); }

}  // namespace advpnd::platform
