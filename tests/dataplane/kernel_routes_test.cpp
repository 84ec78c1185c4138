// Forwarding by the kernel's routes (dataplane/kernel_next_hop.h), both
// roles, in process: the hub and spoke dataplanes follow a route table
// (routing::FakeRouteSource) as the daemons follow the kernel's by netlink.
//   hub: a spoke reaches a data-centre LAN behind the hub (handed to the
//        kernel); a LAN behind a spoke that registered only its /32 is
//        reached through the BGP route's overlay next hop, both from another
//        spoke (a hair-pin: redirect) and from the hub's kernel;
//   spoke: a BGP route whose next hop is another spoke follows that spoke's
//        shortcut once there is one;
//   changes of the table apply to the next packet; what no route covers,
//   unreachable routes, and overlay addresses nobody registered are dropped.
#include <doctest/doctest.h>

#include "routing/route_source.h"
#include "tests/dataplane/mission.h"

namespace advpnd::dataplane {
namespace {

using shortcut::Prefix;
using test::counters_of;
using test::ip;
using test::Mission;
using test::Spoke;
using test::udp_packet;

constexpr std::uint32_t kOverlayIfindex = 7;  // the TUN
constexpr std::uint32_t kDataCentreIfindex = 3;

routing::KernelRoute route(const char* destination, std::uint8_t length, const char* gateway, std::uint32_t ifindex,
                           routing::RouteProtocol protocol = routing::RouteProtocol::Bgp) {
  routing::KernelRoute made;
  made.prefix = Prefix::of(ip(destination), length);
  if (gateway != nullptr) made.gateway = ip(gateway);
  made.ifindex = ifindex;
  made.protocol = protocol;
  return made;
}

// The hub's kernel: the overlay subnet on the TUN, a data centre on another
// interface, spoke b's LAN learned by BGP with b's overlay address as next hop.
struct HubRoutes {
  HubRoutes() {
    auto& table = source.table();
    table.upsert(route("10.0.0.0", 24, nullptr, kOverlayIfindex, routing::RouteProtocol::Kernel));
    table.upsert(route("10.9.0.0", 24, nullptr, kDataCentreIfindex, routing::RouteProtocol::Kernel));
    table.upsert(route("10.1.2.0", 24, "10.0.0.3", kOverlayIfindex));
  }
  [[nodiscard]] KernelRouting routing() const { return {&source.routes(), kOverlayIfindex}; }
  routing::FakeRouteSource source;
};

TEST_CASE("hub: a spoke reaches the data centre behind the hub through the hub's kernel") {
  HubRoutes routes;
  Mission m(routes.routing());
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();

  const auto to_dc = a.packet_to(ip("10.9.0.10"), 1);
  a.device.inject(to_dc);
  m.settle();
  REQUIRE(m.hub.device.written().size() == 1);
  CHECK(m.hub.device.written()[0] == to_dc);  // untouched: the kernel decrements the TTL
  CHECK(m.hub.dataplane->stats().to_device == 1);
  CHECK(m.hub.dataplane->stats().by_kernel_route == 1);
  CHECK(m.hub.redirects().hairpins == 0);  // not spoke to spoke

  SUBCASE("the route withdrawn: the next packet is dropped (no route), the state is not stale") {
    REQUIRE(routes.source.table().remove(Prefix::of(ip("10.9.0.0"), 24), 0));
    a.device.inject(a.packet_to(ip("10.9.0.10"), 2));
    m.settle();
    CHECK(m.hub.device.written().size() == 1);
    CHECK(m.hub.dataplane->stats().drops[DropReason::NoRoute] == 1);
  }
  SUBCASE("a blackhole route drops, as the kernel would") {
    auto discard = route("10.9.0.0", 24, nullptr, 0, routing::RouteProtocol::Static);
    discard.reachable = false;
    routes.source.table().upsert(discard);
    a.device.inject(a.packet_to(ip("10.9.0.10"), 2));
    m.settle();
    CHECK(m.hub.device.written().size() == 1);
    CHECK(m.hub.dataplane->stats().drops[DropReason::NoRoute] == 1);
  }
}

TEST_CASE("hub: without a route table the data centre is unreachable (what main did)") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  m.settle();
  a.device.inject(a.packet_to(ip("10.9.0.10"), 1));
  m.settle();
  CHECK(m.hub.device.written().empty());
  CHECK(m.hub.dataplane->stats().drops[DropReason::NoRoute] == 1);
}

TEST_CASE("hub: a LAN behind a spoke that registered only its /32 is reached by the BGP route's next hop") {
  HubRoutes routes;
  Mission m(routes.routing());
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  REQUIRE(m.hub.server->cache().size() == 2);
  a.provider.auto_up = false;  // keep a on the hub path: this test is about the hub

  // Spoke to spoke LAN: a hair-pin through the route, TTL - 1, redirect asked.
  a.device.inject(a.packet_to(ip("10.1.2.5"), 1));
  m.settle();
  REQUIRE(b.device.written().size() == 1);
  CHECK(std::to_integer<int>(b.device.written()[0][8]) == 63);
  CHECK(m.hub.dataplane->stats().hairpinned == 1);
  CHECK(m.hub.dataplane->stats().by_kernel_route == 1);
  CHECK(m.hub.redirects().hairpins == 1);

  // The hub's kernel (a data-centre host answering) sends into the TUN.
  m.hub.device.inject(udp_packet({ip("10.9.0.10"), ip("10.1.2.5")}));
  m.settle();
  CHECK(b.device.written().size() == 2);
  CHECK(counters_of(*m.hub.dataplane, b.nbma).packets_out == 2);
  CHECK(m.hub.dataplane->stats().by_kernel_route == 2);

  SUBCASE("the next hop re-announced as another spoke: the next packet follows it") {
    routes.source.table().upsert(route("10.1.2.0", 24, "10.0.0.2", kOverlayIfindex));
    m.hub.device.inject(udp_packet({ip("10.9.0.10"), ip("10.1.2.6")}));
    m.settle();
    CHECK(b.device.written().size() == 2);
    CHECK(a.device.written().size() == 1);
  }
  SUBCASE("a next hop nobody registered, or an overlay address nobody owns: dropped") {
    routes.source.table().upsert(route("10.1.2.0", 24, "10.0.0.99", kOverlayIfindex));
    a.device.inject(a.packet_to(ip("10.1.2.5"), 2));
    a.device.inject(a.packet_to(ip("10.0.0.77"), 3));  // the connected overlay route
    m.settle();
    CHECK(b.device.written().size() == 2);
    CHECK(m.hub.dataplane->stats().drops[DropReason::NoRoute] == 2);
  }
  SUBCASE("a route back to the spoke it came from is a loop") {
    routes.source.table().upsert(route("10.1.2.0", 24, "10.0.0.2", kOverlayIfindex));
    a.device.inject(a.packet_to(ip("10.1.2.5"), 2));
    m.settle();
    CHECK(m.hub.dataplane->stats().drops[DropReason::Loop] == 1);
  }
}

TEST_CASE("hub: a binding wins over a kernel route for the same destination") {
  HubRoutes routes;
  routes.source.table().upsert(route("10.0.0.3", 32, nullptr, kDataCentreIfindex, routing::RouteProtocol::Static));
  Mission m(routes.routing());
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  a.provider.auto_up = false;
  a.device.inject(a.packet_to(b.protocol, 1));
  m.settle();
  CHECK(b.device.written().size() == 1);
  CHECK(m.hub.device.written().empty());
  CHECK(m.hub.dataplane->stats().by_kernel_route == 0);
}

TEST_CASE("spoke: a BGP route via another spoke follows that spoke's shortcut, else the hub") {
  routing::FakeRouteSource spoke_routes;
  spoke_routes.table().upsert(route("10.0.0.0", 24, nullptr, kOverlayIfindex, routing::RouteProtocol::Kernel));
  spoke_routes.table().upsert(route("10.1.2.0", 24, "10.0.0.3", kOverlayIfindex));
  spoke_routes.table().upsert(route("192.168.7.0", 24, nullptr, kDataCentreIfindex, routing::RouteProtocol::Kernel));
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2", {&spoke_routes.routes(), kOverlayIfindex});
  m.settle();

  SpokeDataplane& dp = *a.dataplane;
  CHECK(dp.next_hop(ip("10.1.2.5")).nbma == test::kHubNbma);  // no shortcut to 10.0.0.3 yet
  dp.route_via_peer(Prefix::host(ip("10.0.0.3")), ip("198.51.100.3"), 0);
  const SpokeDataplane::NextHop hop = dp.next_hop(ip("10.1.2.5"));
  CHECK(hop.nbma == ip("198.51.100.3"));
  CHECK(hop.shortcut);
  CHECK(hop.by_route);
  CHECK(dp.next_hop(ip("10.1.3.5")).nbma == test::kHubNbma);  // no route: the hub, as before

  a.device.inject(a.packet_to(ip("10.1.2.5"), 1));
  m.settle();
  CHECK(dp.stats().packets_to_peers == 1);
  CHECK(dp.stats().by_kernel_route == 1);

  // The route withdrawn: back to the hub on the next packet.
  REQUIRE(spoke_routes.table().remove(Prefix::of(ip("10.1.2.0"), 24), 0));
  CHECK(dp.next_hop(ip("10.1.2.5")).nbma == test::kHubNbma);
  // A shortcut for the LAN itself (a resolution answered with its prefix) wins over the route.
  dp.route_via_peer(Prefix::of(ip("10.1.2.0"), 24), ip("198.51.100.4"), 0);
  CHECK(dp.next_hop(ip("10.1.2.5")).nbma == ip("198.51.100.4"));
}

TEST_CASE("phase 3 along routes: a BGP-learned LAN gets a shortcut for the route's prefix, no LAN registered") {
  // The hub knows 10.1.2.0/24 only from BGP (via b's overlay address); b
  // registered only its /32 and its kernel has the LAN connected on lan0.
  HubRoutes hub_routes;
  constexpr std::uint32_t kLan = 4;
  routing::FakeRouteSource b_routes;
  b_routes.table().upsert(route("10.0.0.0", 24, nullptr, kOverlayIfindex, routing::RouteProtocol::Kernel));
  b_routes.table().upsert(route("10.1.2.0", 24, nullptr, kLan, routing::RouteProtocol::Kernel));
  Mission m(hub_routes.routing());
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3", {&b_routes.routes(), kOverlayIfindex});
  m.settle();
  REQUIRE(m.hub.server->cache().size() == 2);

  a.device.inject(a.packet_to(ip("10.1.2.5"), 1));  // through the hub: hair-pin, redirect
  m.settle();
  CHECK(b.device.written().size() == 1);
  CHECK(m.hub.redirects().indications_sent == 1);
  // a resolved 10.1.2.5; the hub forwarded the request along the route to b,
  // which answered with its route's prefix; a's shortcut covers the LAN.
  CHECK(b.agent->nhc().responder().answered() == 1);
  const SpokeDataplane::NextHop hop = a.dataplane->next_hop(ip("10.1.2.77"));
  CHECK(hop.shortcut);
  CHECK(hop.nbma == b.nbma);

  a.device.inject(a.packet_to(ip("10.1.2.5"), 2));  // direct now
  m.settle();
  CHECK(b.device.written().size() == 2);
  CHECK(m.hub.dataplane->stats().hairpinned == 1);
}

TEST_CASE("spoke: a resolution for a LAN its kernel routes to is answered with that route's prefix") {
  constexpr std::uint32_t kWan = 2;
  constexpr std::uint32_t kLan = 4;
  routing::FakeRouteSource routes;
  auto& table = routes.table();
  table.upsert(route("10.0.0.0", 24, nullptr, kOverlayIfindex, routing::RouteProtocol::Kernel));
  table.upsert(route("203.0.113.0", 24, nullptr, kWan, routing::RouteProtocol::Kernel));
  table.upsert(route("0.0.0.0", 0, "203.0.113.254", kWan, routing::RouteProtocol::Boot));
  table.upsert(route("10.1.1.0", 24, nullptr, kLan, routing::RouteProtocol::Kernel));
  table.upsert(route("172.20.0.0", 16, "10.1.1.254", kLan, routing::RouteProtocol::Ospf));
  table.upsert(route("10.1.0.0", 16, nullptr, kOverlayIfindex, routing::RouteProtocol::Advpnd));
  const KernelRouting view{&routes.routes(), kOverlayIfindex};
  const IpAddress nhs = ip("203.0.113.1");

  CHECK(lan_route_prefix(view, ip("10.1.1.10"), nhs) == std::optional<std::uint8_t>(24));   // connected LAN
  CHECK(lan_route_prefix(view, ip("172.20.3.4"), nhs) == std::optional<std::uint8_t>(16));  // routed behind it
  CHECK_FALSE(lan_route_prefix(view, ip("10.1.2.10"), nhs).has_value());                    // through the overlay
  CHECK_FALSE(lan_route_prefix(view, ip("8.8.8.8"), nhs).has_value());                      // the default route
  CHECK_FALSE(lan_route_prefix(view, ip("203.0.113.77"), nhs).has_value());                 // the WAN
  CHECK_FALSE(lan_route_prefix({}, ip("10.1.1.10"), nhs).has_value());                      // not following routes
}

}  // namespace
}  // namespace advpnd::dataplane
