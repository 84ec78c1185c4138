#include "fakes/fake_loop.h"

#include <algorithm>
#include <exception>
#include <string>

#include "base/log.h"

namespace advpnd::fakes {

// The callback lives in a shared_ptr that the loop copies before calling it,
// so a callback may destroy its own timer (its owner going away).
class FakeLoop::FakeTimer final : public Timer {
 public:
  FakeTimer(FakeLoop& loop, std::function<void()> on_fire)
      : loop_(&loop), on_fire_(std::make_shared<std::function<void()>>(std::move(on_fire))) {}
  ~FakeTimer() override {
    if (loop_ != nullptr) loop_->forget(*this);
  }
  FakeTimer(const FakeTimer&) = delete;
  FakeTimer& operator=(const FakeTimer&) = delete;

  void arm(Duration delay) override {
    if (loop_ != nullptr) loop_->arm(*this, delay);
  }
  void cancel() override {
    if (loop_ != nullptr) loop_->cancel(*this);
  }
  [[nodiscard]] bool armed() const override { return key_.has_value(); }

  FakeLoop* loop_;
  std::shared_ptr<std::function<void()>> on_fire_;
  std::optional<Key> key_;
};

FakeLoop::FakeLoop(MonotonicTime start, std::int64_t unix_start)
    : start_(start), now_(start), unix_start_(unix_start) {}

FakeLoop::~FakeLoop() {
  for (FakeTimer* timer : live_) {
    timer->loop_ = nullptr;
    timer->key_.reset();
  }
}

std::int64_t FakeLoop::unix_seconds() const {
  return unix_start_ + std::chrono::duration_cast<std::chrono::seconds>(now_ - start_).count();
}

std::unique_ptr<Timer> FakeLoop::make_timer(std::function<void()> on_fire) {
  auto timer = std::make_unique<FakeTimer>(*this, std::move(on_fire));
  live_.insert(timer.get());
  return timer;
}

void FakeLoop::arm(FakeTimer& timer, Duration delay) {
  cancel(timer);
  const Key key{now_ + std::max(delay, Duration::zero()), next_sequence_++};
  schedule_.emplace(key, &timer);
  timer.key_ = key;
}

void FakeLoop::cancel(FakeTimer& timer) {
  if (timer.key_) schedule_.erase(*timer.key_);
  timer.key_.reset();
}

void FakeLoop::forget(FakeTimer& timer) {
  cancel(timer);
  live_.erase(&timer);
}

void FakeLoop::post(std::function<void()> task) { tasks_.push_back(std::move(task)); }

void FakeLoop::invoke(const char* what, std::function<void()>& callback) {
  if (!callback) return;
  try {
    callback();
  } catch (const std::exception& e) {
    ++callback_exceptions_;
    log::error("fake-loop", std::string(what) + ": callback threw: " + e.what());
  } catch (...) {
    ++callback_exceptions_;
    log::error("fake-loop", std::string(what) + ": callback threw a non-std exception");
  }
}

bool FakeLoop::run_one() {
  if (!tasks_.empty()) {
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    invoke("task", task);
    return true;
  }
  if (schedule_.empty() || schedule_.begin()->first.first > now_) return false;
  FakeTimer* timer = schedule_.begin()->second;
  schedule_.erase(schedule_.begin());
  timer->key_.reset();
  const std::shared_ptr<std::function<void()>> on_fire = timer->on_fire_;  // `timer` may die inside
  invoke("timer", *on_fire);
  return true;
}

std::size_t FakeLoop::run_until_idle(std::size_t callback_limit) {
  std::size_t ran = 0;
  while (run_one()) {
    if (++ran >= callback_limit) {
      log::error("fake-loop", std::to_string(ran) + " callbacks without going idle: stopping (livelock?)");
      break;
    }
  }
  return ran;
}

std::size_t FakeLoop::advance(Duration delta) {
  const MonotonicTime target = now_ + std::max(delta, Duration::zero());
  std::size_t ran = run_until_idle();
  for (auto next = next_deadline(); next && *next <= target; next = next_deadline()) {
    now_ = std::max(now_, *next);
    ran += run_until_idle();
  }
  now_ = target;
  return ran + run_until_idle();
}

bool FakeLoop::run_until(const std::function<bool()>& done, Duration limit) {
  const MonotonicTime deadline = now_ + std::max(limit, Duration::zero());
  std::size_t ran = 0;
  while (!done()) {
    if (run_one()) {
      if (++ran >= kDefaultCallbackLimit) return false;
      continue;
    }
    const auto next = next_deadline();
    if (!next || *next > deadline) {
      now_ = std::max(now_, deadline);
      return done();
    }
    now_ = std::max(now_, *next);
  }
  return true;
}

std::optional<MonotonicTime> FakeLoop::next_deadline() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first.first;
}

}  // namespace advpnd::fakes
