// KernelRoute: one route of the kernel's main routing table, as advpnd keeps
// it (ARCHITECTURE.md "Routing: forwarding follows the kernel's routes").
// FRR (BGP, OSPF), static routes and the kernel's connected routes all land
// here; the dataplanes read them, never the kernel per packet.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/ip_address.h"
#include "shortcut/prefix.h"

namespace advpnd::routing {

// rtm_protocol (linux/rtnetlink.h RTPROT_*, /etc/iproute2/rt_protos): who
// installed the route. Values the kernel does not interpret are kept as
// Other with the number.
enum class RouteProtocol : std::uint8_t {
  Unspecified,  // 0
  Redirect,     // 1: ICMP redirect
  Kernel,       // 2: connected routes of an address
  Boot,         // 3: `ip route add` without `proto`
  Static,       // 4
  Zebra,        // 11: FRR's zebra (static routes of FRR, kernel-learned)
  Bgp,          // 186
  Isis,         // 187
  Ospf,         // 188
  Rip,          // 189
  Advpnd,       // kAdvpndProtocol: routes advpnd installed itself
  Other,
};

// The rtm_protocol advpnd marks its own routes with (unused in
// /etc/iproute2/rt_protos and by FRR's 186-197), so a restarted daemon finds
// and replaces the routes it installed before, and `ip route` shows them.
inline constexpr std::uint8_t kAdvpndProtocol = 173;

[[nodiscard]] RouteProtocol protocol_from_number(std::uint8_t number);
[[nodiscard]] std::string_view to_string(RouteProtocol protocol);

struct KernelRoute {
  shortcut::Prefix prefix;
  IpAddress gateway;          // RTA_GATEWAY; empty: connected (on-link) route
  std::uint32_t ifindex = 0;  // RTA_OIF; 0: none (blackhole, or a multipath route)
  std::string ifname;         // the interface's name when the route was learned
  RouteProtocol protocol = RouteProtocol::Unspecified;
  std::uint8_t protocol_number = 0;  // rtm_protocol as received
  std::uint32_t metric = 0;          // RTA_PRIORITY
  bool reachable = true;             // false: blackhole/unreachable/prohibit (traffic is dropped)

  [[nodiscard]] bool connected() const { return gateway.empty(); }
  // "10.1.0.0/16 via 10.0.0.2 dev advpn0 proto bgp metric 20", as `ip route` prints it.
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const KernelRoute&, const KernelRoute&) = default;
};

}  // namespace advpnd::routing
