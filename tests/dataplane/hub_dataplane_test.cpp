// The whole mission in one process with the real dataplanes: a hub
// (NextHopServer + HubDataplane) and spoke agents (Nhc + ShortcutManager +
// SpokeDataplane) over the in-memory fabric with the fake clock, the fake
// IPsec provider and in-memory TUN devices. Packets are real IPv4 bytes
// from a device to a device; the redirect comes from the hub's real
// RedirectPolicy because the hub dataplane saw the hair-pin.
#include "dataplane/hub_dataplane.h"

#include <doctest/doctest.h>

#include "tests/dataplane/mission.h"

namespace advpnd::dataplane {
namespace {

using namespace std::chrono_literals;
using shortcut::Prefix;
using shortcut::ShortcutState;
using test::counters_of;
using test::sequence_of;
using test::udp_packet;
using test::UdpSpec;
using test::ip;
using test::kHubNbma;
using test::kHubProtocol;
using test::Mission;
using test::Spoke;

TEST_CASE("hub: spoke to spoke is forwarded, reported as a hair-pin, and the source moves to a shortcut") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();
  REQUIRE(m.hub.server->cache().size() == 2);
  CHECK(a.dataplane->hub_nbma() == kHubNbma);

  const auto first = a.packet_to(b.protocol, 1);
  a.device.inject(first);
  m.settle();

  // Through the hub: TTL - 1 (a router), DSCP kept inside and outside.
  REQUIRE(b.device.written().size() == 1);
  auto delivered = b.device.written()[0];
  CHECK(sequence_of(delivered) == 1);
  CHECK(std::to_integer<int>(delivered[8]) == 63);
  CHECK(ipv4_checksum(std::span<const std::byte>(delivered).first(20)) == 0);
  CHECK(std::to_integer<int>(delivered[1]) == 0xB8);
  CHECK(m.hub.dataplane->stats().hairpinned == 1);
  CHECK(m.hub.redirects().hairpins == 1);
  CHECK(m.hub.redirects().indications_sent == 1);
  CHECK(counters_of(*m.hub.dataplane, a.nbma).packets_in == 1);
  CHECK(counters_of(*m.hub.dataplane, b.nbma).packets_out == 1);

  // The redirect made a resolve a shortcut: the same dataplane now routes direct.
  const Prefix b_host = Prefix::host(b.protocol);
  CHECK(a.agent->shortcuts().state_of(b_host) == ShortcutState::Active);
  CHECK(a.dataplane->next_hop(b.protocol).shortcut);
  CHECK(a.dataplane->next_hop(b.protocol).nbma == b.nbma);

  const auto second = a.packet_to(b.protocol, 2);
  a.device.inject(second);
  m.settle();
  REQUIRE(b.device.written().size() == 2);
  CHECK(b.device.written()[1] == second);  // direct: untouched, TTL 64
  CHECK(m.hub.dataplane->stats().hairpinned == 1);
  CHECK(counters_of(*a.dataplane, b.nbma).packets_out == 1);
  CHECK(counters_of(*b.dataplane, a.nbma).packets_in == 1);

  // Silence: the shortcut layer reads the dataplane's counters, finds the
  // peer idle and routes the prefix back via the hub before the SA goes.
  m.loop.advance(200s);
  m.settle();
  CHECK_FALSE(a.agent->shortcuts().state_of(b_host).has_value());
  CHECK_FALSE(a.dataplane->next_hop(b.protocol).shortcut);
  a.device.inject(a.packet_to(b.protocol, 3));
  m.settle();
  CHECK(m.hub.dataplane->stats().hairpinned == 2);
  CHECK(b.device.written().size() == 3);
}

TEST_CASE("hub: traffic to the hub itself goes to its device, no hair-pin; the hub's host reaches spokes") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  Spoke& b = m.add_spoke("198.51.100.3", "10.0.0.3");
  m.settle();

  const auto to_hub = a.packet_to(kHubProtocol, 7);
  const auto to_hub_lan = a.packet_to(ip("172.16.5.5"), 8);
  a.device.inject(std::vector<std::vector<std::byte>>{to_hub, to_hub_lan});
  m.settle();
  REQUIRE(m.hub.device.written().size() == 2);
  CHECK(m.hub.device.written()[0] == to_hub);  // the kernel routes it from here: TTL untouched
  CHECK(m.hub.device.written()[1] == to_hub_lan);
  CHECK(m.hub.dataplane->stats().to_device == 2);
  CHECK(m.hub.redirects().hairpins == 0);
  CHECK_FALSE(a.agent->shortcuts().state_of(Prefix::host(kHubProtocol)).has_value());

  // The hub's host answers both spokes in one burst.
  const auto reply_a = udp_packet({kHubProtocol, a.protocol, 120, 0x2E});
  const auto reply_b = udp_packet({kHubProtocol, b.protocol, 130, 0x2E});
  m.hub.device.inject(
      std::vector<std::vector<std::byte>>{reply_a, reply_b, udp_packet({kHubProtocol, ip("10.0.0.99")})});
  m.settle();
  REQUIRE(a.device.written().size() == 1);
  CHECK(a.device.written()[0] == reply_a);
  REQUIRE(b.device.written().size() == 1);
  CHECK(b.device.written()[0] == reply_b);
  CHECK(m.hub.dataplane->stats().from_device == 2);
  CHECK(m.hub.dataplane->stats().drops[DropReason::NoRoute] == 1);  // 10.0.0.99 is nobody's
  CHECK(m.hub.redirects().hairpins == 0);
  CHECK(counters_of(*m.hub.dataplane, a.nbma).packets_out == 1);
  CHECK(counters_of(*m.hub.dataplane, a.nbma).packets_in == 2);
}

TEST_CASE("hub: a spoke behind NAT is reached at its post-NAT address; TTL, loops and unknowns are dropped") {
  Mission m;
  Spoke& a = m.add_spoke("198.51.100.2", "10.0.0.2");
  REQUIRE(m.fabric.add_nat(ip("192.168.1.10"), ip("198.51.100.20")).ok());
  Spoke& natted = m.add_spoke("192.168.1.10", "10.0.0.5");
  m.settle();
  std::vector<IpAddress> hub_sent_to;
  m.fabric.set_observer([&](const fakes::FabricRecord& record) {
    if (record.sender == kHubNbma && record.gre_protocol == 0x0800) hub_sent_to.push_back(record.destination);
  });

  a.provider.auto_up = false;  // the redirect's shortcut never comes up: a keeps using the hub
  a.device.inject(a.packet_to(natted.protocol));
  m.settle();
  CHECK(hub_sent_to == std::vector<IpAddress>{ip("198.51.100.20")});
  CHECK(natted.device.written().size() == 1);
  REQUIRE(m.hub.dataplane->counters(ip("198.51.100.20")).has_value());
  CHECK(counters_of(*m.hub.dataplane, ip("198.51.100.20")).packets_out == 1);

  // TTL 1 would leave the hub with 0 (RFC 1812 5.3.1).
  a.device.inject(a.packet_to(natted.protocol, 0, 1));
  // Nobody owns 10.0.0.77, and the hub has no local prefix covering it.
  a.device.inject(a.packet_to(ip("10.0.0.77")));
  // a's own address sent back to the hub by a: a loop.
  a.device.inject(a.packet_to(a.protocol));
  m.settle();
  const auto& drops = m.hub.dataplane->stats().drops;
  CHECK(drops[DropReason::TtlExpired] == 1);
  CHECK(drops[DropReason::NoRoute] == 1);
  CHECK(drops[DropReason::Loop] == 1);
  CHECK(natted.device.written().size() == 1);
  CHECK(m.hub.redirects().hairpins == 1);
}

}  // namespace
}  // namespace advpnd::dataplane
