// Keeps event logs from becoming per-packet spam under a flood (log.h: "no
// per-packet spam at the default level"): per key (a reason and a peer), the
// first line goes out, then at most one line per interval, which says how
// many were held back. Bounded: at most kMaxKeys keys are remembered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "base/log.h"

namespace advpnd::hub {

class LogThrottle {
 public:
  static constexpr std::size_t kMaxKeys = 4096;
  explicit LogThrottle(std::chrono::seconds interval = std::chrono::seconds(10)) : interval_(interval) {}

  void write(MonotonicTime now, log::Level level, std::string_view component, const std::string& key,
             const std::string& text) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= kMaxKeys) entries_.clear();  // forget rather than grow
      it = entries_.emplace(key, Entry{}).first;
    } else if (now - it->second.last < interval_) {
      ++it->second.held_back;
      return;
    }
    const std::uint64_t held = it->second.held_back;
    it->second = Entry{now, 0};
    log::write(level, component, held == 0 ? text : text + " (" + std::to_string(held) + " more like it held back)");
  }

 private:
  struct Entry {
    MonotonicTime last{};
    std::uint64_t held_back = 0;
  };
  std::chrono::seconds interval_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace advpnd::hub
