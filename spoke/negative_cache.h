// Targets that recently had no binding (CIE code 12, or FRR's 11) or were
// unreachable (Error Indication 6, NHRP-WIRE.md 8.3 step 6): no new
// Resolution Request for them until the entry expires. Each repeated
// negative answer doubles the time (10 s, 20 s ... 180 s, OpenNHRP's
// negative cache time), so a target that is not registered *yet* is asked
// again soon, and one that never will be costs little. A target with no
// negative answer for kForgetAfter starts again from 10 s. Bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <unordered_map>

#include "base/clock.h"
#include "base/ip_address.h"

namespace advpnd::spoke {

class NegativeCache {
 public:
  static constexpr Duration kFirstHold = std::chrono::seconds(10);
  static constexpr Duration kMaxHold = std::chrono::seconds(180);
  static constexpr Duration kForgetAfter = 2 * kMaxHold;

  explicit NegativeCache(std::size_t max_entries) : max_entries_(max_entries) {}

  // Records a negative answer at `now`; returns how long it holds.
  Duration add(const IpAddress& target, MonotonicTime now);
  // Until when `target` is blocked, or nullopt when it may be resolved.
  [[nodiscard]] std::optional<MonotonicTime> blocked_until(const IpAddress& target, MonotonicTime now) const;
  void erase(const IpAddress& target) { entries_.erase(target); }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    MonotonicTime until{};
    Duration hold{};
  };
  void make_room(MonotonicTime now);

  std::size_t max_entries_;
  std::unordered_map<IpAddress, Entry> entries_;
};

}  // namespace advpnd::spoke
