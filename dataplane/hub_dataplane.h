// HubDataplane: the user-space dataplane of a hub (ARCHITECTURE.md "One
// packet's journey": the hair-pin that phase 3 exists to remove).
//
//   spoke A ──GRE──▶ NextHopServer data handler ──▶ on_frame
//        destination in a local prefix (the hub's own address, its LANs)
//             ──▶ hub's device (TUN): not a hair-pin
//        else the spoke owning it (BindingCache::longest_match)
//             ──▶ its NBMA (post-NAT if known), TTL - 1, outer TOS = inner TOS,
//                 and RedirectPolicy::on_hairpin(A, packet): A is told
//                 (rate limited) to resolve the destination itself
//        else the kernel's route (kernel_next_hop.h; none when routing is not
//        followed):
//           out of another interface (LAN, data centre, default route)
//             ──▶ hub's device: the kernel forwards it (needs ip_forward=1)
//           via an overlay gateway (BGP next hop: a spoke that registered
//           only its /32, another NHS) ──▶ the NBMA of the gateway's binding
//             (or of the upstream NHS it is: NextHopServer::nbma_of_overlay),
//             as a hair-pin (TTL - 1, redirect policy told)
//        else dropped (no route)
//      link-local multicast (224.0.0.0/24, dataplane/multicast.h): rate-bounded
//        (per spoke, total) ──▶ hub's device and a copy to every other
//        registered spoke, TTL untouched, no redirect
//   host ──▶ device ──burst──▶ the owning spoke (binding, or the binding of the
//                              kernel route's overlay gateway) ──▶ one batch per burst
//
// The most specific match wins between local prefixes and registrations;
// on a tie the local prefix wins (a spoke cannot register the hub's own
// address away from it).
//
// Spoke-to-spoke forwarding bypasses the kernel, so the hub does what a
// router does (RFC 1812 5.3.1): decrement the TTL and drop at 0. Packets to
// and from the device are the kernel's to route (it decrements there).
// Link-local multicast is not routed (RFC 5771 section 4), so its copies
// keep their TTL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/nbma_transport.h"
#include "dataplane/dataplane_stats.h"
#include "dataplane/frame_sender.h"
#include "dataplane/ipv4_packet.h"
#include "dataplane/kernel_next_hop.h"
#include "dataplane/multicast.h"
#include "dataplane/packet_device.h"
#include "dataplane/peer_table.h"
#include "hub/next_hop_server.h"
#include "shortcut/prefix.h"

namespace advpnd::dataplane {

struct HubDataplaneConfig {
  // Delivered to the hub's own device: at least the hub's overlay address
  // as a host prefix; add LANs behind the hub, or 0.0.0.0/0 to hand the
  // kernel whatever no spoke owns.
  std::vector<shortcut::Prefix> local_prefixes;
  std::size_t max_peers = 65536;
  Duration forget_idle_peer = std::chrono::hours(1);
  // The kernel's routes for what no binding or local prefix covers.
  KernelRouting routing;
  // Link-local multicast replication (IGPs over the overlay).
  MulticastConfig multicast;
};

struct HubDataplaneStats {
  std::uint64_t hairpinned = 0;   // spoke -> spoke through the hub
  std::uint64_t to_device = 0;    // spoke -> hub's host
  std::uint64_t from_device = 0;  // hub's host -> spoke (multicast copies included)
  std::uint64_t bursts = 0;
  std::uint64_t by_kernel_route = 0;  // of the above, sent where a kernel route said
  MulticastStats multicast;
  DropCounters drops;
};

class HubDataplane {
 public:
  // Takes the NHS's data frame handler and the device's handler (both given
  // back on destruction). Everything passed in must outlive the dataplane.
  HubDataplane(HubDataplaneConfig config, PacketDevice& device, NbmaTransport& transport, hub::NextHopServer& nhs,
               const Clock& clock);
  ~HubDataplane();
  HubDataplane(const HubDataplane&) = delete;
  HubDataplane& operator=(const HubDataplane&) = delete;

  // An overlay frame from a spoke (the NHS's data handler).
  void on_frame(const NbmaFrame& frame);
  // A burst from the hub's own device.
  void on_device_burst(PacketBurst packets);

  [[nodiscard]] std::optional<shortcut::PeerCounters> counters(const IpAddress& peer_nbma) const;
  [[nodiscard]] const PeerStats* peer_stats(const IpAddress& peer_nbma) const { return peers_.find(peer_nbma); }
  [[nodiscard]] const HubDataplaneStats& stats() const { return stats_; }

 private:
  struct Owner {
    bool local = false;     // the hub's device
    IpAddress nbma;         // else the spoke's NBMA; empty: nobody
    bool by_route = false;  // decided by a kernel route, not a binding
  };
  [[nodiscard]] Owner owner_of(const IpAddress& destination) const;
  [[nodiscard]] Owner owner_by_route(const IpAddress& destination) const;
  [[nodiscard]] IpAddress nbma_of(const db::Binding& binding) const;
  void drop(DropReason reason, const IpAddress& about);
  // A multicast datagram from a spoke (`source`: its outer NBMA).
  void on_multicast_frame(const IpAddress& source, const InnerIpv4& header, std::span<const std::byte> datagram,
                          MonotonicTime now);
  // False (dropped and counted) unless `destination` is link-local
  // multicast and replication is on.
  bool multicast_allowed(const IpAddress& destination);
  // receivers_ = the NBMA of every registered spoke (unexpired binding,
  // post-NAT if known) except `except`, each once.
  void collect_receivers(const IpAddress& except);

  HubDataplaneConfig config_;
  PacketDevice& device_;
  FrameSender sender_;
  hub::NextHopServer& nhs_;
  const Clock& clock_;
  PeerTable peers_;
  MulticastLimiter multicast_limiter_;
  std::vector<IpAddress> receivers_;  // of one multicast datagram; capacity kept
  HubDataplaneStats stats_;
  std::vector<platform::OutgoingFrame> outgoing_;
  std::vector<std::byte> forward_buffer_;  // a writable copy for the TTL decrement
};

}  // namespace advpnd::dataplane
