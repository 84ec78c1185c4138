// NetlinkRouteSource and NetlinkRouteInstaller against the real kernel, in a
// private network namespace (tests/platform/private_netns.h): routes added,
// replaced and deleted with `ip route` show up in advpnd's table (bounded
// waits), an overrun of the event socket is repaired by a new dump, and the
// routes advpnd installs itself carry its protocol and go away with it.
// Needs root: fails, not skips, without it.
#include "routing/netlink_routes.h"

#include <doctest/doctest.h>
#include <net/if.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "platform/event_loop.h"
#include "routing/route_installer.h"
#include "tests/platform/private_netns.h"

namespace advpnd::routing {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

void sh(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

// A fresh namespace with a veth pair up: v0 192.0.2.1/24 (the "WAN").
std::unique_ptr<platform::EventLoop> fresh_namespace() {
  const auto netns = test::enter_fresh_private_netns();
  REQUIRE_MESSAGE(netns.ok, netns.message);
  REQUIRE_MESSAGE(netns.isolated, netns.message);
  sh("ip link add v0 type veth peer name v1");
  sh("ip link set v0 up");
  sh("ip link set v1 up");
  sh("ip addr add 192.0.2.1/24 dev v0");
  auto loop = platform::EventLoop::create();
  REQUIRE(loop.ok());
  return std::move(loop.value());
}

std::size_t ipv4_routes(const KernelRouteTable& table) {
  std::size_t count = 0;
  for (const KernelRoute& route : table.routes()) count += route.prefix.address.family() == AddressFamily::Ipv4;
  return count;  // v0 also has its IPv6 link-local route fe80::/64
}

// Turns the loop until `done` holds, for at most 3 s.
bool wait_for(platform::EventLoop& loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    REQUIRE(loop.run_nonblocking().ok());
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

TEST_CASE("the table starts from a dump and follows ip route add, replace and del") {
  auto loop = fresh_namespace();
  auto source = NetlinkRouteSource::start(*loop);
  REQUIRE_MESSAGE(source.ok(), (source.ok() ? "" : source.error()));
  const KernelRouteTable& table = (*source)->routes();

  // The dump: the connected route of v0 (proto kernel), nothing of table local.
  const KernelRoute* connected = table.find(shortcut::Prefix::of(ip("192.0.2.0"), 24));
  REQUIRE(connected != nullptr);
  CHECK(connected->connected());
  CHECK(connected->ifname == "v0");
  CHECK(connected->ifindex == ::if_nametoindex("v0"));
  CHECK(connected->protocol == RouteProtocol::Kernel);
  CHECK(table.find(shortcut::Prefix::of(ip("192.0.2.1"), 32)) == nullptr);  // the local route

  sh("ip route add 10.9.0.0/24 via 192.0.2.254 proto bgp metric 20");
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.9.0.7")) != nullptr; }));
  const KernelRoute* bgp = table.lookup(ip("10.9.0.7"));
  CHECK(bgp->gateway == ip("192.0.2.254"));
  CHECK(bgp->protocol == RouteProtocol::Bgp);
  CHECK(bgp->metric == 20);
  CHECK(bgp->to_string() == "10.9.0.0/24 via 192.0.2.254 dev v0 proto bgp metric 20");

  sh("ip route replace 10.9.0.0/24 via 192.0.2.253 proto bgp metric 20");
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.9.0.7"))->gateway == ip("192.0.2.253"); }));
  CHECK(ipv4_routes(table) == 2);

  sh("ip route add default via 192.0.2.254");
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("8.8.8.8")) != nullptr; }));
  CHECK(table.lookup(ip("8.8.8.8"))->protocol == RouteProtocol::Boot);

  sh("ip route del 10.9.0.0/24 metric 20");
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.9.0.7"))->prefix.length == 0; }));
  CHECK((*source)->stats().malformed == 0);
  CHECK((*source)->stats().dumps == 1);
}

TEST_CASE("the routes of a deleted interface leave the table with it") {
  auto loop = fresh_namespace();
  auto source = NetlinkRouteSource::start(*loop);
  REQUIRE(source.ok());
  const KernelRouteTable& table = (*source)->routes();
  sh("ip route add 10.9.0.0/24 via 192.0.2.254");
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.9.0.1")) != nullptr; }));
  sh("ip link del v0");
  // The kernel flushes the routes of a gone device without an RTM_DELROUTE
  // for each: advpnd must not keep them.
  CHECK(wait_for(*loop, [&] { return ipv4_routes(table) == 0; }));

  SUBCASE("a device set down loses its routes too, and gets the connected one back when up") {
    sh("ip link add v2 type veth peer name v3");
    sh("ip link set v2 up");
    sh("ip link set v3 up");
    sh("ip addr add 198.51.100.1/24 dev v2");
    sh("ip route add 10.8.0.0/16 via 198.51.100.2");
    REQUIRE(wait_for(*loop, [&] { return ipv4_routes(table) == 2; }));
    sh("ip link set v2 down");
    CHECK(wait_for(*loop, [&] { return ipv4_routes(table) == 0; }));
    sh("ip link set v2 up");
    CHECK(wait_for(*loop, [&] { return table.lookup(ip("198.51.100.7")) != nullptr; }));
    CHECK(table.lookup(ip("10.8.0.1")) == nullptr);  // a static route does not come back by itself
  }
}

TEST_CASE("an overrun of the event socket is repaired by a new dump") {
  auto loop = fresh_namespace();
  // The smallest buffer the kernel grants (about 2 KiB): a batch of routes
  // added while the loop is not reading overruns it.
  auto source = NetlinkRouteSource::start(*loop, 1);
  REQUIRE(source.ok());
  const KernelRouteTable& table = (*source)->routes();
  {
    std::ofstream batch("/tmp/advpnd-routes-" + std::to_string(::getpid()) + ".batch");
    for (int i = 0; i < 2000; ++i) {
      batch << "route add 10." << (100 + i / 256) << "." << (i % 256) << ".0/24 via 192.0.2.254\n";
    }
  }
  sh("ip -batch /tmp/advpnd-routes-" + std::to_string(::getpid()) + ".batch");
  std::remove(("/tmp/advpnd-routes-" + std::to_string(::getpid()) + ".batch").c_str());
  REQUIRE(wait_for(*loop, [&] { return ipv4_routes(table) == 2001; }));
  CHECK((*source)->stats().overruns >= 1);
  CHECK((*source)->stats().dumps == 1 + (*source)->stats().overruns);
  CHECK(table.lookup(ip("10.107.207.1"))->prefix.length == 24);  // the 2000th
}

TEST_CASE("advpnd's own routes: installed with its protocol, replaced, withdrawn with their owner") {
  auto loop = fresh_namespace();
  auto source = NetlinkRouteSource::start(*loop);
  REQUIRE(source.ok());
  const KernelRouteTable& table = (*source)->routes();
  auto installer = NetlinkRouteInstaller::open();
  REQUIRE(installer.ok());
  const std::uint32_t v0 = ::if_nametoindex("v0");
  {
    OwnedRoutes owned(**installer);
    const RouteRequest lan{shortcut::Prefix::of(ip("10.1.0.0"), 16), ip("192.0.2.2"), v0, 0};
    const RouteRequest on_link{shortcut::Prefix::of(ip("10.2.0.0"), 16), {}, v0, 5};
    REQUIRE(owned.install({lan, on_link}).ok());
    REQUIRE(owned.install({lan}).ok());  // again: replaced, not an error (a restart)
    REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.2.3.4")) != nullptr; }));
    CHECK(table.lookup(ip("10.1.3.4"))->protocol == RouteProtocol::Advpnd);
    CHECK(table.lookup(ip("10.1.3.4"))->gateway == ip("192.0.2.2"));
    CHECK(table.lookup(ip("10.2.3.4"))->connected());
    CHECK(table.lookup(ip("10.2.3.4"))->metric == 5);

    SUBCASE("a gateway that is not on a connected network is refused with the kernel's reason") {
      const RouteRequest off_link{shortcut::Prefix::of(ip("10.3.0.0"), 16), ip("198.51.100.1"), v0, 0};
      auto refused = owned.install({off_link});
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().find("10.3.0.0/16 via 198.51.100.1") != std::string::npos);
    }
  }
  REQUIRE(wait_for(*loop, [&] { return table.lookup(ip("10.2.3.4")) == nullptr; }));
  CHECK(table.lookup(ip("10.1.3.4")) == nullptr);
  const RouteRequest gone{shortcut::Prefix::of(ip("10.1.0.0"), 16), ip("192.0.2.2"), v0, 0};
  CHECK((*installer)->withdraw(gone).ok());  // already gone: not an error
}

}  // namespace
}  // namespace advpnd::routing
