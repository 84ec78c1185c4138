// Counters of the user-space dataplanes: drops by reason and the traffic of
// each NBMA peer (both directions, with the last time each was used: the
// shortcut layer's idle timeout reads them through counters()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/clock.h"
#include "base/ip_address.h"
#include "shortcut/dataplane.h"

namespace advpnd::dataplane {

enum class DropReason : std::uint8_t {
  NoRoute,               // no shortcut, no hub (no NHS up), or (hub) no spoke owns the destination
  TooBig,                // larger than the route's MTU with DF set (ICMP "fragmentation needed" sent)
  NotIpv4,               // IPv6 or not IP at all (GRE protocol or version nibble)
  Malformed,             // an IPv4 header that does not parse
  DeviceWriteFailed,     // the TUN refused the packet
  SendFailed,            // the NBMA transport refused the frame
  TtlExpired,            // (hub) TTL would reach 0 when forwarded (RFC 1812 5.3.1)
  Loop,                  // (hub) the owner of the destination is the spoke it came from
  Multicast,             // multicast outside 224.0.0.0/24, or [multicast] enabled = false (dataplane/multicast.h)
  MulticastRateLimited,  // link-local multicast over a replication bound (dataplane/multicast.h)
};
inline constexpr std::size_t kDropReasonCount = 10;
static_assert(static_cast<std::size_t>(DropReason::MulticastRateLimited) + 1 == kDropReasonCount,
              "one counter per reason");

[[nodiscard]] constexpr std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::NoRoute:
      return "no-route";
    case DropReason::TooBig:
      return "too-big";
    case DropReason::NotIpv4:
      return "not-ipv4";
    case DropReason::Malformed:
      return "malformed";
    case DropReason::DeviceWriteFailed:
      return "device-write-failed";
    case DropReason::SendFailed:
      return "send-failed";
    case DropReason::TtlExpired:
      return "ttl-expired";
    case DropReason::Loop:
      return "loop";
    case DropReason::Multicast:
      return "multicast";
    case DropReason::MulticastRateLimited:
      return "multicast-rate-limited";
  }
  return "unknown";
}

class DropCounters {
 public:
  void add(DropReason reason, std::uint64_t count = 1) { counts_[static_cast<std::size_t>(reason)] += count; }
  [[nodiscard]] std::uint64_t operator[](DropReason reason) const { return counts_[static_cast<std::size_t>(reason)]; }
  // Counts one drop and logs it at the 1st, 2nd, 4th, 8th ... of its reason
  // (a flood of drops must not become a flood of log lines).
  void record(DropReason reason, std::string_view device, const IpAddress& about);
  [[nodiscard]] std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (const std::uint64_t count : counts_) sum += count;
    return sum;
  }

 private:
  std::array<std::uint64_t, kDropReasonCount> counts_{};
};

// One NBMA peer's traffic. Bytes are inner (overlay) packet bytes.
struct PeerStats {
  shortcut::PeerCounters counters;
  MonotonicTime last_in{};   // last packet received from the peer (epoch: never)
  MonotonicTime last_out{};  // last packet sent to the peer

  [[nodiscard]] MonotonicTime last_used() const { return last_in > last_out ? last_in : last_out; }
  void count_in(std::size_t bytes, MonotonicTime now) {
    ++counters.packets_in;
    counters.bytes_in += bytes;
    last_in = now;
  }
  void count_out(std::size_t bytes, MonotonicTime now) {
    ++counters.packets_out;
    counters.bytes_out += bytes;
    last_out = now;
  }
};

}  // namespace advpnd::dataplane
