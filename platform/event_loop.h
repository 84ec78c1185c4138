// EventLoop: the daemon's single-threaded libevent loop. It is the real
// Clock and TimerFactory (base/clock.h) and watches file descriptors and
// signals. It is passed in by reference, never global (STYLE.md: "the event
// loop is passed in"), and everything it hands out is an RAII handle:
// destroying a Timer, FdWatch or SignalWatch cancels it, so no callback runs
// after its owner is gone. Handles share ownership of the event_base, so they
// may outlive the EventLoop object itself (they then simply never fire).
//
// Callbacks run on the loop's thread; an exception thrown by a callback is
// caught at the boundary and logged (guarded_call.h).
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/result.h"

struct event_base;
struct event;

namespace advpnd::platform {

// Calls `on_ready` each time `fd` is readable (or, for a Write watch,
// writable). Level-triggered: a reader that leaves data behind is called
// again on the next loop turn, which is how RawGreTransport bounds its work
// per turn without losing frames; a writer that still has data to send keeps
// its Write watch and is called again when the socket drains.
class FdWatch {
 public:
  enum class Direction { Read, Write };
  FdWatch(std::shared_ptr<event_base> base, int fd, Direction direction, std::function<void()> on_ready);
  ~FdWatch();
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  [[nodiscard]] bool ok() const { return event_ != nullptr; }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  static void trampoline(int fd, short what, void* self);

  std::shared_ptr<event_base> base_;
  std::shared_ptr<std::function<void()>> on_ready_;
  int fd_;
  event* event_ = nullptr;
};

// Calls `on_signal(signo)` from the loop (not from the signal handler) when
// the signal arrives; while the watch lives the signal's default action
// (terminate for SIGTERM/SIGINT/SIGHUP) is replaced. libevent lets only one
// event_base at a time handle signals.
class SignalWatch {
 public:
  SignalWatch(std::shared_ptr<event_base> base, int signo, std::function<void(int)> on_signal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  [[nodiscard]] bool ok() const { return event_ != nullptr; }
  [[nodiscard]] int signo() const { return signo_; }

 private:
  static void trampoline(int signo, short what, void* self);

  std::shared_ptr<event_base> base_;
  std::shared_ptr<std::function<void(int)>> on_signal_;
  int signo_;
  event* event_ = nullptr;
};

class EventLoop final : public Clock, public TimerFactory {
 public:
  // Fails (a value, not an exception) when libevent cannot create a base.
  static Result<std::unique_ptr<EventLoop>, std::string> create();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Clock: steady_clock for timers, system_clock for what is stored.
  [[nodiscard]] MonotonicTime now() const override;
  [[nodiscard]] std::int64_t unix_seconds() const override;

  // TimerFactory: one-shot libevent timers; arm() may be called from any
  // callback, including the timer's own.
  [[nodiscard]] std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;

  [[nodiscard]] Result<std::unique_ptr<FdWatch>, std::string> watch_readable(int fd, std::function<void()> on_readable);
  [[nodiscard]] Result<std::unique_ptr<FdWatch>, std::string> watch_writable(int fd, std::function<void()> on_writable);
  // SIGTERM, SIGHUP and SIGINT are what the daemon handles; any signal works.
  [[nodiscard]] Result<std::unique_ptr<SignalWatch>, std::string> watch_signal(int signo,
                                                                               std::function<void(int)> on_signal);

  // Runs callbacks until stop() is called from one of them, or until nothing
  // (no timer armed, no watch) is left to wait for.
  Status<std::string> run();
  // One non-blocking turn: polls once and runs the callbacks ready now
  // (each once), then returns.
  Status<std::string> run_nonblocking();
  // Makes run() return after the current callback. Only meaningful while
  // run() is on the stack: libevent clears the request when a run starts.
  void stop();

 private:
  explicit EventLoop(std::shared_ptr<event_base> base);
  friend class HttpServer;  // evhttp runs on this base (platform/http_server.h)

  std::shared_ptr<event_base> base_;
};

}  // namespace advpnd::platform
