#include "spoke/negative_cache.h"

#include <algorithm>

#include "base/backoff.h"

namespace advpnd::spoke {

Duration NegativeCache::add(const IpAddress& target, MonotonicTime now) {
  auto it = entries_.find(target);
  if (it != entries_.end() && now - it->second.until >= kForgetAfter) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    make_room(now);
    if (max_entries_ == 0) return Duration::zero();
    it = entries_.emplace(target, Entry{}).first;
  }
  Entry& entry = it->second;
  entry.hold = next_backoff(entry.hold, kFirstHold, kMaxHold);
  entry.until = now + entry.hold;
  return entry.hold;
}

std::optional<MonotonicTime> NegativeCache::blocked_until(const IpAddress& target, MonotonicTime now) const {
  auto it = entries_.find(target);
  if (it == entries_.end() || it->second.until <= now) return std::nullopt;
  return it->second.until;
}

// Drops what is forgotten anyway; if the table is still full, the entry
// that expires first.
void NegativeCache::make_room(MonotonicTime now) {
  if (entries_.size() < max_entries_) return;
  std::erase_if(entries_, [now](const auto& entry) { return now - entry.second.until >= kForgetAfter; });
  if (entries_.size() < max_entries_ || entries_.empty()) return;
  auto soonest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const auto& a, const auto& b) { return a.second.until < b.second.until; });
  entries_.erase(soonest);
}

}  // namespace advpnd::spoke
