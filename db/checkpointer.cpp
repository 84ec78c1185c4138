#include "db/checkpointer.h"

#include <sqlite3.h>

namespace advpnd::db {
namespace {
// The checkpointer waits this long for a lock instead of failing at once;
// it is off the event loop, so waiting costs nothing.
constexpr int kBusyTimeoutMs = 1000;
}  // namespace

Checkpointer::Checkpointer(std::string path, std::chrono::milliseconds interval)
    : path_(std::move(path)), interval_(interval), thread_([this] { run(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::uint64_t Checkpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return checkpoints_;
}

std::uint64_t Checkpointer::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

void Checkpointer::run() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    std::lock_guard<std::mutex> lock(mutex_);
    ++failures_;
    return;  // the store's own connection keeps working; the WAL just grows
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    int wal_frames = 0;
    int checkpointed = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &checkpointed);
    lock.lock();
    if (rc == SQLITE_OK) {
      if (checkpointed > 0) ++checkpoints_;
    } else {
      ++failures_;
    }
  }
  lock.unlock();
  sqlite3_close(db);
}

}  // namespace advpnd::db
