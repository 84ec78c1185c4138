// SpokeDataplane: the user-space dataplane of a spoke (ARCHITECTURE.md "One
// packet's journey", "Two dataplanes"), and the ShortcutDataplane the
// shortcut layer drives.
//
//   host ──▶ device (TUN) ──burst──▶ on_device_burst
//              for each IPv4 packet: route = shortcut table (longest prefix)
//                                    else a kernel route via an overlay gateway
//                                      (kernel_next_hop.h: a BGP next hop) ->
//                                      the gateway's shortcut, else the hub
//                                    else the hub (primary NHS's NBMA)
//              too big for the route? DF: ICMP "fragmentation needed" back
//                                     into the device; no DF: send anyway
//              GRE 0x0800, outer TOS = inner TOS ──▶ one batch per burst
//              link-local multicast (224.0.0.0/24, dataplane/multicast.h):
//                rate-bounded, one copy to each NHS that is up (set_nhs_nbmas);
//                other multicast dropped
//   NBMA ──▶ Nhc data handler ──▶ on_frame ──▶ device.write
//
// Single-threaded on the event loop: a route change (route_via_peer /
// route_via_hub) lands between two bursts, so no packet is dropped or
// reordered by a switch; each burst is routed with one table.
//
// MTU (RFC 2332 5.2.0.1 CIE MTU, 0 = default): a route's MTU is taken as
// the size of the GRE packet on the NBMA path, so the largest inner packet
// is mtu - 20 (outer IPv4) - 4 or 8 (GRE, with a key: RFC 2890). Routes
// without an MTU, and the hub, use `default_mtu`. MTUs below 576 (RFC 791:
// every host accepts 576) are taken for 0, so a peer cannot make us send
// ICMP for every packet.
//
// ICMP "fragmentation needed" (RFC 1191) is written back into the device
// from the unreachable destination's address (as tinc does): Linux drops a
// packet arriving on the TUN whose source is one of its own addresses
// (a martian), and accepts PMTU information from any source. ICMP errors
// are rate limited per sender (RFC 1812 4.3.2.8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/nbma_transport.h"
#include "base/token_bucket.h"
#include "dataplane/dataplane_stats.h"
#include "dataplane/frame_sender.h"
#include "dataplane/ipv4_packet.h"
#include "dataplane/kernel_next_hop.h"
#include "dataplane/multicast.h"
#include "dataplane/packet_device.h"
#include "dataplane/peer_table.h"
#include "dataplane/route_table.h"
#include "shortcut/dataplane.h"

namespace advpnd::dataplane {

inline constexpr std::size_t kOuterIpv4Overhead = 20;  // RFC 791, no options
inline constexpr std::size_t kGreOverhead = 4;         // RFC 2784 flags + protocol
inline constexpr std::size_t kGreKeyOverhead = 4;      // RFC 2890 key
inline constexpr std::uint16_t kMinRouteMtu = 576;     // RFC 791 3.1 "Total Length"

struct SpokeDataplaneConfig {
  IpAddress hub_nbma;                // primary NHS; empty: none up yet (set_hub_nbma)
  std::uint16_t default_mtu = 1500;  // NBMA path MTU for the hub and routes with MTU 0
  bool gre_key = false;              // the transport adds a GRE key (8-byte GRE header)
  std::size_t max_peers = 65536;
  Duration forget_idle_peer = std::chrono::hours(1);
  TokenRate icmp_rate{10.0, 10.0};  // ICMP errors per sender address
  std::size_t icmp_max_senders = 4096;
  // The kernel's routes: a route into the overlay whose gateway is another
  // spoke (BGP next hop unchanged) follows that spoke's shortcut when there is one.
  KernelRouting routing;
  // Link-local multicast to the NHSs (IGPs over the overlay); `total` bounds it.
  MulticastConfig multicast;
};

struct SpokeDataplaneStats {
  std::uint64_t packets_to_peers = 0;   // host -> NBMA over a shortcut
  std::uint64_t packets_to_hub = 0;     // host -> NBMA via the hub
  std::uint64_t by_kernel_route = 0;    // of the above, the next hop of a kernel route's gateway
  std::uint64_t packets_from_nbma = 0;  // NBMA -> host
  std::uint64_t fragmented = 0;         // larger than the route MTU without DF: sent, the outer packet fragments
  std::uint64_t icmp_sent = 0;          // "fragmentation needed" written back
  std::uint64_t icmp_rate_limited = 0;
  std::uint64_t bursts = 0;
  MulticastStats multicast;
  DropCounters drops;
};

class SpokeDataplane final : public shortcut::ShortcutDataplane {
 public:
  // Takes the device's handler. `device`, `transport` and `clock` must
  // outlive the dataplane. Frames from the NBMA side arrive through
  // on_frame(): set it as the Nhc's data frame handler.
  SpokeDataplane(const SpokeDataplaneConfig& config, PacketDevice& device, NbmaTransport& transport,
                 const Clock& clock);
  ~SpokeDataplane() override;
  SpokeDataplane(const SpokeDataplane&) = delete;
  SpokeDataplane& operator=(const SpokeDataplane&) = delete;

  // shortcut::ShortcutDataplane
  void route_via_peer(const shortcut::Prefix& prefix, const IpAddress& peer_nbma, std::uint16_t mtu) override;
  void route_via_hub(const shortcut::Prefix& prefix) override;
  [[nodiscard]] std::optional<shortcut::PeerCounters> counters(const IpAddress& peer_nbma) const override;

  // Fail-over: the primary NHS changed (empty: none is up; hub traffic drops).
  void set_hub_nbma(const IpAddress& hub_nbma) { config_.hub_nbma = hub_nbma; }
  [[nodiscard]] const IpAddress& hub_nbma() const { return config_.hub_nbma; }
  // Every NHS that is up (registered): where link-local multicast goes
  // (Cisco `ip nhrp map multicast` for each NHS).
  void set_nhs_nbmas(std::vector<IpAddress> nbmas) { nhs_nbmas_ = std::move(nbmas); }
  [[nodiscard]] const std::vector<IpAddress>& nhs_nbmas() const { return nhs_nbmas_; }

  // A GRE frame that is not NHRP, from the Nhc's data handler.
  void on_frame(const NbmaFrame& frame);
  // A burst read from the device (public for tests; the device calls it).
  void on_device_burst(PacketBurst packets);

  // The next hop and inner MTU a packet to `destination` would take now.
  struct NextHop {
    IpAddress nbma;  // empty: no route
    std::size_t max_inner = 0;
    bool shortcut = false;
    bool by_route = false;  // through a kernel route's overlay gateway
  };
  [[nodiscard]] NextHop next_hop(const IpAddress& destination) const;

  [[nodiscard]] const PeerStats* peer_stats(const IpAddress& peer_nbma) const { return peers_.find(peer_nbma); }
  [[nodiscard]] const PeerTable& peers() const { return peers_; }
  [[nodiscard]] const RouteTable& routes() const { return routes_; }
  [[nodiscard]] const SpokeDataplaneStats& stats() const { return stats_; }

 private:
  [[nodiscard]] std::size_t max_inner(std::uint16_t route_mtu) const;
  // Handles one packet of a burst; true when it was queued in outgoing_.
  bool route_packet(std::span<const std::byte> packet, MonotonicTime now);
  // A multicast packet of a burst: copies queued in outgoing_, or dropped.
  void route_multicast(std::span<const std::byte> datagram, const InnerIpv4& header, MonotonicTime now);
  void send_fragmentation_needed(std::span<const std::byte> packet, const InnerIpv4& header, std::size_t max_inner,
                                 MonotonicTime now);
  // Counts the drop; logs the first ones and then every power of two.
  void drop(DropReason reason, const IpAddress& about);

  SpokeDataplaneConfig config_;
  PacketDevice& device_;
  FrameSender sender_;
  const Clock& clock_;
  RouteTable routes_;
  PeerTable peers_;
  KeyedTokenBucket<IpAddress> icmp_rate_;
  MulticastLimiter multicast_limiter_;
  std::vector<IpAddress> nhs_nbmas_;
  SpokeDataplaneStats stats_;
  std::vector<platform::OutgoingFrame> outgoing_;  // one burst; capacity kept
  std::vector<std::byte> icmp_buffer_;
};

}  // namespace advpnd::dataplane
