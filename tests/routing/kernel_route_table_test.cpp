// KernelRouteTable and PrefixMap: longest prefix, then lowest metric;
// replace, delete, many routes.
#include "routing/kernel_route_table.h"

#include <doctest/doctest.h>

#include <vector>

namespace advpnd::routing {
namespace {

using shortcut::Prefix;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Prefix prefix(const char* text, std::uint8_t length) { return Prefix::of(ip(text), length); }

KernelRoute route(const char* destination, std::uint8_t length, const char* gateway, std::uint32_t ifindex,
                  std::uint32_t metric = 0, RouteProtocol protocol = RouteProtocol::Static) {
  KernelRoute made;
  made.prefix = prefix(destination, length);
  if (gateway != nullptr) made.gateway = ip(gateway);
  made.ifindex = ifindex;
  made.metric = metric;
  made.protocol = protocol;
  return made;
}

TEST_CASE("the longest prefix wins, whatever the order routes arrive in") {
  KernelRouteTable table;
  table.upsert(route("0.0.0.0", 0, "192.0.2.1", 1));
  table.upsert(route("10.1.2.0", 24, "10.0.0.3", 7));
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7));
  table.upsert(route("10.1.2.5", 32, nullptr, 9));

  CHECK(table.lookup(ip("10.1.2.5"))->ifindex == 9);
  CHECK(table.lookup(ip("10.1.2.6"))->gateway == ip("10.0.0.3"));
  CHECK(table.lookup(ip("10.1.9.9"))->gateway == ip("10.0.0.2"));
  CHECK(table.lookup(ip("8.8.8.8"))->gateway == ip("192.0.2.1"));
  CHECK(table.size() == 4);
}

TEST_CASE("no default route: an address nothing covers has no route") {
  KernelRouteTable table;
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7));
  CHECK(table.lookup(ip("10.2.0.1")) == nullptr);
  CHECK(table.lookup(ip("2001:db8::1")) == nullptr);
}

TEST_CASE("same prefix, two metrics: the lowest wins until it is deleted") {
  KernelRouteTable table;
  table.upsert(route("10.1.0.0", 16, "10.0.0.3", 7, 20));
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7, 10));
  CHECK(table.size() == 2);
  CHECK(table.prefixes() == 1);
  CHECK(table.lookup(ip("10.1.1.1"))->gateway == ip("10.0.0.2"));

  CHECK(table.remove(prefix("10.1.0.0", 16), 10));
  CHECK(table.lookup(ip("10.1.1.1"))->gateway == ip("10.0.0.3"));
  CHECK_FALSE(table.remove(prefix("10.1.0.0", 16), 10));  // already gone
  CHECK(table.remove(prefix("10.1.0.0", 16), 20));
  CHECK(table.lookup(ip("10.1.1.1")) == nullptr);
  CHECK(table.size() == 0);
}

TEST_CASE("a route announced again with another gateway replaces it (NLM_F_REPLACE)") {
  KernelRouteTable table;
  std::vector<RouteChange> changes;
  table.set_change_handler([&](RouteChange change, const KernelRoute&) { changes.push_back(change); });
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7));
  const auto before = table.generation();
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7));  // unchanged: nothing happens
  CHECK(table.generation() == before);
  table.upsert(route("10.1.0.0", 16, "10.0.0.9", 7));
  CHECK(table.size() == 1);
  CHECK(table.lookup(ip("10.1.3.4"))->gateway == ip("10.0.0.9"));
  CHECK(changes == std::vector<RouteChange>{RouteChange::Added, RouteChange::Replaced});
  CHECK(table.remove(prefix("10.1.0.0", 16), 0));
  CHECK(changes.back() == RouteChange::Removed);
}

TEST_CASE("an unmasked prefix is stored masked and found by its network") {
  KernelRouteTable table;
  KernelRoute sloppy = route("10.1.0.0", 16, "10.0.0.2", 7);
  sloppy.prefix = Prefix{ip("10.1.2.3"), 16};  // built by hand, host bits set
  table.upsert(sloppy);
  CHECK(table.find(prefix("10.1.0.0", 16)) != nullptr);
  CHECK(table.lookup(ip("10.1.200.1")) != nullptr);
  CHECK(table.remove(Prefix{ip("10.1.9.9"), 16}, 0));
}

TEST_CASE("IPv4 and IPv6 routes live side by side") {
  KernelRouteTable table;
  table.upsert(route("0.0.0.0", 0, "192.0.2.1", 1));
  table.upsert(route("::", 0, "2001:db8::1", 1));
  table.upsert(route("2001:db8:1::", 48, nullptr, 5));
  CHECK(table.lookup(ip("2001:db8:1::7"))->ifindex == 5);
  CHECK(table.lookup(ip("2001:db8:2::7"))->gateway == ip("2001:db8::1"));
  CHECK(table.lookup(ip("10.0.0.1"))->gateway == ip("192.0.2.1"));
}

TEST_CASE("10,000 routes: every one found, then every one withdrawn") {
  KernelRouteTable table;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    KernelRoute r = route("0.0.0.0", 24, "10.0.0.2", 7, 0, RouteProtocol::Bgp);
    r.prefix = Prefix::of(IpAddress::v4(0x0a000000u + (i << 8)), 24);  // 10.0.0.0/24 .. 10.39.15.0/24
    table.upsert(r);
  }
  table.upsert(route("10.0.0.0", 8, "10.0.0.3", 7));
  CHECK(table.size() == 10001);
  for (std::uint32_t i = 0; i < 10000; ++i) {
    const KernelRoute* found = table.lookup(IpAddress::v4(0x0a000000u + (i << 8) + 77));
    REQUIRE(found != nullptr);
    CHECK(found->prefix.length == 24);
  }
  for (std::uint32_t i = 0; i < 10000; ++i) {
    REQUIRE(table.remove(Prefix::of(IpAddress::v4(0x0a000000u + (i << 8)), 24), 0));
  }
  CHECK(table.size() == 1);
  CHECK(table.lookup(ip("10.20.30.40"))->prefix.length == 8);  // the summary is what is left
  CHECK(table.routes().size() == 1);
}

TEST_CASE("an interface gone takes its routes with it, and only its routes") {
  KernelRouteTable table;
  std::size_t removed_events = 0;
  table.set_change_handler(
      [&](RouteChange change, const KernelRoute&) { removed_events += change == RouteChange::Removed; });
  table.upsert(route("10.1.0.0", 16, "10.0.0.2", 7, 10));
  table.upsert(route("10.1.0.0", 16, "192.0.2.1", 3, 20));
  table.upsert(route("10.0.0.0", 24, nullptr, 7));
  table.upsert(route("0.0.0.0", 0, "192.0.2.1", 3));
  CHECK(table.remove_interface(7) == 2);
  CHECK(removed_events == 2);
  CHECK(table.size() == 2);
  CHECK(table.lookup(ip("10.1.0.1"))->ifindex == 3);  // the backup route of the prefix takes over
  CHECK(table.lookup(ip("10.0.0.5"))->prefix.length == 0);
  CHECK(table.remove_interface(7) == 0);
}

TEST_CASE("to_string reads like ip route") {
  KernelRoute r = route("10.1.0.0", 16, "10.0.0.2", 7, 20, RouteProtocol::Bgp);
  r.ifname = "advpn0";
  CHECK(r.to_string() == "10.1.0.0/16 via 10.0.0.2 dev advpn0 proto bgp metric 20");
  KernelRoute other = route("10.2.0.0", 16, nullptr, 3);
  other.protocol = RouteProtocol::Other;
  other.protocol_number = 250;
  CHECK(other.to_string() == "10.2.0.0/16 dev #3 proto 250");
  CHECK(protocol_from_number(188) == RouteProtocol::Ospf);
  CHECK(protocol_from_number(kAdvpndProtocol) == RouteProtocol::Advpnd);
  CHECK(protocol_from_number(200) == RouteProtocol::Other);
}

}  // namespace
}  // namespace advpnd::routing
