#include "db/store_thread.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace advpnd::db {

Result<std::unique_ptr<StoreThread>, std::string> StoreThread::create() {
  platform::UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd.valid()) return fail(std::string("eventfd: ") + std::strerror(errno));
  return std::unique_ptr<StoreThread>(new StoreThread(std::move(fd)));
}

StoreThread::StoreThread(platform::UniqueFd event_fd) : event_fd_(std::move(event_fd)), thread_([this] { run(); }) {}

StoreThread::~StoreThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void StoreThread::post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Every posted task gets a completion, so undelivered_ always comes back down.
    tasks_.push_back([task = std::move(task)]() -> Completion {
      Completion completion = task();
      return completion ? completion : Completion([] {});
    });
    ++undelivered_;
  }
  work_.notify_one();
}

void StoreThread::call(const std::function<void()>& task) {
  std::mutex done_mutex;
  std::condition_variable done_signal;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back([&]() -> Completion {
      task();
      std::lock_guard<std::mutex> done_lock(done_mutex);
      done = true;
      done_signal.notify_one();
      return nullptr;  // the caller is waiting: nothing to deliver
    });
  }
  work_.notify_one();
  std::unique_lock<std::mutex> done_lock(done_mutex);
  done_signal.wait(done_lock, [&] { return done; });
}

std::size_t StoreThread::deliver_completions() {
  std::uint64_t signalled = 0;
  // Clears the eventfd; EAGAIN (nothing signalled) is fine, the queue decides.
  (void)!::read(event_fd_.get(), &signalled, sizeof signalled);
  std::deque<Completion> ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready.swap(completions_);
    undelivered_ -= ready.size();
  }
  for (Completion& completion : ready) completion();
  return ready.size();
}

void StoreThread::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return tasks_.empty() && running_ == 0; });
}

std::size_t StoreThread::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return undelivered_;
}

void StoreThread::run() {
  // The event loop answers resolutions without the store; when both want the
  // one CPU left, the loop goes first (measured with bench/run-hub-load.sh on
  // 2 cores: resolution p99 70 ms at nice 0). Best effort: failing is harmless.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNiceness);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, and everything queued has run
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    running_ = 1;
    lock.unlock();
    Completion completion = task();
    lock.lock();
    running_ = 0;
    if (completion) {
      completions_.push_back(std::move(completion));
      const std::uint64_t one = 1;
      (void)!::write(event_fd_.get(), &one, sizeof one);
    }
    idle_.notify_all();
  }
}

}  // namespace advpnd::db
