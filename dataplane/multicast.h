// Link-local multicast for IGPs over the overlay (issue #11; what Cisco's
// `ip nhrp map multicast dynamic` does): OSPF hellos and updates (224.0.0.5,
// 224.0.0.6), RIPv2 (224.0.0.9), EIGRP (224.0.0.10) ... are sent NBMA-style,
// as unicast GRE copies:
//
//   spoke kernel ──▶ TUN ──▶ SpokeDataplane ──▶ one copy to each NHS that is up
//   spoke ──GRE──▶ HubDataplane ──▶ hub's TUN (the hub's own ospfd)
//                              └──▶ one copy to every other registered spoke
//   hub kernel ──▶ TUN ──▶ HubDataplane ──▶ one copy to every registered spoke
//
// Only the Local Network Control Block 224.0.0.0/24 (RFC 5771 section 4) is
// carried: "packets to these addresses ... are not forwarded by routers",
// so the TTL is left alone (OSPF sends TTL 1, RFC 2328 A.1) and a copy
// is neither a hair-pin nor a reason for a Traffic Indication. Any other
// multicast needs a multicast router and is dropped (counted as "multicast").
//
// Replication costs one send per spoke, so it is rate-bounded (RFC 2328
// sends a hello each HelloInterval, 10 s by default, per router, and a few
// updates: a few packets per second per spoke is a busy IGP): a token bucket
// per source spoke and one for the total of frames accepted from spokes.
// The hub's own multicast (its own IGP) is not bounded, only counted. Frames
// over a bound are dropped and counted ("multicast-rate-limited").
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/clock.h"
#include "base/ip_address.h"
#include "base/token_bucket.h"

namespace advpnd::dataplane {

// 224.0.0.0/4 (RFC 5771 section 2).
[[nodiscard]] constexpr bool is_ipv4_multicast(const IpAddress& address) {
  return address.family() == AddressFamily::Ipv4 && (address.byte(0) & 0xf0) == 0xe0;
}
// 224.0.0.0/24, the Local Network Control Block (RFC 5771 section 4).
[[nodiscard]] constexpr bool is_link_local_multicast(const IpAddress& address) {
  return address.family() == AddressFamily::Ipv4 && address.byte(0) == 224 && address.byte(1) == 0 &&
         address.byte(2) == 0;
}

struct MulticastConfig {
  bool enabled = true;  // an IGP over the overlay is expected to work out of the box
  // Frames per second one spoke may have replicated by the hub (unused on a spoke).
  TokenRate per_source{50.0, 100.0};
  // Frames per second in total: all spokes together at the hub, the
  // spoke's own kernel at a spoke.
  TokenRate total{500.0, 1000.0};
  std::size_t max_sources = 65536;  // per-source buckets kept (KeyedTokenBucket)
};

struct MulticastStats {
  std::uint64_t frames_in = 0;            // link-local multicast frames accepted for replication
  std::uint64_t copies_out = 0;           // unicast GRE copies sent (to NHSs, or to spokes)
  std::uint64_t to_device = 0;            // (hub) delivered to the hub's own device
  std::uint64_t rate_limited_source = 0;  // dropped by the per-source bucket
  std::uint64_t rate_limited_total = 0;   // dropped by the total bucket
  std::uint64_t not_link_local = 0;       // other multicast, dropped
  std::uint64_t disabled = 0;             // dropped because [multicast] enabled = false
  std::uint64_t no_receiver = 0;          // accepted, but nobody to copy to (no NHS up, no other spoke)
  std::uint64_t not_registered = 0;       // (hub) from a GRE source that holds no registration
};

// The two buckets. The per-source one is asked first, so a flooding spoke
// uses up its own tokens, not the total that the other spokes share.
class MulticastLimiter {
 public:
  enum class Verdict : std::uint8_t { Pass, SourceLimited, TotalLimited };

  explicit MulticastLimiter(const MulticastConfig& config)
      : per_source_(config.per_source, config.max_sources), total_(config.total) {}

  [[nodiscard]] Verdict admit(const IpAddress& source, MonotonicTime now) {
    if (!per_source_.try_take(source, now)) return Verdict::SourceLimited;
    if (!total_.try_take(now)) return Verdict::TotalLimited;
    return Verdict::Pass;
  }
  // A source without a per-source bound (the spoke's own kernel).
  [[nodiscard]] Verdict admit_total(MonotonicTime now) {
    return total_.try_take(now) ? Verdict::Pass : Verdict::TotalLimited;
  }

 private:
  KeyedTokenBucket<IpAddress> per_source_;
  TokenBucket total_;
};

}  // namespace advpnd::dataplane
