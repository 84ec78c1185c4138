// Bindings of the stations that resolved us (RFC 2332 5.2.1: "the
// responding station may cache the source binding"): protocol address ->
// NBMA (NAT-corrected), holding time, MTU. The shortcut layer reads it to
// reach a peer that set up a shortcut toward us before we resolved it.
// Entries expire with their holding time; the table is bounded (when full,
// the entry that expires first goes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"

namespace advpnd::spoke {

struct PeerBinding {
  IpAddress protocol;
  IpAddress nbma;          // NAT-corrected: where to send
  IpAddress claimed_nbma;  // the Source NBMA of its request
  std::uint16_t holding_time = 0;
  std::uint16_t mtu = 0;
  MonotonicTime expires{};
};

class PeerCache {
 public:
  explicit PeerCache(std::size_t max_entries) : max_entries_(max_entries) {}

  void upsert(const PeerBinding& binding, MonotonicTime now);
  // Removes the bindings inside protocol/prefix_length (0 or >= width: the
  // host); returns what was removed.
  std::vector<PeerBinding> erase(const IpAddress& protocol, std::uint8_t prefix_length);
  [[nodiscard]] std::optional<PeerBinding> find(const IpAddress& protocol, MonotonicTime now) const;
  // Unexpired bindings, by protocol address.
  [[nodiscard]] std::vector<PeerBinding> all(MonotonicTime now) const;
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  void make_room(MonotonicTime now);

  std::size_t max_entries_;
  std::map<IpAddress, PeerBinding> entries_;
};

}  // namespace advpnd::spoke
