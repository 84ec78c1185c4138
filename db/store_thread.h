// StoreThread: the one thread that touches the hub's SQLite connection
// (issue #10 item 7: "the hub's event loop never waits on fsync").
//
// The owner (the event loop) hands it work in two ways:
//  * post(task): queued, run on the store thread in FIFO order; the task
//    returns a completion, which is queued for the owner and signalled on
//    completion_fd() (an eventfd, readable while completions wait). The owner
//    runs them, in the order the tasks were posted, with deliver_completions()
//    on its own thread: that is where the hub applies a committed batch to its
//    cache and sends the replies.
//  * call(task): queued behind everything posted before, and the owner blocks
//    until it has run (startup load, sweeps, audit reads: rare, and ordered
//    with the commits before them).
//
// Destruction runs every task already queued (an acknowledged-to-be batch is
// never silently dropped), joins the thread and drops undelivered completions.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "base/result.h"
#include "platform/unique_fd.h"

namespace advpnd::db {

class StoreThread {
 public:
  using Completion = std::function<void()>;
  using Task = std::function<Completion()>;

  // Fails (a value) when the eventfd cannot be created.
  [[nodiscard]] static Result<std::unique_ptr<StoreThread>, std::string> create();
  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  void post(Task task);
  void call(const std::function<void()>& task);

  [[nodiscard]] int completion_fd() const { return event_fd_.get(); }
  // Runs the completions ready now, in posting order; returns how many.
  std::size_t deliver_completions();
  // Blocks until every task posted so far has run (its completion is then
  // ready for deliver_completions()). For shutdown and tests.
  void wait_idle();
  // Tasks posted whose completion has not been delivered yet.
  [[nodiscard]] std::size_t in_flight() const;

 private:
  explicit StoreThread(platform::UniqueFd event_fd);
  void run();
  static constexpr int kNiceness = 5;

  platform::UniqueFd event_fd_;
  mutable std::mutex mutex_;
  std::condition_variable work_;  // tasks_ not empty, or stopping_
  std::condition_variable idle_;  // a task finished
  std::deque<Task> tasks_;
  std::deque<Completion> completions_;
  std::size_t running_ = 0;      // 0 or 1: the task being run now
  std::size_t undelivered_ = 0;  // posted, completion not yet delivered
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above is ready
};

}  // namespace advpnd::db
