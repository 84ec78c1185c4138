// Redirect policy (DMVPN phase 3): the dataplane calls on_hairpin() for each
// packet that arrived from spoke A and leaves to spoke B through the hub.
// The policy sends A a Traffic Indication quoting the start of the packet
// (NHRP-WIRE.md 5), at most `rate` per (source, destination) pair, with a
// burst (default 4 per minute, burst 1: the default; OpenNHRP uses
// a similar token scheme, 8.3).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/clock.h"
#include "base/ip_address.h"
#include "base/token_bucket.h"
#include "nhrp/builders.h"

namespace advpnd::hub {

struct RedirectConfig {
  bool enabled = true;
  TokenRate rate{4.0 / 60.0, 1.0};
  std::size_t max_pairs = 65536;  // bounded memory under a flood of distinct pairs
};

struct RedirectStats {
  std::uint64_t hairpins = 0;
  std::uint64_t indications_sent = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t unparseable = 0;  // inner packet without a full IP header
};

class RedirectPolicy {
 public:
  // Sends an encoded Traffic Indication to a spoke's NBMA address.
  using SendIndication = std::function<void(const IpAddress& spoke_nbma, const nhrp::Packet& indication)>;

  RedirectPolicy(RedirectConfig config, nhrp::Sender hub, const Clock& clock, SendIndication send);

  // `inner_packet` starts at the IP header of the hair-pinned packet;
  // `source_spoke_nbma` is where it came from (post-NAT).
  void on_hairpin(const IpAddress& source_spoke_nbma, std::span<const std::byte> inner_packet);

  // SIGHUP: new limits, and the hub's sender details (its auth password).
  void reconfigure(const RedirectConfig& config, nhrp::Sender hub);
  [[nodiscard]] const RedirectStats& stats() const { return stats_; }

 private:
  struct PairHash {
    std::size_t operator()(const std::pair<IpAddress, IpAddress>& pair) const noexcept {
      return std::hash<IpAddress>{}(pair.first) * 31 + std::hash<IpAddress>{}(pair.second);
    }
  };

  RedirectConfig config_;
  nhrp::Sender hub_;
  const Clock& clock_;
  SendIndication send_;
  KeyedTokenBucket<std::pair<IpAddress, IpAddress>, PairHash> buckets_;
  RedirectStats stats_;
};

}  // namespace advpnd::hub
