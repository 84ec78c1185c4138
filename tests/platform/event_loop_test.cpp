// EventLoop (platform/event_loop.h) with real time: timer order, re-arm,
// cancel and destruction, a pipe watched for readability, SIGHUP, and the
// exception boundary. Delays are tens of milliseconds; the tests assert
// order and lower bounds, never exact timing.
#include "platform/event_loop.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <vector>

#include "platform/unique_fd.h"

namespace {

using namespace std::chrono_literals;
using advpnd::Timer;
using advpnd::platform::EventLoop;
using advpnd::platform::UniqueFd;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  REQUIRE_MESSAGE(loop.ok(), loop.error());
  return std::move(loop).value();
}

// Runs the loop with a watchdog; true if it stopped before the watchdog.
bool run_with_watchdog(EventLoop& loop, std::chrono::milliseconds limit = 5000ms) {
  bool expired = false;
  auto watchdog = loop.make_timer([&] {
    expired = true;
    loop.stop();
  });
  watchdog->arm(limit);
  REQUIRE(loop.run().ok());
  return !expired;
}

TEST_CASE("EventLoop: timers fire in deadline order, not before their delay") {
  auto loop = make_loop();
  std::vector<int> fired;
  const auto start = loop->now();
  std::chrono::steady_clock::duration last_at{};
  auto t40 = loop->make_timer([&] {
    fired.push_back(40);
    last_at = loop->now() - start;
    loop->stop();
  });
  auto t10 = loop->make_timer([&] { fired.push_back(10); });
  auto t25 = loop->make_timer([&] { fired.push_back(25); });
  t40->arm(40ms);
  t10->arm(10ms);
  t25->arm(25ms);
  CHECK(t10->armed());
  CHECK(run_with_watchdog(*loop));
  CHECK(fired == std::vector<int>{10, 25, 40});
  CHECK(last_at >= 40ms);  // PRECISE_TIMER: never early against steady_clock
  CHECK_FALSE(t10->armed());
}

TEST_CASE("EventLoop: re-arm replaces the deadline; cancel and destruction stop a timer") {
  auto loop = make_loop();
  std::vector<int> fired;
  auto rearmed = loop->make_timer([&] { fired.push_back(1); });
  auto cancelled = loop->make_timer([&] { fired.push_back(2); });
  auto destroyed = loop->make_timer([&] { fired.push_back(3); });
  auto probe = loop->make_timer([&] { fired.push_back(4); });
  rearmed->arm(10ms);
  rearmed->arm(40ms);  // now after the probe
  cancelled->arm(10ms);
  destroyed->arm(10ms);
  probe->arm(20ms);
  cancelled->cancel();
  CHECK_FALSE(cancelled->armed());
  destroyed.reset();
  // With only `rearmed` left after the probe, run() returns by itself once
  // nothing is pending: no stop() and no watchdog needed.
  REQUIRE(loop->run().ok());
  CHECK(fired == std::vector<int>{4, 1});
}

TEST_CASE("EventLoop: a timer can re-arm itself and destroy itself from its callback") {
  auto loop = make_loop();
  int ticks = 0;
  std::unique_ptr<Timer> timer;
  timer = loop->make_timer([&] {
    if (++ticks < 3) {
      timer->arm(5ms);
    } else {
      timer.reset();  // the owner goes away inside the callback (ASan watches this)
    }
  });
  timer->arm(5ms);
  REQUIRE(loop->run().ok());
  CHECK(ticks == 3);
  CHECK(timer == nullptr);
}

TEST_CASE("EventLoop: a callback that cancels a timer due in the same turn prevents it") {
  auto loop = make_loop();
  std::vector<int> fired;
  std::unique_ptr<Timer> first;
  std::unique_ptr<Timer> second;
  // Each cancels the other: libevent may run same-deadline timers in either
  // order, but once one has run the other must not, though it was already due.
  first = loop->make_timer([&] {
    fired.push_back(1);
    second->cancel();
  });
  second = loop->make_timer([&] {
    fired.push_back(2);
    first->cancel();
  });
  first->arm(5ms);
  second->arm(5ms);
  ::usleep(20'000);  // both are due when the loop next looks
  REQUIRE(loop->run().ok());
  CHECK(fired.size() == 1);
}

TEST_CASE("EventLoop: an exception thrown by a callback is caught and the loop goes on") {
  auto loop = make_loop();
  bool after = false;
  auto thrower = loop->make_timer([] { throw std::runtime_error("test: deliberate"); });
  auto next = loop->make_timer([&] { after = true; });
  thrower->arm(1ms);
  next->arm(10ms);
  REQUIRE(loop->run().ok());
  CHECK(after);
}

TEST_CASE("EventLoop: FdWatch calls back while a pipe is readable, and not after destruction") {
  auto loop = make_loop();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  int calls = 0;
  std::unique_ptr<advpnd::platform::FdWatch> watch;
  auto watched = loop->watch_readable(read_end.get(), [&] {
    char buffer[16];
    const auto n = ::read(read_end.get(), buffer, 1);  // one byte per call: level-triggered
    CHECK(n == 1);
    if (++calls == 3) {
      watch.reset();  // destroyed inside its own callback
      loop->stop();
    }
  });
  REQUIRE_MESSAGE(watched.ok(), watched.error());
  watch = std::move(watched).value();
  CHECK(watch->fd() == read_end.get());
  auto writer = loop->make_timer([&] { CHECK(::write(write_end.get(), "abcdef", 6) == 6); });
  writer->arm(10ms);
  CHECK(run_with_watchdog(*loop));
  CHECK(calls == 3);
  CHECK(watch == nullptr);
  // Three bytes remain unread; with the watch gone nothing runs.
  auto idle = loop->make_timer([&] { loop->stop(); });
  idle->arm(20ms);
  REQUIRE(loop->run().ok());
  CHECK(calls == 3);
}

TEST_CASE("EventLoop: SignalWatch delivers SIGHUP on the loop") {
  auto loop = make_loop();
  int got = 0;
  auto watched = loop->watch_signal(SIGHUP, [&](int signo) {
    got = signo;
    loop->stop();
  });
  REQUIRE_MESSAGE(watched.ok(), watched.error());
  auto raiser = loop->make_timer([] { REQUIRE(std::raise(SIGHUP) == 0); });
  raiser->arm(5ms);
  CHECK(run_with_watchdog(*loop));
  CHECK(got == SIGHUP);
  CHECK(watched.value()->signo() == SIGHUP);
}

TEST_CASE("EventLoop: the clocks") {
  auto loop = make_loop();
  const auto a = loop->now();
  const auto b = loop->now();
  CHECK(b >= a);
  const auto wall = static_cast<std::int64_t>(std::time(nullptr));
  CHECK(loop->unix_seconds() >= wall - 1);
  CHECK(loop->unix_seconds() <= wall + 1);
}

TEST_CASE("EventLoop: timers may outlive the loop object") {
  std::unique_ptr<Timer> timer;
  {
    auto loop = make_loop();
    timer = loop->make_timer([] {});
    timer->arm(1h);
  }
  CHECK(timer->armed());  // the event_base is shared, so this is still well defined
  timer->cancel();
  timer.reset();
}

}  // namespace
