// FakeLoop (fakes/fake_loop.h): deadline order, ties, re-arm, cancel,
// destruction, timers armed from callbacks, posted tasks and the clocks.
#include "fakes/fake_loop.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using advpnd::Timer;
using advpnd::fakes::FakeLoop;

TEST_CASE("FakeLoop: timers fire in deadline order, each at its own deadline") {
  FakeLoop loop;
  const auto start = loop.now();
  std::vector<std::string> fired;
  std::vector<std::chrono::milliseconds> at;
  auto record = [&](const std::string& name) {
    return [&, name] {
      fired.push_back(name);
      at.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(loop.now() - start));
    };
  };
  auto t30 = loop.make_timer(record("30"));
  auto t10 = loop.make_timer(record("10"));
  auto t20 = loop.make_timer(record("20"));
  t30->arm(30ms);
  t10->arm(10ms);
  t20->arm(20ms);
  CHECK(loop.armed_timers() == 3);
  CHECK(loop.advance(15ms) == 1);
  CHECK(fired == std::vector<std::string>{"10"});
  CHECK(loop.now() - start == 15ms);
  CHECK(loop.advance(1s) == 2);
  CHECK(fired == std::vector<std::string>{"10", "20", "30"});
  CHECK(at == std::vector<std::chrono::milliseconds>{10ms, 20ms, 30ms});
  CHECK(loop.now() - start == 1015ms);
  CHECK_FALSE(t10->armed());
  CHECK(loop.armed_timers() == 0);
}

TEST_CASE("FakeLoop: equal deadlines fire in the order they were armed") {
  FakeLoop loop;
  std::vector<int> fired;
  auto a = loop.make_timer([&] { fired.push_back(1); });
  auto b = loop.make_timer([&] { fired.push_back(2); });
  auto c = loop.make_timer([&] { fired.push_back(3); });
  b->arm(5ms);
  c->arm(5ms);
  a->arm(5ms);
  loop.advance(5ms);
  CHECK(fired == std::vector<int>{2, 3, 1});
}

TEST_CASE("FakeLoop: re-arming replaces the deadline") {
  FakeLoop loop;
  int fired = 0;
  auto timer = loop.make_timer([&] { ++fired; });
  timer->arm(10ms);
  loop.advance(5ms);
  timer->arm(10ms);  // now due at 15 ms
  loop.advance(9ms);
  CHECK(fired == 0);
  CHECK(timer->armed());
  loop.advance(1ms);
  CHECK(fired == 1);
  timer->arm(1ms);  // armed again after firing
  loop.advance(1ms);
  CHECK(fired == 2);
  timer->arm(50ms);
  timer->arm(1ms);  // shortening works too
  loop.advance(1ms);
  CHECK(fired == 3);
  CHECK(loop.armed_timers() == 0);
}

TEST_CASE("FakeLoop: cancel and destruction stop a timer") {
  FakeLoop loop;
  int fired = 0;
  auto cancelled = loop.make_timer([&] { ++fired; });
  auto destroyed = loop.make_timer([&] { ++fired; });
  cancelled->arm(1ms);
  destroyed->arm(1ms);
  cancelled->cancel();
  CHECK_FALSE(cancelled->armed());
  destroyed.reset();
  CHECK(loop.armed_timers() == 0);
  loop.advance(1s);
  CHECK(fired == 0);
  cancelled->cancel();  // cancelling an idle timer is harmless
}

TEST_CASE("FakeLoop: a callback can cancel another timer due at the same time") {
  FakeLoop loop;
  std::vector<int> fired;
  std::unique_ptr<Timer> second;
  auto first = loop.make_timer([&] {
    fired.push_back(1);
    second->cancel();
  });
  second = loop.make_timer([&] { fired.push_back(2); });
  first->arm(1ms);
  second->arm(1ms);
  loop.advance(1ms);
  CHECK(fired == std::vector<int>{1});
}

TEST_CASE("FakeLoop: timers armed by callbacks fire in the same advance when due") {
  FakeLoop loop;
  const auto start = loop.now();
  std::vector<std::chrono::milliseconds> at;
  std::unique_ptr<Timer> periodic;
  periodic = loop.make_timer([&] {
    at.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(loop.now() - start));
    periodic->arm(10ms);  // re-arm from its own callback
  });
  periodic->arm(10ms);
  loop.advance(35ms);
  CHECK(at == std::vector<std::chrono::milliseconds>{10ms, 20ms, 30ms});
  CHECK(periodic->armed());
  CHECK(loop.next_deadline() == start + 40ms);

  // A zero delay from a callback runs at the same instant, after the caller.
  std::vector<int> order;
  auto later = loop.make_timer([&] { order.push_back(2); });
  auto now_timer = loop.make_timer([&] {
    order.push_back(1);
    later->arm(0ms);
  });
  now_timer->arm(0ms);
  CHECK(loop.run_until_idle() == 2);
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("FakeLoop: a timer may destroy itself from its callback") {
  FakeLoop loop;
  int fired = 0;
  std::unique_ptr<Timer> timer;
  timer = loop.make_timer([&] {
    ++fired;
    timer.reset();  // the owner goes away inside the callback (ASan watches this)
  });
  timer->arm(1ms);
  loop.advance(1ms);
  CHECK(fired == 1);
  CHECK(timer == nullptr);
}

TEST_CASE("FakeLoop: timers that outlive the loop are inert") {
  std::unique_ptr<Timer> timer;
  {
    FakeLoop loop;
    timer = loop.make_timer([] {});
    timer->arm(1ms);
  }
  CHECK_FALSE(timer->armed());
  timer->arm(1ms);
  timer->cancel();
  timer.reset();
}

TEST_CASE("FakeLoop: posted tasks run in order at the current time") {
  FakeLoop loop;
  const auto start = loop.now();
  std::vector<int> order;
  loop.post([&] {
    order.push_back(1);
    loop.post([&] { order.push_back(3); });
  });
  loop.post([&] { order.push_back(2); });
  CHECK(loop.posted_tasks() == 2);
  CHECK(loop.run_until_idle() == 3);
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(loop.now() == start);
}

TEST_CASE("FakeLoop: the wall clock follows the monotonic clock in whole seconds") {
  FakeLoop loop(advpnd::MonotonicTime{} + std::chrono::hours(1), 1'000);
  CHECK(loop.unix_seconds() == 1'000);
  loop.advance(1500ms);
  CHECK(loop.unix_seconds() == 1'001);
  loop.advance(500ms);
  CHECK(loop.unix_seconds() == 1'002);
  loop.advance(-5s);  // time never goes back
  CHECK(loop.unix_seconds() == 1'002);
}

TEST_CASE("FakeLoop: run_until stops as soon as the condition holds") {
  FakeLoop loop;
  const auto start = loop.now();
  int ticks = 0;
  std::unique_ptr<Timer> tick;
  tick = loop.make_timer([&] {
    ++ticks;
    tick->arm(1s);
  });
  tick->arm(1s);
  CHECK(loop.run_until([&] { return ticks == 3; }, 1min));
  CHECK(loop.now() - start == 3s);
  CHECK_FALSE(loop.run_until([&] { return ticks == 100; }, 10s));
  CHECK(loop.now() - start == 13s);
  CHECK(ticks == 13);
}

TEST_CASE("FakeLoop: an exception from a callback is caught, counted, and the loop goes on") {
  FakeLoop loop;
  int fired = 0;
  auto thrower = loop.make_timer([] { throw std::runtime_error("test: deliberate"); });
  auto after = loop.make_timer([&] { ++fired; });
  thrower->arm(1ms);
  after->arm(2ms);
  loop.advance(5ms);
  CHECK(fired == 1);
  CHECK(loop.callback_exceptions() == 1);
}

TEST_CASE("FakeLoop: a livelock of posted tasks is cut off") {
  FakeLoop loop;
  std::function<void()> again = [&] { loop.post(again); };
  loop.post(again);
  CHECK(loop.run_until_idle(1000) == 1000);
  CHECK(loop.posted_tasks() == 1);
}

}  // namespace
