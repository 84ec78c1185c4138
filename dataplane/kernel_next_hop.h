// What the kernel's routing table says about an overlay packet that no NHRP
// binding or shortcut covers (ARCHITECTURE.md "Routing: forwarding follows
// the kernel's routes"). Both dataplanes ask this after their own, more
// specific, NHRP routes:
//
//   no table, no route                       -> NoRoute (dropped, counted)
//   blackhole / unreachable / prohibit       -> NoRoute (the kernel would drop it too)
//   a route out of another interface         -> Kernel: write the packet to the device,
//     (a LAN, a data centre, the default)       the kernel forwards it
//   a route into the overlay with a gateway  -> OverlayGateway: send it to the NBMA
//     (BGP next hop = another spoke or NHS)     of that overlay address
//   a connected route into the overlay       -> NoRoute: an overlay address nobody
//     (the tunnel subnet itself)                registered; the kernel would hand it back
//
// "Into the overlay" is decided by the route's output interface (the TUN's
// ifindex), not by address ranges, so it holds whatever the overlay subnet.
#pragma once

#include <cstdint>
#include <optional>

#include "base/ip_address.h"
#include "routing/kernel_route_table.h"

namespace advpnd::dataplane {

struct KernelRouting {
  const routing::KernelRouteTable* routes = nullptr;  // null: routing not followed
  std::uint32_t overlay_ifindex = 0;                  // the TUN's ifindex
};

struct KernelNextHop {
  enum class Kind : std::uint8_t { NoRoute, Kernel, OverlayGateway };
  Kind kind = Kind::NoRoute;
  IpAddress gateway;  // OverlayGateway: the overlay address to send to
};

[[nodiscard]] KernelNextHop kernel_next_hop(const KernelRouting& routing, const IpAddress& destination);

// The overlay next hop of `destination` (KernelNextHop::OverlayGateway), or
// nullopt: what the hub forwards a Resolution Request along (RFC 2332 5.3).
[[nodiscard]] std::optional<IpAddress> overlay_gateway(const KernelRouting& routing, const IpAddress& destination);

// The prefix length a spoke answers a Resolution Request for `target` with
// when its own kernel routes `target` to a LAN (what a Cisco spoke does:
// the reply carries the route's prefix). Not for routes into the overlay,
// default routes, unreachable routes, or routes out of the interface that
// carries `nbma_probe` (an NHS's NBMA address: the WAN is not a LAN behind
// us). nullopt when the spoke does not serve `target`.
[[nodiscard]] std::optional<std::uint8_t> lan_route_prefix(const KernelRouting& routing, const IpAddress& target,
                                                           const IpAddress& nbma_probe);

}  // namespace advpnd::dataplane
