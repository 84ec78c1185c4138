// Background WAL checkpoints. With SQLite's default, the commit that pushes
// the WAL past 1000 pages also copies it back into the database and syncs
// it: on the hub that is the event loop, stalled for tens of milliseconds
// in the middle of a registration storm or a resolution burst. Instead the
// hub's own connection never checkpoints (wal_autocheckpoint = 0) and this
// thread, with a connection of its own, runs PASSIVE checkpoints (which
// never block readers or writers, SQLite "wal.html" section 6) at a steady
// pace. A failed checkpoint (disk full, busy) is simply tried again later:
// the WAL only grows meanwhile, and every commit stays durable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace advpnd::db {

class Checkpointer {
 public:
  Checkpointer(std::string path, std::chrono::milliseconds interval);
  ~Checkpointer();  // stops and joins the thread
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  [[nodiscard]] std::uint64_t checkpoints() const;
  [[nodiscard]] std::uint64_t failures() const;

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t checkpoints_ = 0;
  std::uint64_t failures_ = 0;
  std::thread thread_;  // last: started once everything above is ready
};

}  // namespace advpnd::db
